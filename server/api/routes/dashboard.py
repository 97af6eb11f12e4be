"""Read-only aggregates the dashboard needs and no other route gives.

Every route is scoped like the routes it summarises: counselors see their own
buildings, security staff and administrators all of them; names appear only
for administrators (the only role the people API serves them to).
"""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import AwareDatetime
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from protocol.ids import ID_PATTERN
from server.api.dashboard_schemas import (
    BuildingOverviewOut,
    CampusOut,
    DecisionOut,
    DutyShiftStateOut,
    FloorStateOut,
    GateStateOut,
    HourlyFlowOut,
    OverviewOut,
    QrSvgOut,
    RoomStateOut,
    ShiftState,
)
from server.api.deps import (
    CounselorUser,
    CurrentUser,
    RuntimeDep,
    SessionDep,
    StaffUser,
    check_building,
    visible_buildings,
)
from server.api.routes.me import my_qr
from server.db import (
    AccessEvent,
    Building,
    Campus,
    CommandRow,
    Device,
    DutyCheckRow,
    DutyShift,
    Floor,
    GateFlowMinute,
    PersonPrivate,
    Presence,
    TelemetrySample,
    UserAccount,
)
from server.reports import CHECK_IN_GRACE
from server.security import Role, utcnow

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

BuildingPath = Annotated[str, Path(pattern=ID_PATTERN)]
BuildingQuery = Annotated[str, Query(pattern=ID_PATTERN)]
#: A check-in later than this after the shift's start makes the shift late.
LATE_AFTER: Final = timedelta(minutes=15)
#: No check-in this long after the start: the shift is missed.
MISSED_AFTER: Final = timedelta(hours=1)
#: The hourly gate chart covers at most this much.
MAX_FLOW_SPAN: Final = timedelta(days=8)


def _campus(session: Session) -> Campus:
    campus = session.scalar(select(Campus).order_by(Campus.id).limit(1))
    if campus is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no campus configured")
    return campus


@router.get("/campus")
def read_campus(session: SessionDep, user: CurrentUser) -> CampusOut:
    """The campus name and time zone (every role: it carries nothing personal)."""
    campus = _campus(session)
    return CampusOut(id=campus.id, name=campus.name, timezone=campus.timezone)


def _scoped_buildings(session: Session, user: UserAccount) -> list[Building]:
    query = select(Building).order_by(Building.id)
    scope = visible_buildings(session, user)
    if scope is not None:
        query = query.where(Building.id.in_(scope))
    return list(session.scalars(query))


def _checked_in(session: Session, shifts: list[DutyShift]) -> set[int]:
    """Ids of the shifts whose counselor checked in (same grace as the attendance report)."""
    if not shifts:
        return set()
    earliest = min(s.starts_at for s in shifts) - CHECK_IN_GRACE
    checks = session.execute(
        select(DutyCheckRow.person_id, DutyCheckRow.building_id, DutyCheckRow.ts).where(
            DutyCheckRow.action == "check_in",
            DutyCheckRow.person_id.in_({s.person_id for s in shifts}),
            DutyCheckRow.ts >= earliest,
        )
    ).all()
    return {
        s.id
        for s in shifts
        if any(
            p == s.person_id
            and b == s.building_id
            and s.starts_at - CHECK_IN_GRACE <= ts < s.ends_at
            for p, b, ts in checks
        )
    }


