"""Acknowledge, assign, resolve: who and when in history, illegal transitions refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rules.signals import Level
from server.alerts import AlertNotFoundError, AlertService, Change, IllegalTransitionError
from server.alerts.queries import alert_with_history
from server.db import AlertRow
from tests.alerts.support import NOW0, ManualClock, Recorder, signal


def _open(service: AlertService, sessions: sessionmaker[Session], **kw: object) -> str:
    raised = signal(**kw)  # type: ignore[arg-type]
    service.emit([raised])
    with sessions() as session:
        return session.scalars(
            select(AlertRow.id).where(
                AlertRow.rule == raised.rule,
                AlertRow.subject == raised.subject,
                AlertRow.status != "resolved",
            )
        ).one()


def test_acknowledge_assign_resolve_with_history(
    service: AlertService, sessions: sessionmaker[Session], clock: ManualClock, recorder: Recorder
) -> None:
    alert_id = _open(service, sessions)
    ack_at = clock.advance(minutes=2)
    acked = service.acknowledge(alert_id, "7", "on my way", frozenset({"b1"}))
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_at) == (
        "acknowledged",
        "7",
        ack_at,
    )
    assert acked.note == "on my way"
    clock.advance(minutes=1)
    assigned = service.assign(alert_id, "7", "9", None)
    assert (assigned.assignee, assigned.status) == ("9", "acknowledged")
    resolved_at = clock.advance(minutes=3)
    resolved = service.resolve(alert_id, "9", "door repaired", None)
    assert (resolved.status, resolved.resolved_by, resolved.resolved_at) == (
        "resolved",
        "9",
        resolved_at,
    )
    assert resolved.note == "door repaired"
    with sessions() as session:
        _, history = alert_with_history(session, alert_id, None)
    assert [(h.action, h.by, h.note, h.level) for h in history] == [
        ("opened", "system", "door held open", "room"),
        ("acknowledged", "7", "on my way", "room"),
        ("assigned", "7", "assigned to 9", "room"),
        ("resolved", "9", "door repaired", "room"),
    ]
    assert [h.at for h in history] == [
        NOW0,
        ack_at,
        ack_at.replace(minute=ack_at.minute + 1),
        resolved_at,
    ]
    assert [c for c, _ in recorder.changes()] == [
        Change.OPENED,
        Change.ACKNOWLEDGED,
        Change.ASSIGNED,
        Change.RESOLVED,
    ]


def test_illegal_transitions_are_refused_and_change_nothing(
    service: AlertService, sessions: sessionmaker[Session]
) -> None:
    alert_id = _open(service, sessions)
    service.acknowledge(alert_id, "7", None, None)
    with pytest.raises(
        IllegalTransitionError, match="cannot acknowledge an alert that is acknowledged"
    ):
        service.acknowledge(alert_id, "8", None, None)
    service.resolve(alert_id, "7", "fine", None)
    with pytest.raises(IllegalTransitionError, match="resolved"):
        service.resolve(alert_id, "7", "again", None)
    with pytest.raises(IllegalTransitionError):
        service.acknowledge(alert_id, "7", None, None)
    with pytest.raises(IllegalTransitionError):
        service.assign(alert_id, "7", "9", None)
    with sessions() as session:
        row, history = alert_with_history(session, alert_id, None)
    assert (row.acknowledged_by, row.resolved_by, row.note, row.assignee) == (
        "7",
        "7",
        "fine",
        None,
    )
    assert [h.action for h in history] == ["opened", "acknowledged", "resolved"]


def test_a_resolved_alert_cannot_be_acknowledged_after_the_condition_cleared(
    service: AlertService, sessions: sessionmaker[Session]
) -> None:
    alert_id = _open(service, sessions)
    service.resolve(alert_id, "7", "handled", None)
    with pytest.raises(IllegalTransitionError):
        service.acknowledge(alert_id, "7", None, None)


def test_scope_hides_other_buildings_but_not_campus_level(
    service: AlertService, sessions: sessionmaker[Session]
) -> None:
    b2 = _open(service, sessions, building="b2", subject="door:b2-gate-in/main")
    with pytest.raises(AlertNotFoundError):
        service.acknowledge(b2, "7", None, frozenset({"b1"}))
    with pytest.raises(AlertNotFoundError):
        service.acknowledge("01JBQ8Z0X4T6Y5V3W2N1M0K9H8", "7", None, None)
    campus = _open(
        service, sessions, building="b2", subject="building:b2", rule="smoke", level=Level.CAMPUS
    )
    assert service.acknowledge(campus, "7", None, frozenset({"b1"})).status == "acknowledged"
    assert service.acknowledge(b2, "7", None, frozenset({"b2"})).status == "acknowledged"
