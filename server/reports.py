"""Reports for counselors and administrators: computed from the audit trail.

Every report names people by their pseudonymous id only; an authorised user
looks names up through the people API.

- **late returns**: the first granted entry of a night came after the curfew began;
- **not returned**: residents whose last granted passage before the night check
  (the curfew start, by default) was an exit, or who have no passage at all;
- **not seen**: active students with no access event at all for N days;
- **duty attendance**: per counselor, shifts checked in and room visits per day
  (the community rule: at least 10 rooms a day on duty).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from server.db import AccessEvent, Building, Campus, Curfew, DutyCheckRow, DutyShift, Person

NOON: Final = time(12, 0)
MIN_ROOM_VISITS_PER_DAY: Final = 10
#: A check-in this long before a shift starts still counts for it.
CHECK_IN_GRACE: Final = timedelta(hours=1)


class ReportError(ValueError):
    """A report that cannot be made (unknown building, no curfew)."""


class LateReturn(BaseModel):
    person_id: str
    building_id: str
    entered_at: datetime
    curfew_started_at: datetime


class NotReturned(BaseModel):
    person_id: str
    building_id: str
    room_id: str | None
    #: The last granted passage before the check (None: never seen).
    last_passage_at: datetime | None


class NotSeen(BaseModel):
    person_id: str
    home_building_id: str | None
    last_seen_at: datetime | None


class DutyAttendance(BaseModel):
    person_id: str
    shifts: int
    shifts_checked_in: int
    room_visits: int
    days_on_duty: int
    days_with_enough_visits: int


def curfew_window(session: Session, building_id: str, night_of: date) -> tuple[datetime, datetime]:
    """The curfew of the night beginning on ``night_of``, as aware datetimes."""
    row = session.execute(
        select(Curfew, Campus.timezone)
        .join(Building, Building.id == Curfew.building_id)
        .join(Campus, Campus.id == Building.campus_id)
        .where(Curfew.building_id == building_id, Curfew.weekday == night_of.weekday())
    ).first()
    if row is None:
        raise ReportError(f"no curfew known for building {building_id!r}")
    curfew, timezone = row
    tz = ZoneInfo(timezone)
    starts = time.fromisoformat(curfew.starts)
    start_day = night_of if starts >= NOON else night_of + timedelta(days=1)
    return (
        datetime.combine(start_day, starts, tzinfo=tz),
        datetime.combine(night_of + timedelta(days=1), time.fromisoformat(curfew.ends), tzinfo=tz),
    )


def late_returns(session: Session, building_id: str, night_of: date) -> list[LateReturn]:
    start, end = curfew_window(session, building_id, night_of)
    first_entry = (
        select(AccessEvent.person_id, func.min(AccessEvent.ts).label("entered_at"))
        .where(
            AccessEvent.building_id == building_id,
            AccessEvent.decision == "granted",
            AccessEvent.direction == "entry",
            AccessEvent.person_id.is_not(None),
            AccessEvent.ts >= start,
            AccessEvent.ts < end,
        )
        .group_by(AccessEvent.person_id)
        .order_by(AccessEvent.person_id)
    )
    return [
        LateReturn(
            person_id=person,
            building_id=building_id,
            entered_at=entered,
            curfew_started_at=start,
        )
        for person, entered in session.execute(first_entry)
        if person is not None
    ]


def _last_passages(
    session: Session, building_id: str, before: datetime
) -> dict[str, tuple[str, datetime]]:
    """Person → (direction, time) of their last granted passage through the building."""
    latest = (
        select(AccessEvent.person_id, func.max(AccessEvent.ts).label("ts"))
        .where(
            AccessEvent.building_id == building_id,
            AccessEvent.decision == "granted",
            AccessEvent.person_id.is_not(None),
            AccessEvent.ts <= before,
        )
        .group_by(AccessEvent.person_id)
        .subquery()
    )
    rows = session.execute(
        select(AccessEvent.person_id, AccessEvent.direction, AccessEvent.ts).join(
            latest,
            and_(AccessEvent.person_id == latest.c.person_id, AccessEvent.ts == latest.c.ts),
        )
    )
    return {person: (direction, ts) for person, direction, ts in rows if person is not None}


def not_returned(
    session: Session, building_id: str, night_of: date, check_at: datetime | None = None
) -> list[NotReturned]:
    if check_at is None:
        check_at, _ = curfew_window(session, building_id, night_of)
    passages = _last_passages(session, building_id, check_at)
    residents = session.scalars(
        select(Person)
        .where(
            Person.home_building_id == building_id,
            Person.kind == "student",
            Person.status == "active",
        )
        .order_by(Person.id)
    )
    report = []
    for person in residents:
        direction, ts = passages.get(person.id, (None, None))
        if direction != "entry":
            report.append(
                NotReturned(
                    person_id=person.id,
                    building_id=building_id,
                    room_id=person.room_id,
                    last_passage_at=ts,
                )
            )
    return report


def not_seen(
    session: Session, days: int, now: datetime, building_id: str | None = None
) -> list[NotSeen]:
    cutoff = now - timedelta(days=days)
    last_seen = (
        select(AccessEvent.person_id, func.max(AccessEvent.ts).label("ts"))
        .where(AccessEvent.person_id.is_not(None))
        .group_by(AccessEvent.person_id)
        .subquery()
    )
    query = (
        select(Person.id, Person.home_building_id, last_seen.c.ts)
        .outerjoin(last_seen, last_seen.c.person_id == Person.id)
        .where(Person.kind == "student", Person.status == "active")
        .order_by(Person.id)
    )
    if building_id is not None:
        query = query.where(Person.home_building_id == building_id)
    return [
        NotSeen(person_id=person, home_building_id=home, last_seen_at=ts)
        for person, home, ts in session.execute(query)
        if ts is None or ts < cutoff
    ]


def duty_attendance(
    session: Session, since: datetime, until: datetime, building_id: str | None = None
) -> list[DutyAttendance]:
    shifts_query = select(DutyShift).where(DutyShift.starts_at < until, DutyShift.ends_at > since)
    checks_query = select(DutyCheckRow).where(
        DutyCheckRow.ts >= since - CHECK_IN_GRACE, DutyCheckRow.ts < until
    )
    if building_id is not None:
        shifts_query = shifts_query.where(DutyShift.building_id == building_id)
        checks_query = checks_query.where(DutyCheckRow.building_id == building_id)
    shifts: dict[str, list[DutyShift]] = defaultdict(list)
    for shift in session.scalars(shifts_query):
        shifts[shift.person_id].append(shift)
    checks: dict[str, list[DutyCheckRow]] = defaultdict(list)
    for check in session.scalars(checks_query):
        checks[check.person_id].append(check)
    report = []
    for person in sorted(set(shifts) | set(checks)):
        own_checks = checks[person]
        checked_in = sum(
            1
            for shift in shifts[person]
            if any(
                c.action == "check_in"
                and c.building_id == shift.building_id
                and shift.starts_at - CHECK_IN_GRACE <= c.ts < shift.ends_at
                for c in own_checks
            )
        )
        rooms_per_day: dict[date, set[str]] = defaultdict(set)
        for c in own_checks:
            if c.action == "room_visit" and c.room_id is not None and c.ts >= since:
                rooms_per_day[c.ts.date()].add(c.room_id)
        days_on_duty = {
            (shift.starts_at + timedelta(days=n)).date()
            for shift in shifts[person]
            for n in range(max(1, (shift.ends_at - shift.starts_at).days))
        }
        report.append(
            DutyAttendance(
                person_id=person,
                shifts=len(shifts[person]),
                shifts_checked_in=checked_in,
                room_visits=sum(len(rooms) for rooms in rooms_per_day.values()),
                days_on_duty=len(days_on_duty),
                days_with_enough_visits=sum(
                    1 for rooms in rooms_per_day.values() if len(rooms) >= MIN_ROOM_VISITS_PER_DAY
                ),
            )
        )
    return report


def to_csv(rows: Sequence[BaseModel], columns: Iterable[str]) -> str:
    """The report as CSV with a header line (datetimes in ISO 8601)."""
    names = list(columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow(["" if data[n] is None else data[n] for n in names])
    return out.getvalue()