@router.get("/overview")
def overview(session: SessionDep, user: StaffUser) -> OverviewOut:
    """Per building: people inside, who is on duty (or a gap), gates, devices offline."""
    now = utcnow()
    buildings = _scoped_buildings(session, user)
    ids = [b.id for b in buildings]
    inside = dict(
        session.execute(
            select(Presence.building_id, func.count())
            .where(Presence.state == "in", Presence.building_id.in_(ids))
            .group_by(Presence.building_id)
        ).all()
    )
    shifts = list(
        session.scalars(
            select(DutyShift).where(
                DutyShift.building_id.in_(ids), DutyShift.starts_at <= now, DutyShift.ends_at > now
            )
        )
    )
    checked = _checked_in(session, shifts)
    devices = list(session.scalars(select(Device).where(Device.building_id.in_(ids))))
    gate_ids = [d.id for d in devices if d.kind == "gate"]
    latest = (
        select(CommandRow.device_id, func.max(CommandRow.issued_at).label("issued_at"))
        .where(CommandRow.device_id.in_(gate_ids))
        .group_by(CommandRow.device_id)
        .subquery()
    )
    last_command = {
        c.device_id: c
        for c in session.scalars(
            select(CommandRow).join(
                latest,
                (CommandRow.device_id == latest.c.device_id)
                & (CommandRow.issued_at == latest.c.issued_at),
            )
        )
    }
    out = []
    for b in buildings:
        own_shifts = [s for s in shifts if s.building_id == b.id]
        own_devices = [d for d in devices if d.building_id == b.id]
        checked_in = sorted({s.person_id for s in own_shifts if s.id in checked})
        gates = []
        for d in own_devices:
            if d.kind != "gate":
                continue
            command = last_command.get(d.id)
            gates.append(
                GateStateOut(
                    id=d.id,
                    place=d.place,
                    status=d.status,
                    last_seen_at=d.last_seen_at,
                    last_command=None if command is None else command.action,
                    last_command_status=None if command is None else command.status,
                )
            )
        out.append(
            BuildingOverviewOut(
                id=b.id,
                name=b.name,
                inside=inside.get(b.id, 0),
                on_duty=sorted({s.person_id for s in own_shifts}),
                checked_in=checked_in,
                duty_gap=not checked_in,
                gates=gates,
                devices_total=len(own_devices),
                devices_offline=sum(1 for d in own_devices if d.status != "online"),
            )
        )
    return OverviewOut(as_of=now, buildings=out)


@router.get("/buildings/{building_id}/rooms")
def building_rooms(
    session: SessionDep, user: StaffUser, building_id: BuildingPath
) -> list[FloorStateOut]:
    """Floors and rooms with each room's latest occupancy, power, temperature and smoke."""
    check_building(session, user, building_id)
    if session.get(Building, building_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such building")
    newest = (
        select(TelemetrySample.room_id, func.max(TelemetrySample.ts).label("ts"))
        .where(TelemetrySample.building_id == building_id)
        .group_by(TelemetrySample.room_id)
        .subquery()
    )
    samples: dict[str, TelemetrySample] = {}
    for sample in session.scalars(
        select(TelemetrySample).join(
            newest,
            (TelemetrySample.room_id == newest.c.room_id) & (TelemetrySample.ts == newest.c.ts),
        )
    ):
        samples.setdefault(sample.room_id, sample)
    floors = session.scalars(
        select(Floor)
        .where(Floor.building_id == building_id)
        .options(selectinload(Floor.rooms))
        .order_by(Floor.level)
    )
    out = []
    for floor in floors:
        rooms = []
        for room in floor.rooms:
            s = samples.get(room.id)
            rooms.append(
                RoomStateOut(
                    id=room.id,
                    number=room.number,
                    kind=room.kind,
                    capacity=room.capacity,
                    max_power_w=room.max_power_w,
                    ts=None if s is None else s.ts,
                    occupancy=None if s is None else s.occupancy,
                    power_w=None if s is None else s.power_w,
                    temperature_c=None if s is None else s.temperature_c,
                    smoke=None if s is None else s.smoke,
                )
            )
        out.append(FloorStateOut(level=floor.level, name=floor.name, rooms=rooms))
    return out


@router.get("/gate-flows/hourly")
def hourly_gate_flows(
    session: SessionDep,
    user: StaffUser,
    building: BuildingQuery,
    since: AwareDatetime,
    until: AwareDatetime,
) -> list[HourlyFlowOut]:
    """Entries, exits and refusals per hour of campus local time (hours without any: absent)."""
    check_building(session, user, building)
    if not since < until or until - since > MAX_FLOW_SPAN:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "since must precede until, at most 8 days"
        )
    zone = ZoneInfo(_campus(session).timezone)
    hours: dict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0])
    for minute, entries, exits, denied in session.execute(
        select(
            GateFlowMinute.minute,
            GateFlowMinute.entries,
            GateFlowMinute.exits,
            GateFlowMinute.denied,
        ).where(
            GateFlowMinute.building_id == building,
            GateFlowMinute.minute >= since,
            GateFlowMinute.minute < until,
        )
    ):
        hour = minute.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        totals = hours[hour]
        totals[0] += entries
        totals[1] += exits
        totals[2] += denied
    return [
        HourlyFlowOut(hour=hour, entries=e, exits=x, denied=d)
        for hour, (e, x, d) in sorted(hours.items())
    ]


