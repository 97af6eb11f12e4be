"""The campus and its people: seeded, consistent, and importable by the server."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from protocol.ids import is_valid_id
from server.db import DutyShift, Person
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from server.seed import import_people, import_roster, seed_site
from simulators import campus as campus_mod
from simulators import population as population_mod
from simulators.campus import CampusError
from siteconfig import load_config_dir
from tests.simulators.helpers import TZ

MONDAY = date(2026, 3, 2)


def test_generated_campus_is_a_valid_site_with_every_room() -> None:
    campus = campus_mod.generate(3, 100)
    assert [b.id for b in campus.buildings] == ["b1", "b2", "b3"]
    assert sum(len(b.dorms) for b in campus.buildings) == 100
    assert all(len(b.activity) == 1 for b in campus.buildings)
    rooms = [r.id for b in campus.buildings for r in b.dorms]
    assert len(set(rooms)) == len(rooms)


def test_campus_from_firmware_config() -> None:
    from tests.edge.helpers import REPO

    campus = campus_mod.from_config_dir(REPO / "firmware-config")
    assert [b.id for b in campus.buildings] == ["b1", "b2"]
    assert campus.building("b1").dorms[0].id == "b1-r101"
    assert len(campus.building("b1").sensed_rooms) == 13  # 12 dorms, 1 activity room
    # Only what the directory configures (for a gateway that refuses unknown devices).
    configured = campus_mod.from_config_dir(REPO / "firmware-config", configured_sensors_only=True)
    b1 = campus_mod.only(configured, ["b1"]).buildings
    assert [b.id for b in b1] == ["b1"]
    assert [r.id for r in b1[0].sensed_rooms] == ["b1-r101", "b1-r201", "b1-r301"]
    assert len(b1[0].dorms) == 12  # students still live in every room


def test_too_many_students_are_refused() -> None:
    campus = campus_mod.generate(1, 2)
    with pytest.raises(CampusError, match="do not fit"):
        population_mod.generate(campus, 9, seed=1, start=MONDAY)


def test_same_seed_same_people_other_seed_other_people() -> None:
    campus = campus_mod.generate(2, 20)
    a = population_mod.generate(campus, 60, seed=5, start=MONDAY)
    b = population_mod.generate(campus, 60, seed=5, start=MONDAY)
    c = population_mod.generate(campus, 60, seed=6, start=MONDAY)
    assert a.people_csv() == b.people_csv()
    assert a.roster_csv() == b.roster_csv()
    assert a.people_csv() != c.people_csv()


def test_students_fill_rooms_within_capacity_with_pseudonymous_ids() -> None:
    campus = campus_mod.generate(2, 20)
    population = population_mod.generate(campus, 70, seed=1, start=MONDAY)
    per_room = Counter(s.room for s in population.students)
    capacity = {r.id: r.capacity for b in campus.buildings for r in b.dorms}
    assert all(per_room[room] <= capacity[room] for room in per_room)
    ids = [s.id for s in population.students] + [c.id for c in population.counselors]
    assert len(set(ids)) == len(ids)
    assert all(is_valid_id(i) and i.startswith("p-") for i in ids)
    cards = [s.card for s in population.students]
    assert len(set(cards)) == len(cards)


def test_every_hour_of_the_week_has_a_counselor_and_each_has_a_full_day() -> None:
    campus = campus_mod.generate(3, 30)
    population = population_mod.generate(campus, 60, seed=3, start=MONDAY, weeks=1)
    week = datetime.combine(MONDAY, datetime.min.time(), tzinfo=TZ)
    for b in campus.buildings:
        for hour in range(7 * 24):
            moment = week + timedelta(hours=hour, minutes=30)
            assert population.on_duty(b.id, moment) is not None, (b.id, moment)
        for counselor in population.counselors_in(b.id):
            shifts = [s for s in population.shifts if s.person == counselor.id]
            in_week = [s for s in shifts if week <= s.starts_at < week + timedelta(days=7)]
            assert any(s.ends_at - s.starts_at >= timedelta(days=1) for s in in_week)


def test_bookings_are_made_a_day_ahead_and_do_not_overlap() -> None:
    campus = campus_mod.generate(2, 20)
    population = population_mod.generate(campus, 60, seed=3, start=MONDAY)
    assert population.bookings
    by_room: dict[str, list[tuple[datetime, datetime]]] = {}
    for booking in population.bookings:
        assert booking.starts_at - booking.booked_at >= timedelta(days=1)
        by_room.setdefault(booking.room, []).append((booking.starts_at, booking.ends_at))
    for spans in by_room.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_a_few_students_are_on_leave() -> None:
    campus = campus_mod.generate(2, 500)
    population = population_mod.generate(campus, 2000, seed=3, start=MONDAY)
    away = sum(s.on_leave for s in population.students)
    assert 0 < away < 60


def test_the_server_imports_the_population(sqlite_url: str, tmp_path: Path) -> None:
    campus = campus_mod.generate(2, 10)
    config = load_config_dir(campus.write_config_dir(tmp_path / "config"))
    assert sorted(config.devices) == [
        "b1-gate-in",
        "b1-gate-out",
        "b1-kiosk",
        "b2-gate-in",
        "b2-gate-out",
        "b2-kiosk",
    ]
    population = population_mod.generate(campus, 30, seed=2, start=MONDAY)
    engine = make_engine(sqlite_url)
    upgrade_to_head(engine)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            seed_site(session, config)
            people = import_people(session, population.people_csv(), b"k" * 32)
            shifts = import_roster(session, population.roster_csv())
        with make_sessionmaker(engine)() as session:
            assert people == 30 + len(population.counselors)
            assert shifts == len(population.shifts)
            assert session.scalar(select(func.count()).select_from(Person)) == people
            assert session.scalar(select(func.count()).select_from(DutyShift)) == shifts
    finally:
        engine.dispose()
