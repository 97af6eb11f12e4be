"""Escalation on processing time: room → floor → building → campus, unless acknowledged."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rules.signals import Level
from server.alerts import AlertService, Change, EscalationPolicy
from server.alerts.escalation import Escalator
from server.alerts.queries import alert_with_history
from server.db import AlertRow
from tests.alerts.support import NOW0, ManualClock, Recorder, signal


def _only(sessions: sessionmaker[Session]) -> AlertRow:
    with sessions() as session:
        return session.scalars(select(AlertRow)).one()


def test_unacknowledged_alert_climbs_every_level_on_time(
    service: AlertService, sessions: sessionmaker[Session], clock: ManualClock, recorder: Recorder
) -> None:
    service.emit([signal()])
    clock.advance(minutes=4, seconds=59)
    assert service.escalate() == []
    clock.advance(seconds=1)  # 5 min at room level
    [step] = service.escalate()
    assert (step.level, step.start_level, step.escalated_at) == ("floor", "room", clock.now)
    assert service.escalate() == []  # the next step waits its own time
    clock.advance(minutes=9, seconds=59)
    assert service.escalate() == []
    clock.advance(seconds=1)  # 10 min at floor level
    assert [a.level for a in service.escalate()] == ["building"]
    clock.advance(minutes=15)
    assert [a.level for a in service.escalate()] == ["campus"]
    clock.advance(hours=5)
    assert service.escalate() == []  # campus is the top
    alert = _only(sessions)
    with sessions() as session:
        _, history = alert_with_history(session, alert.id, None)
    assert [(h.action, h.level, h.by) for h in history] == [
        ("opened", "room", "system"),
        ("escalated", "floor", "system"),
        ("escalated", "building", "system"),
        ("escalated", "campus", "system"),
    ]
    assert history[1].note == "not acknowledged within 5 min at room level"
    assert [h.at for h in history] == [
        NOW0,
        NOW0 + timedelta(minutes=5),
        NOW0 + timedelta(minutes=15),
        NOW0 + timedelta(minutes=30),
    ]
    assert [c for c, _ in recorder.changes()] == [Change.OPENED] + [Change.ESCALATED] * 3


def test_an_acknowledged_alert_stays_where_it_is(
    service: AlertService, sessions: sessionmaker[Session], clock: ManualClock
) -> None:
    service.emit([signal()])
    clock.advance(minutes=6)
    service.escalate()
    service.acknowledge(_only(sessions).id, "7", None, None)
    clock.advance(hours=2)
    assert service.escalate() == []
    assert _only(sessions).level == "floor"


def test_an_alert_starts_where_the_incident_lies_and_policy_is_configurable(
    sessions: sessionmaker[Session], clock: ManualClock
) -> None:
    policy = EscalationPolicy(
        room=timedelta(seconds=30), floor=timedelta(seconds=60), building=timedelta(seconds=90)
    )
    service = AlertService(sessions, clock=clock, policy=policy)
    service.emit([signal(rule="smoke", subject="room:b1-r101", level=Level.BUILDING)])
    clock.advance(seconds=89)
    assert service.escalate() == []
    clock.advance(seconds=1)
    [step] = service.escalate()
    assert (step.start_level, step.level) == ("building", "campus")


def test_two_workers_escalating_at_once_take_one_step(
    sessions: sessionmaker[Session], clock: ManualClock, recorder: Recorder
) -> None:
    one = AlertService(sessions, clock=clock, sinks=[recorder])
    other = AlertService(sessions, clock=clock, sinks=[recorder])
    one.emit([signal()])
    clock.advance(minutes=5)
    steps = one.escalate() + other.escalate()
    assert [a.level for a in steps] == ["floor"]
    assert _only(sessions).level == "floor"


def test_the_escalator_thread_runs_on_processing_time(
    sessions: sessionmaker[Session], clock: ManualClock
) -> None:
    service = AlertService(sessions, clock=clock)
    service.emit([signal()])
    clock.advance(minutes=5)
    escalator = Escalator(service, interval_s=0.02)
    escalator.start()
    try:
        deadline = time.monotonic() + 10
        while _only(sessions).level == "room":
            assert time.monotonic() < deadline, "the escalator never escalated"
            time.sleep(0.02)
    finally:
        escalator.stop()
    assert _only(sessions).level == "floor"
