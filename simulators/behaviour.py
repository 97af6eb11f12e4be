"""Behaviour by the hour: what every person does on one day, as timed stimuli.

A day's plan is drawn from a generator seeded with (seed, date), so the same
seed gives the same day. Stimuli are plain data; :mod:`simulators.runner`
turns them into what the hardware sees (a card at a reader, a QR code in a
camera frame, the door contact opening, the people-counter beam, a person
more in a room, a kettle switching on).

Weekdays: the morning exodus (wake at about 07:30, out within the hour),
30 % come back for lunch, classes in between, the evening return around
21:00 (σ 1.3 h), a few stragglers after curfew who are refused at the gate
and let in by the duty counselor with the exit button. Weekends: half go
out late in the morning and return in the evening, the others stay with a
meal trip. Counselors enter before their 08:00 shift and check in at the
kiosk, check out and leave when it ends. Rooms: occupancy follows who is in;
power is a base load per person, with kettles and hair dryers now and then.
Students on registered leave stay away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from simulators.campus import Campus
from simulators.population import Population, Student

Credential = Literal["card", "qr"]


@dataclass(frozen=True, slots=True)
class Stimulus:
    at: datetime


@dataclass(frozen=True, slots=True)
class GatePass(Stimulus):
    """Someone presents a credential at a gate and, if let in, walks through."""

    building: str
    direction: Literal["entry", "exit"]
    person: str
    credential: Credential
    #: people through the door on this opening (more than 1 is tailgating)
    walkers: int = 1
    #: seconds the door stays open
    open_s: float = 3.0
    #: a refused person waits, and the counselor opens with the exit button
    let_in_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class RoomMove(Stimulus):
    room: str
    delta: int


@dataclass(frozen=True, slots=True)
class Appliance(Stimulus):
    room: str
    power_w: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class DutyScan(Stimulus):
    building: str
    person: str
    checkin: bool


def _at(day: date, hours: float, campus: Campus) -> datetime:
    return datetime.combine(day, time(0), tzinfo=campus.tz) + timedelta(hours=hours)


def curfew_start(campus: Campus, building: str, day: date) -> datetime:
    start, _ = campus.building(building).curfew.window(day, campus.tz)
    return start


def _trip(
    out: list[Stimulus], s: Student, leave: datetime, back: datetime | None, cred: Credential
) -> None:
    out.append(RoomMove(leave - timedelta(minutes=2), s.room, -1))
    out.append(GatePass(leave, s.building, "exit", s.id, cred))
    if back is not None:
        out.append(GatePass(back, s.building, "entry", s.id, cred))
        out.append(RoomMove(back + timedelta(minutes=3), s.room, +1))


def student_day(
    s: Student, day: date, campus: Campus, rng: random.Random, *, late: bool
) -> list[Stimulus]:
    """One student's day; they start and end it in their room (``late``: after curfew)."""
    out: list[Stimulus] = []
    cred: Credential = "qr" if s.qr_user else "card"
    weekend = day.weekday() >= 5
    if weekend and not s.weekend_away:
        meal = _at(day, rng.uniform(11.5, 13.0), campus)
        _trip(out, s, meal, meal + timedelta(minutes=rng.uniform(30, 70)), cred)
    else:
        start_h = s.wake_h + (rng.uniform(2.0, 3.5) if weekend else rng.uniform(0.3, 0.9))
        leave = _at(day, start_h, campus)
        if not weekend and s.lunch_home:
            lunch = _at(day, rng.uniform(12.0, 12.4), campus)
            _trip(out, s, leave, lunch, cred)
            leave = lunch + timedelta(minutes=rng.uniform(50, 80))
        if late:
            back = curfew_start(campus, s.building, day) + timedelta(minutes=rng.uniform(5, 80))
            out.append(RoomMove(leave - timedelta(minutes=2), s.room, -1))
            out.append(GatePass(leave, s.building, "exit", s.id, cred))
            out.append(GatePass(back, s.building, "entry", s.id, cred, let_in_after_s=180.0))
            out.append(RoomMove(back + timedelta(minutes=6), s.room, +1))
        else:
            back_h = min(s.return_h + rng.gauss(0, 0.4), 22.8)
            _trip(out, s, leave, _at(day, max(back_h, start_h + 1.0), campus), cred)
    # A kettle or a hair dryer in the evening, now and then.
    if rng.random() < 0.08:
        out.append(
            Appliance(
                _at(day, rng.uniform(21.5, 22.9), campus),
                s.room,
                rng.choice((1200.0, 1800.0)),
                rng.uniform(120, 400),
            )
        )
    return out


def counselor_stimuli(population: Population, campus: Campus, day: date) -> list[Stimulus]:
    """Shift hand-over at 08:00: the new counselor comes in and checks in, the old one leaves."""
    out: list[Stimulus] = []
    for shift in population.shifts:
        if shift.starts_at.astimezone(campus.tz).date() == day:
            out.append(
                GatePass(
                    shift.starts_at - timedelta(minutes=12),
                    shift.building,
                    "entry",
                    shift.person,
                    "card",
                )
            )
            out.append(
                DutyScan(shift.starts_at - timedelta(minutes=5), shift.building, shift.person, True)
            )
        if shift.ends_at.astimezone(campus.tz).date() == day:
            out.append(
                DutyScan(shift.ends_at + timedelta(minutes=4), shift.building, shift.person, False)
            )
            out.append(
                GatePass(
                    shift.ends_at + timedelta(minutes=9),
                    shift.building,
                    "exit",
                    shift.person,
                    "card",
                )
            )
    return out


def booking_stimuli(population: Population, day: date, campus: Campus) -> list[Stimulus]:
    out: list[Stimulus] = []
    for booking in population.bookings:
        if booking.starts_at.astimezone(campus.tz).date() != day:
            continue
        for i in range(booking.people):
            out.append(RoomMove(booking.starts_at + timedelta(seconds=20 * i), booking.room, +1))
            out.append(RoomMove(booking.ends_at - timedelta(seconds=20 * i), booking.room, -1))
    return out


def day_plan(population: Population, campus: Campus, day: date, *, seed: int) -> list[Stimulus]:
    """Everything that happens on ``day`` (local date), in time order."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    out: list[Stimulus] = []
    for s in population.students:
        if s.on_leave:
            continue
        late = s.straggler and rng.random() < 0.3
        out.extend(student_day(s, day, campus, rng, late=late))
    out.extend(counselor_stimuli(population, campus, day))
    out.extend(booking_stimuli(population, day, campus))
    # A stable order: by time, then by a key that does not depend on object ids.
    out.sort(key=lambda st: (st.at, type(st).__name__, repr(st)))
    return out
