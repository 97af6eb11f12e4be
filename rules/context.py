"""What the rules need to know about the site: plain dataclasses, and a loader from SQL.

The engine never queries the database itself; the server (or the backtest)
builds a :class:`SiteContext` with :func:`load_context` and hands it over,
and hands a new one over with ``engine.reload_context(ctx)`` when the site
changes. Everything here is immutable, so a context can be shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

NOON: Final = time(12, 0)


@dataclass(frozen=True, slots=True)
class CurfewTimes:
    """One night's curfew: ``starts`` on the night beginning that weekday (a time
    before noon means after midnight), ``ends`` the next morning."""

    starts: time
    ends: time


@dataclass(frozen=True, slots=True)
class BuildingInfo:
    id: str
    gateway_id: str | None = None
    #: 0 = Monday → the curfew of the night that begins that day.
    curfews: Mapping[int, CurfewTimes] = field(default_factory=dict)
    #: Local time of the night check (``not_returned``); None: the rule's default.
    night_check: time | None = None

    def curfew_window(self, night_of: date, tz: tzinfo) -> tuple[datetime, datetime] | None:
        """The curfew of the night that begins on ``night_of``, as aware datetimes."""
        curfew = self.curfews.get(night_of.weekday())
        if curfew is None:
            return None
        start_day = night_of if curfew.starts >= NOON else night_of + timedelta(days=1)
        return (
            datetime.combine(start_day, curfew.starts, tzinfo=tz),
            datetime.combine(night_of + timedelta(days=1), curfew.ends, tzinfo=tz),
        )

    def in_curfew(self, moment: datetime, tz: tzinfo) -> bool:
        local = moment.astimezone(tz)
        for night in (local.date(), local.date() - timedelta(days=1)):
            window = self.curfew_window(night, tz)
            if window is not None and window[0] <= local < window[1]:
                return True
        return False


@dataclass(frozen=True, slots=True)
class RoomInfo:
    id: str
    building: str
    #: The floor's level as text (``"4"``): what signals carry as ``floor``.
    floor: str | None
    #: ``dorm``, ``activity``, … (siteconfig's RoomKind).
    kind: str
    capacity: int
    max_power_w: float


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    building: str
    #: ``gate``, ``kiosk``, ``room_sensor`` (or ``gateway``).
    kind: str
    room: str | None = None


@dataclass(frozen=True, slots=True)
class PersonInfo:
    """Pseudonymous: an id, a kind and where the person lives; never a name."""

    id: str
    kind: str
    home_building: str | None = None


@dataclass(frozen=True, slots=True)
class DutyShift:
    id: str
    building: str
    person: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Leave:
    person_id: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Booking:
    room_id: str
    starts_at: datetime
    ends_at: datetime


def _covers(spans: Iterable[Leave | Booking], moment: datetime) -> bool:
    return any(span.starts_at <= moment < span.ends_at for span in spans)


@dataclass(frozen=True, slots=True)
class SiteContext:
    tz: tzinfo = UTC
    buildings: Mapping[str, BuildingInfo] = field(default_factory=dict)
    rooms: Mapping[str, RoomInfo] = field(default_factory=dict)
    devices: Mapping[str, DeviceInfo] = field(default_factory=dict)
    persons: Mapping[str, PersonInfo] = field(default_factory=dict)
    shifts: tuple[DutyShift, ...] = ()
    leaves: Mapping[str, tuple[Leave, ...]] = field(default_factory=dict)
    bookings: Mapping[str, tuple[Booking, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        tz: tzinfo = UTC,
        buildings: Iterable[BuildingInfo] = (),
        rooms: Iterable[RoomInfo] = (),
        devices: Iterable[DeviceInfo] = (),
        persons: Iterable[PersonInfo] = (),
        shifts: Iterable[DutyShift] = (),
        leaves: Iterable[Leave] = (),
        bookings: Iterable[Booking] = (),
    ) -> SiteContext:
        by_person: dict[str, list[Leave]] = {}
        for leave in leaves:
            by_person.setdefault(leave.person_id, []).append(leave)
        by_room: dict[str, list[Booking]] = {}
        for booking in bookings:
            by_room.setdefault(booking.room_id, []).append(booking)
        return cls(
            tz=tz,
            buildings={b.id: b for b in buildings},
            rooms={r.id: r for r in rooms},
            devices={d.id: d for d in devices},
            persons={p.id: p for p in persons},
            shifts=tuple(sorted(shifts, key=lambda s: (s.starts_at, s.id))),
            leaves={k: tuple(v) for k, v in by_person.items()},
            bookings={k: tuple(v) for k, v in by_room.items()},
        )

    def on_leave(self, person: str, moment: datetime) -> bool:
        return _covers(self.leaves.get(person, ()), moment)

    def booked(self, room: str, moment: datetime) -> bool:
        return _covers(self.bookings.get(room, ()), moment)

    def residents(self, building: str, kinds: Iterable[str]) -> list[PersonInfo]:
        wanted = set(kinds)
        return sorted(
            (p for p in self.persons.values() if p.home_building == building and p.kind in wanted),
            key=lambda p: p.id,
        )


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def load_context(session: Session, *, night_check: Mapping[str, time] | None = None) -> SiteContext:
    """Read what exists in the SQL domain now (SQLAlchemy 2 ``select``)."""
    from sqlalchemy import select

    from server.db import Building, Campus, Curfew, Device, Floor, Person, Room
    from server.db import DutyShift as ShiftRow
    from server.db.schedules import Leave as LeaveRow
    from server.db.schedules import RoomBooking

    timezone = session.scalars(select(Campus.timezone).order_by(Campus.id)).first()
    curfews: dict[str, dict[int, CurfewTimes]] = {}
    for curfew in session.scalars(select(Curfew)):
        curfews.setdefault(curfew.building_id, {})[curfew.weekday] = CurfewTimes(
            _hhmm(curfew.starts), _hhmm(curfew.ends)
        )
    checks = night_check or {}
    buildings = [
        BuildingInfo(
            id=row.id,
            gateway_id=row.gateway_id,
            curfews=curfews.get(row.id, {}),
            night_check=checks.get(row.id),
        )
        for row in session.scalars(select(Building).order_by(Building.id))
    ]
    levels = {row.id: str(row.level) for row in session.scalars(select(Floor))}
    rooms = [
        RoomInfo(
            id=row.id,
            building=row.building_id,
            floor=levels.get(row.floor_id),
            kind=row.kind,
            capacity=row.capacity,
            max_power_w=row.max_power_w,
        )
        for row in session.scalars(select(Room))
    ]
    devices = [
        DeviceInfo(id=row.id, building=row.building_id, kind=row.kind, room=row.room_id)
        for row in session.scalars(select(Device))
    ]
    persons = [
        PersonInfo(id=row.id, kind=row.kind, home_building=row.home_building_id)
        for row in session.scalars(select(Person).where(Person.status == "active"))
    ]
    shifts = [
        DutyShift(
            id=str(row.id),
            building=row.building_id,
            person=row.person_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )
        for row in session.scalars(select(ShiftRow))
    ]
    leaves = [
        Leave(row.person_id, row.starts_at, row.ends_at)
        for row in session.scalars(select(LeaveRow))
    ]
    bookings = [
        Booking(row.room_id, row.starts_at, row.ends_at)
        for row in session.scalars(select(RoomBooking))
    ]
    return SiteContext.build(
        tz=ZoneInfo(timezone) if timezone else UTC,
        buildings=buildings,
        rooms=rooms,
        devices=devices,
        persons=persons,
        shifts=shifts,
        leaves=leaves,
        bookings=bookings,
    )
