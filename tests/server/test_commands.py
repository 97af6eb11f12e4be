"""A door command from the API reaches the device's topic; its acknowledgement is tracked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from protocol.codec import decode
from protocol.ids import new_event_id
from protocol.messages import AckResult, Command, CommandAck, CommandAction, encode
from tests.server.apiclient import SeededApi, make_settings, seeded_api


@pytest.fixture
def api(database_url: str, tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[SeededApi]:
    settings = make_settings(
        database_url,
        tmp_path,
        mqtt_enabled=True,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        # The acknowledgement comes back on the gate's own subtree.
        mqtt_topic_filter="dorm/v1/b2/dev/b2-gate-in/cmd/ack",
    )
    with seeded_api(settings) as seeded:
        assert seeded.runtime.link is not None
        assert seeded.runtime.link.subscribed.wait(10)
        yield seeded


def test_unlock_is_published_and_its_ack_recorded(
    api: SeededApi, mosquitto: MosquittoBroker
) -> None:
    security = api.headers("security")
    with MqttProbe(
        mosquitto.host, mosquitto.port, subscriptions=["dorm/v1/b2/dev/b2-gate-in/cmd"]
    ) as gate:
        gate.connect()
        gate.wait_subscribed()
        sent = api.client.post(
            "/api/v1/devices/b2-gate-in/commands",
            json={"action": "unlock", "duration_s": 5},
            headers=security,
        )
        assert sent.status_code == 202
        assert sent.json()["status"] == "pending"
        [message] = gate.expect(1, timeout_s=5)
        command = decode(message.topic, message.payload)
        assert isinstance(command, Command)
        assert command.id == sent.json()["id"]
        assert (command.action, command.duration_s) == (CommandAction.UNLOCK, 5)
        ack = CommandAck(
            id=new_event_id(),
            device="b2-gate-in",
            seq=7,
            ts=datetime.now(UTC),
            command_id=command.id,
            action=CommandAction.UNLOCK,
            result=AckResult.OK,
        )
        gate.wait_published([gate.publish(f"{message.topic}/ack", encode(ack))], timeout_s=5)

    path = f"/api/v1/devices/b2-gate-in/commands/{command.id}"
    deadline = time.monotonic() + 10
    while (state := api.client.get(path, headers=security).json())["status"] == "pending":
        assert time.monotonic() < deadline, "the acknowledgement was not recorded"
        time.sleep(0.05)
    assert state["status"] == "ok"
    assert state["acked_at"] is not None
    # Counselors watch devices but do not command them.
    refused = api.client.post(
        "/api/v1/devices/b1-gate-in/commands",
        json={"action": "lockdown"},
        headers=api.headers("counselor"),
    )
    assert refused.status_code == 403
