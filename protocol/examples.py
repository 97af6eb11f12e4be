"""A valid example of every message family.

Used by the documentation, the tests (as the starting point of the malformed
cases) and the benchmarks (the "typical event"). Fixed ids and times keep
them deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from protocol.messages import (
    AccessDecision,
    AccessReason,
    AckResult,
    AllowlistDelta,
    AllowlistEntry,
    AllowlistSnapshot,
    Command,
    CommandAck,
    CommandAction,
    CredentialKind,
    Decision,
    DeviceState,
    DeviceStatus,
    Direction,
    DoorEvent,
    DoorEventKind,
    DutyAction,
    DutyCheck,
    GatewayHealth,
    Heartbeat,
    Message,
    PassageCount,
    PersonKind,
    RoomTelemetry,
    TimeWindow,
    TokenKey,
)
from protocol.topics import Family

BUILDING: Final = "b1"
GATE: Final = "b1-gate-in"
KIOSK: Final = "b1-kiosk"
SENSOR: Final = "b1-r101-sensor"
GATEWAY: Final = "b1-gw"
TS: Final = datetime(2026, 9, 1, 7, 45, 12, 345000, tzinfo=UTC)
_IDS: Final = [
    "01JBQ8Z0X4T6Y5V3W2N1M0K9H8",
    "01JBQ8Z0X4T6Y5V3W2N1M0K9H9",
    "01JBQ8Z0X4T6Y5V3W2N1M0K9HA",
]
_CARD_HASH: Final = "9f2c4b1e0d7a6f5e3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b"
# The public key of the Ed25519 private key bytes(range(32)): a fixed test key.
_PUBLIC_KEY: Final = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"


def typical_event() -> AccessDecision:
    """The message the gates send most: a granted QR scan (about 220 bytes of JSON)."""
    return AccessDecision(
        id=_IDS[0],
        device=GATE,
        seq=48213,
        ts=TS,
        direction=Direction.ENTRY,
        credential=CredentialKind.QR,
        decision=Decision.GRANTED,
        reason=AccessReason.OK,
        person="p-7f3a9c",
        nonce="5be07c2d91aa04f3",
    )


def _entry() -> AllowlistEntry:
    return AllowlistEntry(
        person="p-7f3a9c",
        kind=PersonKind.STUDENT,
        card_hashes=[_CARD_HASH],
        valid_from=TS - timedelta(days=30),
        valid_until=TS + timedelta(days=300),
        schedule="students",
    )


def example(family: Family) -> Message:
    """A valid message of ``family``, as a device or the server would send it."""
    match family:
        case Family.ACCESS:
            return typical_event()
        case Family.DOOR:
            return DoorEvent(
                id=_IDS[1],
                device=GATE,
                seq=48213,
                ts=TS,
                kind=DoorEventKind.HELD_OPEN,
                grant_id=_IDS[0],
                person="p-7f3a9c",
                open_s=31.5,
            )
        case Family.PASSAGE:
            return PassageCount(
                id=_IDS[1],
                device=GATE,
                seq=48213,
                ts=TS,
                direction=Direction.ENTRY,
                count=2,
                grant_id=_IDS[0],
            )
        case Family.DUTY:
            return DutyCheck(
                id=_IDS[1],
                device=KIOSK,
                seq=7,
                ts=TS,
                action=DutyAction.ROOM_VISIT,
                person="s-21c4",
                room="b1-305",
                nonce="0f1e2d3c4b5a6978",
            )
        case Family.TELEMETRY:
            return RoomTelemetry(
                id=_IDS[1],
                device=SENSOR,
                seq=99,
                ts=TS,
                room="b1-r101",
                occupancy=3,
                power_w=412.5,
                temperature_c=23.4,
                smoke=False,
            )
        case Family.HEARTBEAT:
            return Heartbeat(
                id=_IDS[1],
                device=GATE,
                seq=48213,
                ts=TS,
                software_version="0.1.0",
                config_version="c17",
                allowlist_version=42,
                outbox_depth=0,
                clock_offset_ms=-12,
                uptime_s=86400.0,
            )
        case Family.STATE:
            return DeviceState(
                device=GATE, status=DeviceStatus.ONLINE, ts=TS, software_version="0.1.0"
            )
        case Family.COMMAND:
            return Command(
                id=_IDS[2],
                device=GATE,
                action=CommandAction.UNLOCK,
                issued_at=TS,
                expires_at=TS + timedelta(seconds=30),
                issuer="s-0a1b",
                duration_s=5.0,
            )
        case Family.COMMAND_ACK:
            return CommandAck(
                id=_IDS[1],
                device=GATE,
                seq=48213,
                ts=TS,
                command_id=_IDS[2],
                action=CommandAction.UNLOCK,
                result=AckResult.OK,
                detail="relay energised for 5 s",
            )
        case Family.ALLOWLIST_SNAPSHOT:
            return AllowlistSnapshot(
                building=BUILDING,
                version=42,
                issued_at=TS,
                entries=[_entry()],
                schedules={
                    "students": [TimeWindow(days=[0, 1, 2, 3, 4, 5, 6], start="06:00", end="23:30")]
                },
                keys=[TokenKey(kid="k1", public_key=_PUBLIC_KEY)],
            )
        case Family.ALLOWLIST_DELTA:
            return AllowlistDelta(
                building=BUILDING,
                from_version=42,
                version=43,
                issued_at=TS,
                upserts=[_entry()],
                removals=["p-0d1e2f"],
            )
        case Family.GATEWAY_HEALTH:
            return GatewayHealth(
                id=_IDS[1],
                device=GATEWAY,
                seq=1_788_000_000_000_000,
                ts=TS,
                uptime_s=3600.0,
                received=120_000,
                forwarded=119_950,
                duplicates=12,
                rejected={"malformed": 3, "unknown_topic": 1},
                outbox_depth=40,
                outbox_max=1_000_000,
                uplink_connected=True,
                drain_rate_mps=850.5,
                fire_releases=0,
                commands_relayed=4,
                commands_timed_out=1,
                devices_offline=2,
            )
    raise ValueError(family)
