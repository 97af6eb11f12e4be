"""Signals into the alert service: open, merge, clear, idempotency, invalid signals."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rules.signals import Severity
from server.alerts import AlertService, Change
from server.db import AlertHistoryRow, AlertRow
from tests.alerts.support import NOW0, T0, ManualClock, Recorder, clear, signal


def _alerts(sessions: sessionmaker[Session]) -> list[AlertRow]:
    with sessions() as session:
        return list(session.scalars(select(AlertRow).order_by(AlertRow.opened_at, AlertRow.id)))


def _history(sessions: sessionmaker[Session], alert_id: str) -> list[tuple[str, str, str | None]]:
    with sessions() as session:
        rows = session.scalars(
            select(AlertHistoryRow)
            .where(AlertHistoryRow.alert_id == alert_id)
            .order_by(AlertHistoryRow.id)
        )
        return [(h.action, h.by, h.note) for h in rows]


def test_a_raise_opens_an_alert_with_every_field(
    service: AlertService, sessions: sessionmaker[Session], recorder: Recorder
) -> None:
    service.emit(
        [
            signal(
                room="b1-r101",
                floor="1",
                delayed=True,
                params={"door": "main", "open_s": 31},
                evidence=("01JBQ8Z0X4T6Y5V3W2N1M0K9H8",),
            )
        ]
    )
    [alert] = _alerts(sessions)
    assert (alert.rule, alert.subject, alert.status) == (
        "door_held_open",
        "door:b1-gate-in/main",
        "open",
    )
    assert (alert.severity, alert.level, alert.start_level) == ("warning", "room", "room")
    assert (alert.building, alert.floor, alert.room) == ("b1", "1", "b1-r101")
    assert alert.first_seen == alert.last_seen == T0
    assert alert.opened_at == NOW0
    assert alert.count == 1
    assert alert.delayed is True
    assert alert.params == {"door": "main", "open_s": 31}
    assert _history(sessions, alert.id) == [("opened", "system", "door held open")]
    assert recorder.changes() == [(Change.OPENED, alert.id)]
    assert recorder.events[0].alert.model_dump(mode="json")["first_seen"] == "2026-09-01T22:00:00Z"


def test_a_persisting_condition_updates_the_open_alert(
    service: AlertService, sessions: sessionmaker[Session], recorder: Recorder
) -> None:
    service.emit([signal(at=T0 + timedelta(seconds=30 * i)) for i in range(4)])
    # A late signal (earlier event time) moves first_seen back, not last_seen.
    service.emit([signal(at=T0 - timedelta(seconds=10), severity=Severity.MAJOR)])
    [alert] = _alerts(sessions)
    assert alert.count == 5
    assert alert.first_seen == T0 - timedelta(seconds=10)
    assert alert.last_seen == T0 + timedelta(seconds=90)
    assert (alert.severity, alert.severity_rank) == ("major", 2)  # raised, never lowered
    service.emit([signal(at=T0 + timedelta(seconds=120), severity=Severity.INFO)])
    [alert] = _alerts(sessions)
    assert (alert.severity, alert.count) == ("major", 6)
    assert [c for c, _ in recorder.changes()] == [Change.OPENED] + [Change.UPDATED] * 5
    assert [a for a, _, _ in _history(sessions, alert.id)] == ["opened"]


def test_the_same_signal_twice_counts_once(
    service: AlertService, sessions: sessionmaker[Session], recorder: Recorder
) -> None:
    first = signal(evidence=("01JBQ8Z0X4T6Y5V3W2N1M0K9H8",))
    second = signal(at=T0 + timedelta(seconds=30), evidence=("01JBQ8Z0X4T6Y5V3W2N1M0K9H9",))
    service.emit([first, first, second])
    service.emit([second, first])
    [alert] = _alerts(sessions)
    assert alert.count == 2
    assert service.stats.get("signals_duplicate") == 3
    # Same event time, other evidence: a different signal.
    service.emit([signal(evidence=("01JBQ8Z0X4T6Y5V3W2N1M0K9HA",))])
    assert _alerts(sessions)[0].count == 3
    assert len(recorder.events) == 3


def test_a_clear_resolves_as_system_and_a_new_raise_opens_a_new_alert(
    service: AlertService, sessions: sessionmaker[Session], clock: ManualClock, recorder: Recorder
) -> None:
    service.emit([signal()])
    clock.advance(seconds=40)
    service.emit([clear()])
    [alert] = _alerts(sessions)
    assert (alert.status, alert.resolved_by, alert.resolved_at) == (
        "resolved",
        "system",
        NOW0 + timedelta(seconds=40),
    )
    assert _history(sessions, alert.id)[-1] == ("resolved", "system", "door closed")
    # The first signal again (a redelivery after the clear) does not reopen anything.
    service.emit([signal()])
    assert len(_alerts(sessions)) == 1
    # A new incident on the same door is a new alert.
    service.emit([signal(at=T0 + timedelta(minutes=5))])
    old, new = _alerts(sessions)
    assert old.id == alert.id
    assert old.status == "resolved"
    assert (new.status, new.count, new.first_seen) == ("open", 1, T0 + timedelta(minutes=5))
    assert [c for c, _ in recorder.changes()] == [Change.OPENED, Change.RESOLVED, Change.OPENED]


def test_clears_that_match_nothing_change_nothing(
    service: AlertService, sessions: sessionmaker[Session]
) -> None:
    service.emit([clear()])
    assert _alerts(sessions) == []
    assert service.stats.get("clears_without_alert") == 1
    service.emit([signal(at=T0)])
    service.emit([clear(at=T0 - timedelta(seconds=1))])  # older than the incident
    [alert] = _alerts(sessions)
    assert alert.status == "open"
    assert service.stats.get("clears_stale") == 1
    service.emit([clear(), clear()])
    [alert] = _alerts(sessions)
    assert alert.status == "resolved"
    assert service.stats.get("clears_without_alert") == 2


def test_an_invalid_signal_is_counted_and_the_others_are_kept(
    service: AlertService, sessions: sessionmaker[Session]
) -> None:
    naive = signal(subject="door:b1-gate-out/main", at=T0.replace(tzinfo=None))
    too_long = signal(subject="door:" + "x" * 200)
    bad_room = signal(subject="room:b1-r999", room="r" * 40)
    good = signal()
    service.emit([naive, too_long, bad_room, good])
    [alert] = _alerts(sessions)
    assert alert.subject == good.subject
    assert service.stats.get("signals_rejected") == 3
    assert service.stats.get("signals") == 1


def test_different_subjects_and_rules_are_different_alerts(
    service: AlertService, sessions: sessionmaker[Session]
) -> None:
    service.emit(
        [
            signal(),
            signal(subject="door:b1-gate-out/main"),
            signal(rule="door_forced"),
            signal(),
        ]
    )
    with sessions() as session:
        counts = {f"{a.subject}|{a.rule}": a.count for a in session.scalars(select(AlertRow))}
        assert session.scalar(select(func.count()).select_from(AlertRow)) == 3
    assert counts == {
        "door:b1-gate-in/main|door_held_open": 1,
        "door:b1-gate-out/main|door_held_open": 1,
        "door:b1-gate-in/main|door_forced": 1,
    }
