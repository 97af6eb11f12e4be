"""Who lives on the simulated campus: students in rooms, counselors on duty, bookings, leave.

Everything follows from the seed: the same seed gives the same people, the
same rooms, the same roster. Person ids are pseudonymous (``p-`` and ten hex
digits); the made-up names and student numbers exist only in the people CSV
the server imports into its private table, never in anything published.

The duty roster: every building has :data:`COUNSELORS_PER_BUILDING`
counselors and one 24-hour shift a day, 08:00 to 08:00 local time, handed
round-robin, so every hour of the week has a counselor and each counselor has
at least one continuous day a week (the seed documents' "每周至少 1 次、每次至少连续 1 天").
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Final

from simulators.campus import Campus, CampusError

COUNSELORS_PER_BUILDING: Final = 4
SHIFT_START: Final = time(8, 0)
#: Share of students on registered leave (and at least one per building).
LEAVE_SHARE: Final = 0.01
PEOPLE_COLUMNS: Final = (
    "person_id",
    "kind",
    "full_name",
    "number",
    "home_building",
    "room",
    "access",
)
BOOKINGS_PER_DAY: Final = 2


@dataclass(frozen=True, slots=True)
class Student:
    id: str
    building: str
    room: str
    card: str
    #: habits, drawn once: hours are local time
    wake_h: float
    return_h: float
    lunch_home: bool
    weekend_away: bool
    straggler: bool
    qr_user: bool
    on_leave: bool


@dataclass(frozen=True, slots=True)
class Counselor:
    id: str
    building: str
    card: str


@dataclass(frozen=True, slots=True)
class Shift:
    building: str
    person: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Booking:
    room: str
    person: str
    starts_at: datetime
    ends_at: datetime
    booked_at: datetime
    people: int


@dataclass
class Population:
    seed: int
    students: list[Student] = field(default_factory=list)
    counselors: list[Counselor] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)

    def students_in(self, building: str) -> list[Student]:
        return [s for s in self.students if s.building == building]

    def counselors_in(self, building: str) -> list[Counselor]:
        return [c for c in self.counselors if c.building == building]

    def on_duty(self, building: str, moment: datetime) -> Shift | None:
        for shift in self.shifts:
            if shift.building == building and shift.starts_at <= moment < shift.ends_at:
                return shift
        return None

    def people_csv(self) -> str:
        """server.seed's people.csv: names and numbers are made up and stay on the server."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*PEOPLE_COLUMNS, "card_number"])
        for i, s in enumerate(self.students):
            writer.writerow(
                [
                    s.id,
                    "student",
                    f"Student {i:05d}",
                    f"S{i:06d}",
                    s.building,
                    s.room,
                    s.building,
                    s.card,
                ]
            )
        for i, c in enumerate(self.counselors):
            writer.writerow(
                (
                    c.id,
                    "staff",
                    f"Counselor {i:04d}",
                    f"T{i:05d}",
                    c.building,
                    "",
                    c.building,
                    c.card,
                )
            )
        return out.getvalue()

    def roster_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["building", "person_id", "starts_at", "ends_at"])
        for shift in self.shifts:
            writer.writerow(
                [
                    shift.building,
                    shift.person,
                    shift.starts_at.isoformat(),
                    shift.ends_at.isoformat(),
                ]
            )
        return out.getvalue()


class _Ids:
    """Unique pseudonymous ids and card numbers drawn from the seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def person(self) -> str:
        while True:
            candidate = f"p-{self.rng.getrandbits(40):010x}"
            if candidate not in self.seen:
                self.seen.add(candidate)
                return candidate

    def card(self) -> str:
        while True:
            candidate = f"C{self.rng.getrandbits(48):012X}"
            if candidate not in self.seen:
                self.seen.add(candidate)
                return candidate


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def generate(
    campus: Campus, students: int, *, seed: int, start: date, weeks: int = 1
) -> Population:
    """Fill the campus: ``students`` spread over the dorm rooms, counselors, roster, bookings.

    The roster and bookings cover ``weeks`` weeks from the Monday of ``start``.
    """
    beds = sum(r.capacity for b in campus.buildings for r in b.dorms)
    if students > beds:
        raise CampusError(f"{students} students do not fit in {beds} beds")
    rng = random.Random(seed)
    ids = _Ids(rng)
    population = Population(seed=seed)
    rooms = [r for b in campus.buildings for r in b.dorms]
    # Fill rooms round-robin across the campus so every building gets its share.
    for i in range(students):
        room = rooms[i % len(rooms)]
        population.students.append(
            Student(
                id=ids.person(),
                building=room.building,
                room=room.id,
                card=ids.card(),
                wake_h=min(10.5, max(6.0, rng.gauss(7.4, 0.6))),
                return_h=min(23.0, max(17.0, rng.gauss(21.0, 1.3))),
                lunch_home=rng.random() < 0.3,
                weekend_away=rng.random() < 0.5,
                straggler=rng.random() < 0.03,
                qr_user=rng.random() < 0.2,
                on_leave=rng.random() < LEAVE_SHARE,
            )
        )
    # At least one student per building is away on registered leave.
    for b in campus.buildings:
        members = [i for i, s in enumerate(population.students) if s.building == b.id]
        if members and not any(population.students[i].on_leave for i in members):
            first = members[0]
            population.students[first] = replace(population.students[first], on_leave=True)
    tz = campus.tz
    monday = week_start(start)
    for b in campus.buildings:
        team = [Counselor(ids.person(), b.id, ids.card()) for _ in range(COUNSELORS_PER_BUILDING)]
        population.counselors.extend(team)
        offset = rng.randrange(len(team))
        # One day further back: the shift running at 00:00 on Monday began on Sunday.
        for day in range(-1, 7 * weeks):
            starts = datetime.combine(monday + timedelta(days=day), SHIFT_START, tzinfo=tz)
            person = team[(day + offset) % len(team)]
            population.shifts.append(Shift(b.id, person.id, starts, starts + timedelta(days=1)))
        residents = [s for s in population.students if s.building == b.id]
        for room in b.activity:
            for day in range(7 * weeks):
                # Two-hour slots from 09:00, so bookings of one room never overlap.
                slots = rng.sample(range(9, 19, 2), BOOKINGS_PER_DAY) if residents else []
                for hour in sorted(slots):
                    starts = datetime.combine(monday + timedelta(days=day), time(hour), tzinfo=tz)
                    population.bookings.append(
                        Booking(
                            room=room.id,
                            person=rng.choice(residents).id,
                            starts_at=starts,
                            ends_at=starts + timedelta(hours=rng.choice((1, 2))),
                            booked_at=starts - timedelta(days=rng.randint(1, 5)),
                            people=rng.randint(4, min(room.capacity, 20)),
                        )
                    )
    population.bookings.sort(key=lambda bk: (bk.starts_at, bk.room))
    return population
