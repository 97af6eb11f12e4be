"""`dorm rules backtest` against a real SQLite database written by the ingest.

The database is migrated with Alembic (0002 included), the site is stored
through the ORM, a recorded day goes in through ``server.ingest.BatchWriter``
and the command replays it. Its alerts must be the ones the engine raised
live on the same day (minus what is not stored, see rules.backtest).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session

from cli.main import main
from protocol.codec import family_of
from protocol.messages import DeviceEvent, encode
from protocol.topics import device_topic
from rules.backtest import NOT_BACKTESTABLE
from rules.config import default_config
from rules.context import load_context
from rules.engine import Engine
from rules.sampleday import Day, sample_day
from server.db import (
    Building,
    Campus,
    Curfew,
    Device,
    DutyShift,
    Floor,
    Leave,
    Person,
    Room,
    RoomBooking,
)
from server.db.engine import make_engine, upgrade_to_head
from server.ingest import BatchWriter, IngestStats
from tests.rules.helpers import ts_of


def _store_site(db: SqlEngine, day: Day) -> None:
    ctx = day.ctx
    with Session(db) as session, session.begin():
        session.add(Campus(id="c1", name="campus", timezone="UTC"))
        session.flush()
        for b in ctx.buildings.values():
            session.add(Building(id=b.id, campus_id="c1", name=b.id, gateway_id=b.gateway_id))
            session.flush()
            for weekday, curfew in b.curfews.items():
                session.add(
                    Curfew(
                        building_id=b.id,
                        weekday=weekday,
                        starts=f"{curfew.starts:%H:%M}",
                        ends=f"{curfew.ends:%H:%M}",
                    )
                )
        session.flush()
        floors = {}
        for level in sorted({int(r.floor or 0) for r in ctx.rooms.values()}):
            floor = Floor(building_id=day.building, level=level)
            session.add(floor)
            session.flush()
            floors[str(level)] = floor.id
        for r in ctx.rooms.values():
            session.add(
                Room(
                    id=r.id,
                    building_id=r.building,
                    floor_id=floors[r.floor or "0"],
                    number=r.id[-4:],
                    kind=r.kind,
                    capacity=r.capacity,
                    max_power_w=r.max_power_w,
                )
            )
        session.flush()
        for d in ctx.devices.values():
            session.add(Device(id=d.id, building_id=d.building, kind=d.kind, room_id=d.room))
        for p in ctx.persons.values():
            session.add(Person(id=p.id, kind=p.kind, home_building_id=p.home_building))
        session.flush()
        for s in ctx.shifts:
            session.add(
                DutyShift(
                    building_id=s.building,
                    person_id=s.person,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                )
            )


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[str, Day]]:
    url = f"sqlite:///{tmp_path / 'dorm.db'}"
    db = make_engine(url)
    upgrade_to_head(db)
    day = sample_day(hours=4, rooms=10, seed=11)
    _store_site(db, day)
    writer = BatchWriter(db, IngestStats())
    wire = []
    for building, message in day.messages:
        assert isinstance(message, DeviceEvent)
        wire.append((device_topic(building, message.device, family_of(message)), encode(message)))
    for i in range(0, len(wire), 1000):
        writer.write(wire[i : i + 1000])
    try:
        yield url, day
    finally:
        db.dispose()


def _key(d: dict[str, object]) -> tuple[object, ...]:
    return (d["rule"], d["subject"], d["kind"], d["event_time"])


def test_the_backtest_reproduces_the_live_run(
    recorded: tuple[str, Day], capsys: pytest.CaptureFixture[str]
) -> None:
    url, day = recorded
    start = ts_of(day.messages[0][1])
    end = start + timedelta(hours=4)
    db = make_engine(url)
    with Session(db) as session:
        ctx = load_context(session)
    db.dispose()
    live = Engine(ctx, default_config(), clock=lambda: end)
    signals = []
    for i in range(0, len(day.messages), 200):
        signals += live.observe(day.messages[i : i + 200])
    signals += live.advance_event_time(end)
    want = sorted(
        (s.rule, s.subject, s.kind.value, s.event_time.isoformat())
        for s in signals
        if s.rule not in NOT_BACKTESTABLE
    )
    assert len(want) >= len(day.incidents)

    code = main(
        [
            "rules",
            "backtest",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--database-url",
            url,
            "--json",
        ]
    )
    assert code == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(_key(d) for d in printed) == want
    planted = {
        (i.rule, i.subject, i.at.isoformat())
        for i in day.incidents
        if i.rule not in NOT_BACKTESTABLE
    }
    assert planted <= {(d["rule"], d["subject"], d["event_time"]) for d in printed}

    code = main(
        [
            "rules",
            "backtest",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--database-url",
            url,
        ]
    )
    table = capsys.readouterr().out
    assert code == 0
    assert "door_forced" in table
    assert "not backtestable" in table


def test_a_backtest_with_other_rules_and_a_narrow_window(
    recorded: tuple[str, Day], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, day = recorded
    start = ts_of(day.messages[0][1])
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  door_forced: {enabled: false}\n  smoke: {enabled: false}\n")
    code = main(
        [
            "rules",
            "backtest",
            "--from",
            start.isoformat(),
            "--to",
            (start + timedelta(hours=2)).isoformat(),
            "--database-url",
            url,
            "--rules",
            str(rules),
            "--json",
        ]
    )
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert not {"door_forced", "smoke"} & {d["rule"] for d in printed}
    assert all(d["event_time"] < (start + timedelta(hours=2)).isoformat() for d in printed)
    assert {d["rule"] for d in printed} >= {"door_held_open", "tailgating"}


def test_bad_rules_or_times_are_refused_with_the_reason(
    recorded: tuple[str, Day], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _day = recorded
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  smoke: {severity: loud}\n")
    code = main(
        [
            "rules",
            "backtest",
            "--from",
            "2026-11-23T00:00",
            "--to",
            "2026-11-24T00:00",
            "--database-url",
            url,
            "--rules",
            str(rules),
        ]
    )
    assert code == 1
    assert f"{rules}:2:" in capsys.readouterr().err
    code = main(
        ["rules", "backtest", "--from", "2026-11-24", "--to", "2026-11-23", "--database-url", url]
    )
    assert code == 2
    assert "--to must be after --from" in capsys.readouterr().err


def test_leaves_and_bookings_are_read_into_the_context(recorded: tuple[str, Day]) -> None:
    url, day = recorded
    db = make_engine(url)
    person = next(iter(day.ctx.persons))
    room = next(iter(day.ctx.rooms))
    when = datetime(2026, 11, 23, 12, tzinfo=UTC)
    with Session(db) as session, session.begin():
        session.add(
            Leave(person_id=person, starts_at=when, ends_at=when + timedelta(days=2), note="home")
        )
        session.add(
            RoomBooking(
                room_id=room,
                starts_at=when,
                ends_at=when + timedelta(hours=2),
                booked_by=person,
                purpose="club",
            )
        )
    with Session(db) as session:
        ctx = load_context(session)
    db.dispose()
    assert ctx.on_leave(person, when + timedelta(days=1))
    assert not ctx.on_leave(person, when - timedelta(seconds=1))
    assert ctx.booked(room, when + timedelta(hours=1))
    assert ctx.rooms[room].floor is not None
    assert ctx.shifts
    assert ctx.buildings[day.building].curfews
