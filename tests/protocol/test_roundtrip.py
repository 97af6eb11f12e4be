"""Every message family survives encode → decode on its own topic unchanged."""

from __future__ import annotations

import msgspec
import pytest

from protocol.codec import MESSAGE_TYPES, decode, family_of
from protocol.examples import BUILDING, example
from protocol.messages import Command, DeviceEvent, DeviceState, encode
from protocol.topics import Family, Topic, building_topic, device_topic, parse_topic


def topic_for(family: Family) -> str:
    message = example(family)
    if isinstance(message, DeviceEvent | DeviceState | Command):
        return device_topic(BUILDING, message.device, family)
    return building_topic(BUILDING, family)


@pytest.mark.parametrize("family", list(Family))
def test_every_family_round_trips(family: Family) -> None:
    message = example(family)
    payload = encode(message)
    decoded = decode(topic_for(family), payload)
    assert decoded == message
    assert type(decoded) is MESSAGE_TYPES[family]
    assert family_of(decoded) is family
    assert encode(decoded) == payload


def test_every_family_has_a_type() -> None:
    assert set(MESSAGE_TYPES) == set(Family)


def test_gateway_receive_time_round_trips() -> None:
    message = example(Family.ACCESS)
    assert isinstance(message, DeviceEvent)
    stamped = msgspec.structs.replace(message, received_at=message.ts)
    decoded = decode(topic_for(Family.ACCESS), encode(stamped))
    assert isinstance(decoded, DeviceEvent)
    assert decoded.received_at == message.ts


@pytest.mark.parametrize("family", list(Family))
def test_topics_parse_back(family: Family) -> None:
    topic = topic_for(family)
    parsed = parse_topic(topic)
    assert isinstance(parsed, Topic)
    assert parsed.family is family
    assert parsed.building == BUILDING
    assert str(parsed) == topic
    assert topic.startswith("dorm/v1/")


def test_unset_optional_fields_are_not_sent() -> None:
    payload = encode(example(Family.ACCESS))
    assert b"received_at" not in payload
    assert b"card_ref" not in payload
