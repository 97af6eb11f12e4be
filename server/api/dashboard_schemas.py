"""Response models of the dashboard's read-only aggregate routes (routes/dashboard.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from server.api.schemas import AccessEventOut


class CampusOut(BaseModel):
    """The campus and its time zone: the dashboard shows every time in it."""

    id: str
    name: str
    timezone: str


class GateStateOut(BaseModel):
    id: str
    place: str | None
    status: str
    last_seen_at: datetime | None
    #: The latest command sent to this gate and its acknowledgement state.
    last_command: str | None
    last_command_status: str | None


class BuildingOverviewOut(BaseModel):
    id: str
    name: str
    #: People inside now (latest granted passage of each person).
    inside: int
    #: Counselors (pseudonymous ids) with a shift covering now.
    on_duty: list[str]
    #: Those of ``on_duty`` who checked in for that shift.
    checked_in: list[str]
    #: True when nobody is rostered now, or nobody rostered has checked in.
    duty_gap: bool
    gates: list[GateStateOut]
    devices_total: int
    devices_offline: int


class OverviewOut(BaseModel):
    as_of: datetime
    buildings: list[BuildingOverviewOut]


class RoomStateOut(BaseModel):
    id: str
    number: str
    kind: str
    capacity: int
    max_power_w: float
    #: The room's latest telemetry (None: no sensor reported yet).
    ts: datetime | None
    occupancy: int | None
    power_w: float | None
    temperature_c: float | None
    smoke: bool | None


class FloorStateOut(BaseModel):
    level: int
    name: str | None
    rooms: list[RoomStateOut]


class HourlyFlowOut(BaseModel):
    #: Start of the hour (campus local time, as an aware datetime).
    hour: datetime
    entries: int
    exits: int
    denied: int


class DecisionOut(AccessEventOut):
    #: The person's name: filled for administrators only, None for every other role.
    name: str | None = None


#: upcoming: not started; due: started, no check-in yet (within the grace); on_time, late;
#: missed: no check-in by the end of the grace.
ShiftState = Literal["upcoming", "due", "on_time", "late", "missed"]


class DutyShiftStateOut(BaseModel):
    id: int
    building_id: str
    person_id: str
    starts_at: datetime
    ends_at: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    room_visits: int
    state: ShiftState


class QrSvgOut(BaseModel):
    """A fresh dynamic QR token rendered as SVG by segno (no token in any URL)."""

    svg: str
    kid: str
    valid_until: datetime
