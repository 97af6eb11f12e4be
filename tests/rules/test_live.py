"""The engine as the server runs it (rules.live): file and site reloads, the event clock."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from protocol.ids import new_event_id
from protocol.messages import DoorEvent, DoorEventKind
from rules.live import LiveRules
from rules.sampleday import Day, sample_day
from server.db import DutyShift
from server.db.engine import make_engine, upgrade_to_head
from tests.rules.test_backtest import _store_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Day]]:
    db: SqlEngine = make_engine(f"sqlite:///{tmp_path / 'dorm.db'}")
    upgrade_to_head(db)
    day = sample_day(hours=1, rooms=4, seed=3)
    _store_site(db, day)
    try:
        yield sessionmaker(db), day
    finally:
        db.dispose()


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _write(path: Path, text: str, mtime: float) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_a_changed_rules_file_is_applied_and_a_bad_one_refused(
    site: tuple[sessionmaker[Session], Day], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sessions, _ = site
    rules_file = tmp_path / "rules.yaml"
    _write(rules_file, "rules:\n  door_held_open:\n    after_s: 45\n", 1_000)
    ticks = Ticks()
    live = LiveRules(sessions, rules_file=rules_file, reload_s=30, monotonic=ticks)
    assert live.engine.config.rules.door_held_open.after_s == 45
    now = datetime.now(UTC)

    _write(rules_file, "rules:\n  door_held_open:\n    after_s: 60\n", 2_000)
    live.advance(now)  # before the reload interval: nothing read yet
    assert live.engine.config.rules.door_held_open.after_s == 45
    ticks.now = 31
    live.advance(now)
    assert live.engine.config.rules.door_held_open.after_s == 60

    _write(rules_file, "rules:\n  door_held_open:\n    after_s: -5\n", 3_000)
    ticks.now = 62
    with caplog.at_level(logging.ERROR, logger="rules.live"):
        live.advance(now)
    assert live.engine.config.rules.door_held_open.after_s == 60, "the running rules stay"
    assert "rules.yaml:3" in caplog.text, "the error names the file and line"


def test_a_bad_rules_file_stops_the_start(
    site: tuple[sessionmaker[Session], Day], tmp_path: Path
) -> None:
    sessions, _ = site
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("rules:\n  no_such_rule: {}\n")
    with pytest.raises(ValueError, match=r"rules\.yaml:2"):
        LiveRules(sessions, rules_file=rules_file)


def test_a_new_duty_shift_reaches_the_running_engine(
    site: tuple[sessionmaker[Session], Day],
) -> None:
    sessions, day = site
    ticks = Ticks()
    live = LiveRules(sessions, reload_s=30, monotonic=ticks)
    before = len(live.engine.ctx.shifts)
    person = next(iter(day.ctx.persons))
    start = datetime(2030, 1, 1, 8, tzinfo=UTC)
    with sessions() as session, session.begin():
        session.add(
            DutyShift(
                building_id=day.building,
                person_id=person,
                starts_at=start,
                ends_at=start + timedelta(days=1),
            )
        )
    ticks.now = 31
    live.advance(datetime.now(UTC))
    assert len(live.engine.ctx.shifts) == before + 1


@pytest.mark.parametrize("event_clock", [True, False])
def test_the_event_clock_follows_live_event_time(
    site: tuple[sessionmaker[Session], Day], event_clock: bool
) -> None:
    """Accelerated simulation: event time far ahead of the wall fires timers only on
    the event clock; on the wall clock such events look like a device clock in the
    future and wait (that is what DORM_RULES_CLOCK=events is for)."""
    sessions, day = site
    live = LiveRules(sessions, event_clock=event_clock)
    gate = next(d.id for d in day.ctx.devices.values() if d.kind == "gate")
    ahead = datetime.now(UTC) + timedelta(days=3)
    held = live.engine.config.rules.door_held_open.after_s

    def door(seq: int, at: datetime, name: str) -> DoorEvent:
        return DoorEvent(
            id=new_event_id(), device=gate, seq=seq, ts=at, kind=DoorEventKind.OPENED, door=name
        )

    signals = live.observe([(day.building, door(1, ahead, "main"))])
    signals += live.observe([(day.building, door(2, ahead + timedelta(seconds=held + 60), "b"))])
    signals += live.advance(datetime.now(UTC))
    fired = [s for s in signals if s.rule == "door_held_open"]
    assert bool(fired) is event_clock, signals
