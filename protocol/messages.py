"""One typed message for everything that crosses MQTT.

Messages are ``msgspec.Struct`` types: decoding JSON straight into them both
parses and validates (types, ranges, patterns, unknown fields) in one pass,
about four times faster than pydantic here (see docs/protocol.md).

Every device-originated message (``DeviceEvent`` subclasses) carries the
envelope: a sortable unique ``id`` (ULID), the ``device`` id, the device's own
monotonic ``seq`` and its event time ``ts`` in UTC; the gateway fills in
``received_at`` when it accepts the message.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Final

import msgspec
from msgspec import Meta, Struct

from protocol.ids import ID_PATTERN, ULID_PATTERN

# --- constrained scalar types -------------------------------------------------

Id = Annotated[str, Meta(pattern=ID_PATTERN)]
EventId = Annotated[str, Meta(pattern=ULID_PATTERN)]
Seq = Annotated[int, Meta(ge=0, le=2**63 - 1)]
Timestamp = Annotated[datetime, Meta(tz=True)]
ShortText = Annotated[str, Meta(max_length=200)]
Version = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z.+_-]+$")]
# HMAC-SHA256 of a card number, lower-case hex (see protocol.cardhash).
CardHash = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
Nonce = Annotated[str, Meta(pattern=r"^[0-9a-f]{16}$")]
HourMinute = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]

# Device clocks must be set (a Pi without RTC boots in the past until NTP syncs);
# anything outside this range is a bad timestamp, not a date to store.
EARLIEST_TS: Final = datetime(2020, 1, 1, tzinfo=UTC)
LATEST_TS: Final = datetime(2100, 1, 1, tzinfo=UTC)


def _check_ts(name: str, value: datetime | None) -> None:
    if value is not None and not EARLIEST_TS <= value < LATEST_TS:
        raise ValueError(f"bad timestamp: `{name}` {value.isoformat()} is outside 2020..2100")


# --- enumerations -------------------------------------------------------------


class Direction(enum.StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class CredentialKind(enum.StrEnum):
    CARD = "card"
    QR = "qr"


class PersonKind(enum.StrEnum):
    STUDENT = "student"
    STAFF = "staff"
    VISITOR = "visitor"


class Decision(enum.StrEnum):
    GRANTED = "granted"
    DENIED = "denied"


class AccessReason(enum.StrEnum):
    """Why a gate granted or denied; one code per outcome the edge can decide."""

    OK = "ok"
    UNKNOWN_CARD = "unknown_card"
    UNKNOWN_PERSON = "unknown_person"
    REVOKED = "revoked"
    WRONG_BUILDING = "wrong_building"
    OUTSIDE_HOURS = "outside_hours"
    LOCKDOWN = "lockdown"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_NOT_YET_VALID = "token_not_yet_valid"
    TOKEN_BAD_SIGNATURE = "token_bad_signature"
    TOKEN_UNKNOWN_KEY = "token_unknown_key"
    TOKEN_MALFORMED = "token_malformed"
    TOKEN_REPLAYED = "token_replayed"


class DoorEventKind(enum.StrEnum):
    OPENED = "opened"
    CLOSED = "closed"
    FORCED = "forced"
    HELD_OPEN = "held_open"
    GRANTED_NOT_USED = "granted_not_used"
    EXIT_REQUEST = "exit_request"


class DutyAction(enum.StrEnum):
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    ROOM_VISIT = "room_visit"


class DeviceStatus(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class CommandAction(enum.StrEnum):
    UNLOCK = "unlock"
    LOCK = "lock"
    LOCKDOWN = "lockdown"
    FIRE_RELEASE = "fire_release"
    RESET = "reset"
    RELOAD_CONFIG = "reload_config"


class AckResult(enum.StrEnum):
    OK = "ok"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


# --- base classes -------------------------------------------------------------


class Message(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Root of every message type."""


class DeviceEvent(Message, kw_only=True):
    """The envelope every device-originated message carries."""

    TIMESTAMP_FIELDS: ClassVar[tuple[str, ...]] = ("ts", "received_at")

    id: EventId
    device: Id
    seq: Seq
    ts: Timestamp
    received_at: Timestamp | None = None
    # True when the message waited in an outbox through an outage and was sent
    # late; the rules use it to mark the incidents it reveals as delayed.
    replayed: bool = False

    def __post_init__(self) -> None:
        _check_ts("ts", self.ts)
        _check_ts("received_at", self.received_at)


