"""Request and response models of the REST API (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from protocol.ids import ID_PATTERN
from protocol.messages import CommandAction

IdStr = Annotated[str, Field(pattern=ID_PATTERN)]


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("control characters are not allowed")
    return value


Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]


PersonNumber = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
CardNumber = Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9]+$")]


class Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class UserOut(Orm):
    id: int
    role: str
    person_id: str | None


class UserIn(BaseModel):
    username: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
    password: Annotated[str, Field(min_length=8, max_length=128)]
    role: Literal["student", "counselor", "security", "admin"]
    person_id: IdStr | None = None


class RoomOut(Orm):
    id: str
    number: str
    kind: str
    capacity: int
    max_power_w: float


class FloorOut(Orm):
    level: int
    name: str | None
    rooms: list[RoomOut]


class BuildingOut(Orm):
    id: str
    campus_id: str
    name: str
    gateway_id: str


class DeviceOut(Orm):
    id: str
    building_id: str
    kind: str
    room_id: str | None
    place: str | None
    status: str
    last_seen_at: datetime | None
    software_version: str | None
    config_version: str | None
    allowlist_version: int | None
    outbox_depth: int | None
    clock_offset_ms: int | None


class CommandIn(BaseModel):
    action: CommandAction
    duration_s: Annotated[float, Field(gt=0, le=3600)] | None = None
    expires_in_s: Annotated[float, Field(gt=0, le=3600)] = 60.0


class CommandOut(Orm):
    id: str
    device_id: str
    building_id: str
    action: str
    issued_at: datetime
    expires_at: datetime
    duration_s: float | None
    status: str
    acked_at: datetime | None
    ack_detail: str | None


class PersonIn(BaseModel):
    id: IdStr
    kind: Literal["student", "staff", "visitor"]
    full_name: Text
    number: (
        Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")] | None
    ) = None
    home_building_id: IdStr | None = None
    room_id: IdStr | None = None
    #: Buildings this person may enter (building access grants).
    access: list[IdStr] = []


class PersonOut(Orm):
    """A person as administrators see them (with the personal data)."""

    id: str
    kind: str
    status: str
    home_building_id: str | None
    room_id: str | None
    full_name: str | None = None
    number: str | None = None


class CredentialIn(BaseModel):
    kind: Literal["card", "qr"]
    #: The card number as read by the reader; only its keyed hash is stored.
    card_number: (
        Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9]+$")] | None
    ) = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class CredentialOut(Orm):
    id: int
    person_id: str
    kind: str
    card_hash: str | None
    status: str
    valid_from: datetime | None
    valid_until: datetime | None
    revoked_at: datetime | None


class AccessEventOut(Orm):
    event_id: str
    building_id: str
    device_id: str
    ts: datetime
    received_at: datetime | None
    direction: str
    credential: str
    decision: str
    reason: str
    person_id: str | None
    card_ref: str | None
    door: str
    replayed: bool


class AccessEventPage(BaseModel):
    items: list[AccessEventOut]
    #: Pass as ``cursor`` for the next (older) page; None on the last page.
    next_cursor: str | None


class OccupancyOut(BaseModel):
    building_id: str
    inside: int
    as_of: datetime


class QrOut(BaseModel):
    token: str
    kid: str
    valid_until: datetime


class ShiftIn(BaseModel):
    building_id: IdStr
    person_id: IdStr
    starts_at: datetime
    ends_at: datetime


class ShiftOut(Orm):
    id: int
    building_id: str
    person_id: str
    starts_at: datetime
    ends_at: datetime


class DutyCheckOut(Orm):
    event_id: str
    building_id: str
    device_id: str
    ts: datetime
    action: str
    person_id: str
    room_id: str | None


class AllowlistVersionOut(BaseModel):
    building_id: str
    version: int
    issued_at: datetime
    entries: int


class GateFlowOut(Orm):
    building_id: str
    minute: datetime
    entries: int
    exits: int
    denied: int


class RoomMinuteOut(Orm):
    room_id: str
    building_id: str
    minute: datetime
    occupancy_max: int
    power_w_avg: float
    power_w_max: float
    samples: int
