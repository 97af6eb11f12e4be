"""Behaviour by the hour: the shapes of a day, and the same day for the same seed."""

from __future__ import annotations

from collections import Counter
from datetime import date

from simulators import behaviour
from simulators import campus as campus_mod
from simulators import population as population_mod
from simulators.behaviour import DutyScan, GatePass, RoomMove
from simulators.population import Population

MONDAY = date(2026, 3, 2)
SATURDAY = date(2026, 3, 7)


def _world() -> tuple[campus_mod.Campus, Population]:
    campus = campus_mod.generate(2, 200)
    return campus, population_mod.generate(campus, 600, seed=11, start=MONDAY)


def _passes_by_hour(plan: list[behaviour.Stimulus], tz: object) -> Counter[tuple[int, str]]:
    return Counter(
        (s.at.astimezone(tz).hour, s.direction)  # type: ignore[arg-type]
        for s in plan
        if isinstance(s, GatePass)
    )


def test_same_seed_same_day() -> None:
    campus, population = _world()
    assert behaviour.day_plan(population, campus, MONDAY, seed=4) == behaviour.day_plan(
        population, campus, MONDAY, seed=4
    )
    assert behaviour.day_plan(population, campus, MONDAY, seed=4) != behaviour.day_plan(
        population, campus, MONDAY, seed=5
    )


def test_weekday_morning_exodus_and_evening_return() -> None:
    campus, population = _world()
    by_hour = _passes_by_hour(behaviour.day_plan(population, campus, MONDAY, seed=1), campus.tz)
    morning_out = sum(by_hour[(h, "exit")] for h in range(6, 10))
    morning_in = sum(by_hour[(h, "entry")] for h in range(6, 10))
    evening_in = sum(by_hour[(h, "entry")] for h in range(19, 24))
    evening_out = sum(by_hour[(h, "exit")] for h in range(19, 24))
    assert morning_out > 5 * max(morning_in, 1)
    assert evening_in > 5 * max(evening_out, 1)
    # Lunch: some come back around noon.
    assert by_hour[(12, "entry")] > 0


def test_weekend_mornings_are_quieter() -> None:
    campus, population = _world()
    weekday = _passes_by_hour(behaviour.day_plan(population, campus, MONDAY, seed=1), campus.tz)
    weekend = _passes_by_hour(behaviour.day_plan(population, campus, SATURDAY, seed=1), campus.tz)
    assert sum(weekend[(h, "exit")] for h in range(6, 9)) < sum(
        weekday[(h, "exit")] for h in range(6, 9)
    )


def test_stragglers_come_back_after_curfew_and_are_let_in() -> None:
    campus, population = _world()
    late = []
    for day in range(5):
        plan = behaviour.day_plan(population, campus, date(2026, 3, 2 + day), seed=1)
        late += [s for s in plan if isinstance(s, GatePass) and s.let_in_after_s is not None]
    assert late
    for s in late:
        start = behaviour.curfew_start(campus, s.building, s.at.astimezone(campus.tz).date())
        # The night's curfew began on this day or (after midnight) on the day before.
        assert s.at > start or s.at.astimezone(campus.tz).hour < 6


def test_students_on_leave_do_nothing_and_rooms_balance() -> None:
    campus, population = _world()
    plan = behaviour.day_plan(population, campus, MONDAY, seed=1)
    away = {s.id for s in population.students if s.on_leave}
    assert away
    assert not [s for s in plan if isinstance(s, GatePass) and s.person in away]
    moves: Counter[str] = Counter()
    for s in plan:
        if isinstance(s, RoomMove):
            moves[s.room] += s.delta
    assert all(total == 0 for total in moves.values())  # everyone back in the room at night


def test_counselors_check_in_and_out_at_handover() -> None:
    campus, population = _world()
    plan = behaviour.day_plan(population, campus, MONDAY, seed=1)
    scans = [s for s in plan if isinstance(s, DutyScan)]
    for b in campus.buildings:
        mine = [s for s in scans if s.building == b.id]
        assert sorted(s.checkin for s in mine) == [False, True]
        checkin = next(s for s in mine if s.checkin)
        assert checkin.at.astimezone(campus.tz).hour == 7
