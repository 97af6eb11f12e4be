"""Valid contract messages for the server tests, deterministic per seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Final

from protocol.codec import family_of
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    DeviceEvent,
    Direction,
    Heartbeat,
    RoomTelemetry,
    encode,
)
from protocol.topics import device_topic

BASE_TS: Final = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def ulid_at(moment: datetime, rng: random.Random) -> str:
    return new_event_id(now_ms=int(moment.timestamp() * 1000), entropy=rng.randbytes(10))


def access_event(
    gate: str,
    seq: int,
    rng: random.Random,
    *,
    person: str | None = None,
    direction: Direction = Direction.ENTRY,
    granted: bool = True,
    at: datetime | None = None,
) -> AccessDecision:
    ts = at or BASE_TS + timedelta(milliseconds=seq * 10)
    return AccessDecision(
        id=ulid_at(ts, rng),
        device=gate,
        seq=seq,
        ts=ts,
        direction=direction,
        credential=CredentialKind.CARD,
        decision=Decision.GRANTED if granted else Decision.DENIED,
        reason=AccessReason.OK if granted else AccessReason.UNKNOWN_CARD,
        person=person if person is not None else f"p-{rng.randrange(10_000):04d}",
    )


def telemetry(sensor: str, room: str, seq: int, rng: random.Random) -> RoomTelemetry:
    ts = BASE_TS + timedelta(seconds=seq)
    return RoomTelemetry(
        id=ulid_at(ts, rng),
        device=sensor,
        seq=seq,
        ts=ts,
        room=room,
        occupancy=rng.randrange(0, 5),
        power_w=round(rng.uniform(0, 2000), 1),
        temperature_c=round(rng.uniform(15, 30), 2),
        smoke=rng.random() < 0.1,
    )


def heartbeat(device: str, seq: int, rng: random.Random, *, at: datetime) -> Heartbeat:
    return Heartbeat(
        id=ulid_at(at, rng),
        device=device,
        seq=seq,
        ts=at,
        software_version="1.2.3",
        config_version="7",
        allowlist_version=4,
        outbox_depth=rng.randrange(0, 50),
        clock_offset_ms=rng.randrange(-500, 500),
        uptime_s=1234.5,
    )


def wire(building: str, message: DeviceEvent) -> tuple[str, bytes]:
    """``(topic, payload)`` as it arrives at the server."""
    return device_topic(building, message.device, family_of(message)), encode(message)
