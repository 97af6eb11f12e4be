"""Strict decoding of MQTT payloads into typed messages.

``decode(topic, payload)`` is what every hop calls on what it receives. It
either returns a message of the family the topic names, or raises
:class:`~protocol.errors.InvalidMessageError` with a reason; it never raises
anything else, whatever the bytes are.
"""

from __future__ import annotations

import re
from typing import Final, TypeVar

import msgspec

from protocol.errors import InvalidMessageError, RejectReason
from protocol.messages import (
    AccessDecision,
    AllowlistDelta,
    AllowlistSnapshot,
    Command,
    CommandAck,
    DeviceEvent,
    DeviceState,
    DoorEvent,
    DutyCheck,
    GatewayHealth,
    Heartbeat,
    Message,
    PassageCount,
    RoomTelemetry,
)
from protocol.topics import Family, Topic, TopicError, parse_topic

M = TypeVar("M", bound=Message)

MESSAGE_TYPES: Final[dict[Family, type[Message]]] = {
    Family.ACCESS: AccessDecision,
    Family.DOOR: DoorEvent,
    Family.PASSAGE: PassageCount,
    Family.DUTY: DutyCheck,
    Family.TELEMETRY: RoomTelemetry,
    Family.HEARTBEAT: Heartbeat,
    Family.STATE: DeviceState,
    Family.COMMAND: Command,
    Family.COMMAND_ACK: CommandAck,
    Family.ALLOWLIST_SNAPSHOT: AllowlistSnapshot,
    Family.ALLOWLIST_DELTA: AllowlistDelta,
    Family.GATEWAY_HEALTH: GatewayHealth,
}

# Size limits in bytes. Events are small (a typical one is ~250 bytes); a
# snapshot holds a whole building's allowlist (~200 bytes a person).
EVENT_MAX_BYTES: Final = 4 * 1024
SIZE_LIMITS: Final[dict[Family, int]] = {family: EVENT_MAX_BYTES for family in Family} | {
    Family.ALLOWLIST_SNAPSHOT: 16 * 1024 * 1024,
    Family.ALLOWLIST_DELTA: 2 * 1024 * 1024,
}

_DECODERS: Final[dict[type[Message], msgspec.json.Decoder[Message]]] = {
    cls: msgspec.json.Decoder(cls) for cls in MESSAGE_TYPES.values()
}

_PATH_RE: Final = re.compile(r" - at `(?P<path>[^`]*)`$")
_TIMESTAMP_NAMES: Final = frozenset(
    {"ts", "received_at", "issued_at", "expires_at", "valid_from", "valid_until"}
)


def _classify(message: str, path: str | None) -> RejectReason:
    """Map msgspec's validation message (and our own) to a reason code."""
    field = path.rsplit(".", 1)[-1] if path else ""
    if message.startswith("bad timestamp") or "datetime" in message:
        return RejectReason.BAD_TIMESTAMP
    if message.startswith("Object contains unknown field"):
        return RejectReason.UNKNOWN_FIELD
    if message.startswith("Object missing required field"):
        return RejectReason.MISSING_FIELD
    if field in _TIMESTAMP_NAMES and message.startswith("Expected `str`"):
        # A timestamp sent as a number or null.
        return RejectReason.BAD_TIMESTAMP
    if re.match(r"Expected `(int|float)` [<>]", message):
        return RejectReason.OUT_OF_RANGE
    if message.startswith("Expected `"):
        if "length" in message or "matching regex" in message:
            return RejectReason.BAD_VALUE
        return RejectReason.WRONG_TYPE
    if message.startswith(("Invalid enum value", "bad value")):
        return RejectReason.BAD_VALUE
    return RejectReason.BAD_VALUE


def decode_as(cls: type[M], payload: bytes, *, max_bytes: int = EVENT_MAX_BYTES) -> M:
    """Decode ``payload`` as ``cls``; raise :class:`InvalidMessageError` if it does not fit."""
    if len(payload) > max_bytes:
        raise InvalidMessageError(
            RejectReason.TOO_LARGE, f"{len(payload)} bytes exceeds the limit of {max_bytes}"
        )
    decoder = _DECODERS.get(cls)
    try:
        if decoder is None:
            return msgspec.json.decode(payload, type=cls)
        message = decoder.decode(payload)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH_RE.search(text)
        path = match.group("path") if match else None
        core = text[: match.start()] if match else text
        raise InvalidMessageError(_classify(core, path), text, path) from None
    except msgspec.DecodeError as exc:
        raise InvalidMessageError(RejectReason.MALFORMED, str(exc)) from None
    except UnicodeDecodeError as exc:  # msgspec raises this for invalid UTF-8 in strings
        raise InvalidMessageError(RejectReason.MALFORMED, f"invalid UTF-8: {exc}") from None
    assert isinstance(message, cls)
    return message


def decode(topic: str | Topic, payload: bytes) -> Message:
    """Decode a payload received on ``topic`` into the family's message type.

    Also checks that a per-device message names the device of its topic and an
    allowlist names the building of its topic.
    """
    try:
        parsed = topic if isinstance(topic, Topic) else parse_topic(topic)
    except TopicError as exc:
        raise InvalidMessageError(RejectReason.UNKNOWN_TOPIC, str(exc)) from None
    cls = MESSAGE_TYPES[parsed.family]
    message = decode_as(cls, payload, max_bytes=SIZE_LIMITS[parsed.family])
    if isinstance(message, DeviceEvent | DeviceState | Command):
        if message.device != parsed.device:
            raise InvalidMessageError(
                RejectReason.TOPIC_MISMATCH,
                f"payload device {message.device!r} on the topic of {parsed.device!r}",
                "$.device",
            )
    elif isinstance(message, AllowlistSnapshot | AllowlistDelta) and (
        message.building != parsed.building
    ):
        raise InvalidMessageError(
            RejectReason.TOPIC_MISMATCH,
            f"payload building {message.building!r} on the topic of {parsed.building!r}",
            "$.building",
        )
    return message


def family_of(message: Message) -> Family:
    """The family (and so the topic suffix) a message is published under."""
    for family, cls in MESSAGE_TYPES.items():
        if type(message) is cls:
            return family
    raise TypeError(f"not a contract message: {type(message).__name__}")