# --- events -------------------------------------------------------------------


class AccessDecision(DeviceEvent, kw_only=True):
    """A gate decided on a presented credential (card or dynamic QR)."""

    direction: Direction
    credential: CredentialKind
    decision: Decision
    reason: AccessReason
    # Pseudonymous person id when the credential identified one; never a name.
    person: Id | None = None
    # First 16 hex digits of the card hash, so repeated unknown cards correlate.
    card_ref: Annotated[str, Meta(pattern=r"^[0-9a-f]{16}$")] | None = None
    nonce: Nonce | None = None
    door: Id = "main"
    # Soft anti-passback: a second pass the same way without one the other way
    # (allowed, but reported so the server can see a card being lent).
    passback: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.decision is Decision.GRANTED) != (self.reason is AccessReason.OK):
            raise ValueError("bad value: `reason` must be `ok` exactly when granted")


class DoorEvent(DeviceEvent, kw_only=True):
    """A door contact or exit-button change, judged as commercial panels do."""

    kind: DoorEventKind
    door: Id = "main"
    # The AccessDecision id that unlocked the door, when there was one.
    grant_id: EventId | None = None
    person: Id | None = None
    open_s: Annotated[float, Meta(ge=0, le=86_400 * 7)] | None = None


class PassageCount(DeviceEvent, kw_only=True):
    """People counted through the door by the beam during one unlock."""

    direction: Direction
    count: Annotated[int, Meta(ge=0, le=100)]
    grant_id: EventId | None = None
    door: Id = "main"


class DutyCheck(DeviceEvent, kw_only=True):
    """A counselor's check-in, check-out or room visit, taken by QR at a kiosk."""

    action: DutyAction
    person: Id
    room: Id | None = None
    nonce: Nonce | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.action is DutyAction.ROOM_VISIT) != (self.room is not None):
            raise ValueError("bad value: `room` is required for a room visit and only then")


class RoomTelemetry(DeviceEvent, kw_only=True):
    """One sample of a room sensor."""

    room: Id
    occupancy: Annotated[int, Meta(ge=0, le=64)]
    power_w: Annotated[float, Meta(ge=0, le=100_000)]
    temperature_c: Annotated[float, Meta(ge=-40, le=125)]
    smoke: bool


class Heartbeat(DeviceEvent, kw_only=True):
    """Periodic liveness and health of a device."""

    software_version: Version
    config_version: Version
    allowlist_version: Annotated[int, Meta(ge=0)]
    outbox_depth: Annotated[int, Meta(ge=0)]
    clock_offset_ms: Annotated[int, Meta(ge=-(10**9), le=10**9)]
    uptime_s: Annotated[float, Meta(ge=0)]
    interval_s: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    # Since start: telemetry shed to make room for events, and messages refused
    # because the outbox was full (see transport.outbox).
    outbox_shed: Annotated[int, Meta(ge=0)] = 0
    outbox_refused: Annotated[int, Meta(ge=0)] = 0
    # Since start: downlink messages (commands, allowlists) refused because their
    # signature was missing, forged, by an unknown key or beyond its key's scope.
    downlink_refused: Annotated[int, Meta(ge=0)] = 0


class CommandAck(DeviceEvent, kw_only=True):
    """A device's answer to a command."""

    command_id: EventId
    action: CommandAction
    result: AckResult
    detail: ShortText = ""


ReasonName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Count = Annotated[int, Meta(ge=0)]