@router.get("/decisions")
def recent_decisions(
    session: SessionDep,
    user: StaffUser,
    building: BuildingQuery,
    limit: Annotated[int, Query(ge=1, le=200)] = 30,
) -> list[DecisionOut]:
    """The gates' latest decisions with their reasons; names for administrators only."""
    check_building(session, user, building)
    rows = list(
        session.scalars(
            select(AccessEvent)
            .where(AccessEvent.building_id == building)
            .order_by(AccessEvent.event_id.desc())
            .limit(limit)
        )
    )
    names: dict[str, str] = {}
    if user.role == Role.ADMIN:
        people = {r.person_id for r in rows if r.person_id is not None}
        names = dict(
            session.execute(
                select(PersonPrivate.person_id, PersonPrivate.full_name).where(
                    PersonPrivate.person_id.in_(people)
                )
            ).all()
        )
    out = []
    for row in rows:
        decision = DecisionOut.model_validate(row)
        decision.name = None if row.person_id is None else names.get(row.person_id)
        out.append(decision)
    return out


def _shift_state(shift: DutyShift, checked_in_at: datetime | None, now: datetime) -> ShiftState:
    if checked_in_at is not None:
        return "late" if checked_in_at > shift.starts_at + LATE_AFTER else "on_time"
    if now < shift.starts_at:
        return "upcoming"
    return "missed" if now >= shift.starts_at + MISSED_AFTER else "due"


@router.get("/duty")
def duty_today(
    session: SessionDep,
    user: CounselorUser,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    at: AwareDatetime | None = None,
) -> list[DutyShiftStateOut]:
    """Shifts overlapping the campus-local day of ``at`` (default now) with their check-ins."""
    now = utcnow()
    zone = ZoneInfo(_campus(session).timezone)
    local = (at or now).astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = (day_start + timedelta(days=1)).astimezone(UTC)
    day_start = day_start.astimezone(UTC)
    query = select(DutyShift).where(DutyShift.starts_at < day_end, DutyShift.ends_at > day_start)
    if building is not None:
        check_building(session, user, building)
        query = query.where(DutyShift.building_id == building)
    else:
        query = query.where(
            DutyShift.building_id.in_([b.id for b in _scoped_buildings(session, user)])
        )
    shifts = list(session.scalars(query.order_by(DutyShift.starts_at, DutyShift.id)))
    if not shifts:
        return []
    checks = list(
        session.scalars(
            select(DutyCheckRow)
            .where(
                DutyCheckRow.person_id.in_({s.person_id for s in shifts}),
                DutyCheckRow.ts >= min(s.starts_at for s in shifts) - CHECK_IN_GRACE,
                DutyCheckRow.ts < max(s.ends_at for s in shifts),
            )
            .order_by(DutyCheckRow.ts)
        )
    )
    out = []
    for shift in shifts:
        own = [
            c
            for c in checks
            if c.person_id == shift.person_id
            and c.building_id == shift.building_id
            and shift.starts_at - CHECK_IN_GRACE <= c.ts < shift.ends_at
        ]
        check_in = next((c.ts for c in own if c.action == "check_in"), None)
        check_out = next((c.ts for c in reversed(own) if c.action == "check_out"), None)
        visits = len({c.room_id for c in own if c.action == "room_visit" and c.room_id})
        out.append(
            DutyShiftStateOut(
                id=shift.id,
                building_id=shift.building_id,
                person_id=shift.person_id,
                starts_at=shift.starts_at,
                ends_at=shift.ends_at,
                checked_in_at=check_in,
                checked_out_at=check_out,
                room_visits=visits,
                state=_shift_state(shift, check_in, now),
            )
        )
    return out


@router.get("/me/qr")
def my_qr_svg(session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> QrSvgOut:
    """The signed-in user's dynamic QR code as SVG (same token and rules as ``GET /me/qr``)."""
    qr = my_qr(session, user, runtime)
    svg = io.BytesIO()
    # A white background: a phone in dark mode must still show dark modules on light.
    segno.make_qr(qr.token, error="m").save(
        svg, kind="svg", xmldecl=False, scale=4, border=4, omitsize=True, light="#fff"
    )
    return QrSvgOut(svg=svg.getvalue().decode(), kid=qr.kid, valid_until=qr.valid_until)