class GatewayHealth(DeviceEvent, kw_only=True):
    """A building gateway's own counters, published periodically under its own id.

    Counters are totals since the gateway process started (they restart at 0);
    ``outbox_depth`` and ``drain_rate_mps`` are current values.
    """

    uptime_s: Annotated[float, Meta(ge=0)]
    received: Count
    forwarded: Count
    duplicates: Count
    # Rejected messages by reason (protocol reasons and the gateway's own).
    rejected: dict[ReasonName, Count] = {}
    outbox_depth: Count
    outbox_max: Annotated[int, Meta(ge=1)]
    # True once the outbox holds at least 90 % of outbox_max.
    outbox_warning: bool = False
    shed_telemetry: Count = 0
    refused_telemetry: Count = 0
    refused_events: Count = 0
    uplink_connected: bool
    # Messages per second acknowledged by the central broker since the last report.
    drain_rate_mps: Annotated[float, Meta(ge=0)] = 0.0
    fire_releases: Count = 0
    commands_relayed: Count = 0
    commands_timed_out: Count = 0
    devices_offline: Count = 0


# --- state, downlink, allowlists ----------------------------------------------


class DeviceState(Message, kw_only=True):
    """Retained online/offline state; the offline form is the MQTT last will."""

    device: Id
    status: DeviceStatus
    ts: Timestamp
    software_version: Version | None = None

    def __post_init__(self) -> None:
        _check_ts("ts", self.ts)


class DownlinkSignature(Message, kw_only=True):
    """Ed25519 signature of a downlink message (see protocol.signing).

    ``kid`` names the signing key among those the device trusts; ``value`` is
    the raw 64-byte signature in base64url without padding.
    """

    kid: Id
    value: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{86}$")]


class Command(Message, kw_only=True):
    """An order for one device, from security staff or the gateway itself."""

    id: EventId
    device: Id
    action: CommandAction
    issued_at: Timestamp
    expires_at: Timestamp
    issuer: Id | None = None
    duration_s: Annotated[float, Meta(gt=0, le=3600)] | None = None
    # Last field on purpose: protocol.signing appends it to the signed bytes.
    sig: DownlinkSignature | None = None

    def __post_init__(self) -> None:
        _check_ts("issued_at", self.issued_at)
        _check_ts("expires_at", self.expires_at)
        if self.expires_at <= self.issued_at:
            raise ValueError("bad timestamp: `expires_at` must be after `issued_at`")


class TimeWindow(Message, kw_only=True):
    """Allowed hours on some days of the week (0 = Monday); end may pass midnight."""

    days: Annotated[list[Annotated[int, Meta(ge=0, le=6)]], Meta(min_length=1, max_length=7)]
    start: HourMinute
    end: HourMinute


class TokenKey(Message, kw_only=True):
    """A public key that verifies dynamic QR tokens (raw Ed25519, base64url)."""

    kid: Annotated[str, Meta(pattern=r"^[a-z0-9-]{1,8}$")]
    public_key: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{43}$")]


class AllowlistEntry(Message, kw_only=True):
    """One person allowed into the building, with their cards as keyed hashes."""

    person: Id
    kind: PersonKind
    card_hashes: Annotated[list[CardHash], Meta(max_length=8)] = []
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    # Name of a schedule in the snapshot; None means the building's default hours.
    schedule: Id | None = None


class AllowlistSnapshot(Message, kw_only=True):
    """The whole allowlist of one building at one version (retained)."""

    building: Id
    version: Annotated[int, Meta(ge=1)]
    issued_at: Timestamp
    entries: list[AllowlistEntry]
    schedules: dict[Id, list[TimeWindow]] = {}
    keys: list[TokenKey] = []
    # Last field on purpose: protocol.signing appends it to the signed bytes.
    sig: DownlinkSignature | None = None

    def __post_init__(self) -> None:
        _check_ts("issued_at", self.issued_at)


class AllowlistDelta(Message, kw_only=True):
    """Changes from one allowlist version to the next."""

    building: Id
    from_version: Annotated[int, Meta(ge=1)]
    version: Annotated[int, Meta(ge=2)]
    issued_at: Timestamp
    upserts: list[AllowlistEntry] = []
    removals: list[Id] = []
    keys: list[TokenKey] | None = None
    # Last field on purpose: protocol.signing appends it to the signed bytes.
    sig: DownlinkSignature | None = None

    def __post_init__(self) -> None:
        _check_ts("issued_at", self.issued_at)
        if self.version <= self.from_version:
            raise ValueError("bad value: `version` must be greater than `from_version`")


def encode(message: Message) -> bytes:
    """Serialise a message to its JSON wire form."""
    return msgspec.json.encode(message)
