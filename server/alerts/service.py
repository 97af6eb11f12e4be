"""The alert service: signals in, alerts with a lifecycle out, every change delivered.

* ``emit`` (a :class:`rules.signals.SignalSink`) opens an alert for a RAISE, or
  merges it into the open one of the same ``(rule, subject)``; a CLEAR resolves
  it as ``system``. A signal is merged once: its fingerprint (rule, subject,
  kind, event time, evidence ids) is stored in ``alert_signal``, and a repeat
  is ignored — the engine may send a signal again after a redelivery or a
  restart, and two workers may both decide it.
* Two workers racing on the same ``(rule, subject)`` meet at the unique
  partial index: ``INSERT … ON CONFLICT DO NOTHING``, and the loser merges
  into the winner's alert. Counts are bumped by ``UPDATE … SET count = count
  + 1``, so concurrent merges add up.
* Lifecycle (acknowledge, assign, resolve) and escalation are conditional
  updates (``WHERE status = …``): of two concurrent changes one wins, the
  other is an :class:`IllegalTransitionError`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import CursorResult, Executable, Table, case, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol.ids import new_event_id
from rules.signals import Action, AlertSignal, Level, Severity, SignalKind
from server.alerts.actions import FireRelease
from server.alerts.errors import (
    AlertConflictError,
    AlertNotFoundError,
    IllegalTransitionError,
    InvalidSignalError,
)
from server.alerts.events import AlertEvent, AlertEventSink, Change
from server.alerts.levels import can_see, next_level
from server.alerts.relay import PgRelay
from server.alerts.schemas import AlertOut
from server.alerts.stats import AlertStats
from server.db import AlertHistoryRow, AlertRow, AlertSignalRow
from server.db.alerts import NOT_RESOLVED
from server.security import utcnow

logger = logging.getLogger(__name__)

SYSTEM: Final = "system"
SEVERITY_RANK: Final = {
    Severity.INFO: 0,
    Severity.WARNING: 1,
    Severity.MAJOR: 2,
    Severity.CRITICAL: 3,
}
_MAX_RULE, _MAX_SUBJECT, _MAX_MESSAGE, _MAX_PLACE = 40, 120, 200, 32
#: Tries to open-or-find an alert when other workers keep opening and resolving it.
_OPEN_ATTEMPTS: Final = 3
# Core tables for the inserts: an ORM-enabled INSERT reports no row count on psycopg.
_ALERT_TABLE: Final = cast(Table, AlertRow.__table__)
_SIGNAL_TABLE: Final = cast(Table, AlertSignalRow.__table__)
_VERBS: Final = {
    Change.ACKNOWLEDGED: "acknowledge",
    Change.ASSIGNED: "assign",
    Change.RESOLVED: "resolve",
}


def _changed(session: Session, statement: Executable) -> int:
    """Rows an INSERT/UPDATE changed (what makes the conditional statements safe)."""
    # preserve_rowcount: SQLAlchemy keeps the count of an INSERT only when asked.
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
    assert isinstance(result, CursorResult)
    return result.rowcount


def fingerprint(signal: AlertSignal) -> str:
    """The de-duplication key of one signal (hex sha256)."""
    parts = [
        signal.rule,
        signal.subject,
        signal.kind.value,
        signal.event_time.isoformat(),
        *sorted(signal.evidence),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def validate_signal(signal: AlertSignal) -> None:
    """Raise :class:`InvalidSignalError` with the reason if ``signal`` cannot be stored."""
    if signal.event_time.tzinfo is None:
        raise InvalidSignalError("event_time is naive (an aware UTC time is required)")
    if not signal.rule or len(signal.rule) > _MAX_RULE:
        raise InvalidSignalError(f"rule id must be 1-{_MAX_RULE} characters")
    if not signal.subject or len(signal.subject) > _MAX_SUBJECT:
        raise InvalidSignalError(f"subject must be 1-{_MAX_SUBJECT} characters")
    for name, place in (
        ("building", signal.building),
        ("floor", signal.floor),
        ("room", signal.room),
    ):
        if place is not None and not 0 < len(place) <= _MAX_PLACE:
            raise InvalidSignalError(f"{name} must be 1-{_MAX_PLACE} characters")


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """How long an unacknowledged alert stays at each level before it is escalated."""

    room: timedelta = timedelta(minutes=5)
    floor: timedelta = timedelta(minutes=10)
    building: timedelta = timedelta(minutes=15)

    def timeout(self, level: Level) -> timedelta | None:
        """Time allowed at ``level``; None at campus (the top)."""
        return {Level.ROOM: self.room, Level.FLOOR: self.floor, Level.BUILDING: self.building}.get(
            level
        )


class AlertService:
    """Signals in; alert rows, history and delivered events out. Thread-safe."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        sinks: Sequence[AlertEventSink] = (),
        policy: EscalationPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        stats: AlertStats | None = None,
        relay: PgRelay | None = None,
    ) -> None:
        self._sessions = sessions
        #: Tells the other server processes about each change (PostgreSQL only).
        self.relay = relay
        self._sinks = list(sinks)
        self.policy = policy if policy is not None else EscalationPolicy()
        self._clock = clock
        self.stats = stats if stats is not None else AlertStats()
        self.fire_release = FireRelease(sessions, self.stats)
        bind = sessions.kw.get("bind")
        self._sqlite = bind is not None and bind.dialect.name == "sqlite"
        # SQLite has one writer: a read-then-write transaction that loses the race
        # fails at once (SQLITE_BUSY_SNAPSHOT) instead of waiting, so this
        # process's writes take turns. PostgreSQL needs no lock (see the module doc).
        self._write_lock = threading.Lock()

    def add_sink(self, sink: AlertEventSink) -> None:
        self._sinks.append(sink)

    # -- signals ---------------------------------------------------------------

    def emit(self, signals: Sequence[AlertSignal]) -> None:
        """Apply each signal in its own transaction; a bad or failing one is counted, skipped."""
        for signal in signals:
            try:
                validate_signal(signal)
            except InvalidSignalError as exc:
                self.stats.add("signals_rejected")
                logger.warning(
                    "signal %s/%s rejected: %s", signal.rule[:40], signal.subject[:120], exc
                )
                continue
            self.stats.add("signals")
            try:
                if signal.kind == SignalKind.RAISE:
                    self._raise(signal)
                else:
                    self._clear(signal)
            except (SQLAlchemyError, AlertConflictError) as exc:
                # This signal is lost (counted, logged); the next ones are still tried.
                self.stats.add("signals_failed")
                logger.error(
                    "signal %s %s for %s not applied: %s",
                    signal.kind.value,
                    signal.rule,
                    signal.subject,
                    exc,
                )

    def _raise(self, signal: AlertSignal) -> None:
        now = self._clock()
        key = fingerprint(signal)
        released_for: AlertRow | None = None
        with self._writing(), self._sessions() as session, session.begin():
            if session.get(AlertSignalRow, key) is not None:
                self.stats.add("signals_duplicate")
                return
            row, change = self._open_or_find(session, signal, now)
            if not self._record_signal(session, key, row.id, signal.event_time):
                self.stats.add("signals_duplicate")
                return
            if change == Change.OPENED:
                self._history(session, row, now, SYSTEM, "opened", signal.message or None)
            else:
                self._merge(session, row.id, signal)
            if Action.FIRE_RELEASE in signal.actions and self._claim_actions(session, row.id, now):
                self._history(session, row, now, SYSTEM, "fire_release", None)
                released_for = row
            out = self._finish(session, change, row.id)
        self.stats.add(f"alerts_{change.value}")
        if released_for is not None:
            self.fire_release.release(released_for.building, released_for.id)
        self._publish(AlertEvent(change, out))

    def _open_or_find(
        self, session: Session, signal: AlertSignal, now: datetime
    ) -> tuple[AlertRow, Change]:
        """The unresolved alert of the signal's key: a new one (OPENED) or the existing one."""
        for _ in range(_OPEN_ATTEMPTS):
            row = self._open_alert(session, signal.rule, signal.subject)
            if row is not None:
                return row, Change.UPDATED
            if self._insert_alert(session, signal, now):
                row = self._open_alert(session, signal.rule, signal.subject)
                if row is not None:
                    return row, Change.OPENED
            # Another worker opened it between our look and our insert (and, if it is
            # gone again, resolved it at once): look again.
            self.stats.add("open_conflicts")
        raise AlertConflictError(f"no unresolved alert for {signal.rule} {signal.subject}")

    def _clear(self, signal: AlertSignal) -> None:
        now = self._clock()
        with self._writing(), self._sessions() as session, session.begin():
            row = self._open_alert(session, signal.rule, signal.subject)
            if row is None:
                self.stats.add("clears_without_alert")
                return
            if signal.event_time < row.first_seen:
                # A clear older than the incident belongs to an earlier one.
                self.stats.add("clears_stale")
                return
            done = _changed(
                session,
                update(AlertRow)
                .where(AlertRow.id == row.id, AlertRow.status != "resolved")
                .values(status="resolved", resolved_by=SYSTEM, resolved_at=now),
            )
            if done != 1:
                return
            self._history(session, row, now, SYSTEM, "resolved", signal.message or "cleared")
            out = self._finish(session, Change.RESOLVED, row.id)
        self.stats.add("alerts_resolved")
        self._publish(AlertEvent(Change.RESOLVED, out))

    def _insert_alert(self, session: Session, signal: AlertSignal, now: datetime) -> bool:
        """Open an alert; False when one for ``(rule, subject)`` is open already."""
        insert = sqlite.insert if self._sqlite else postgresql.insert
        statement = (
            insert(_ALERT_TABLE)
            .values(
                id=new_event_id(),
                rule=signal.rule,
                subject=signal.subject,
                severity=signal.severity.value,
                severity_rank=SEVERITY_RANK[signal.severity],
                level=signal.level.value,
                start_level=signal.level.value,
                status="open",
                building=signal.building,
                floor=signal.floor,
                room=signal.room,
                first_seen=signal.event_time,
                last_seen=signal.event_time,
                count=1,
                delayed=signal.delayed,
                message=signal.message[:_MAX_MESSAGE],
                params=dict(signal.params),
                opened_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["rule", "subject"], index_where=text(NOT_RESOLVED)
            )
        )
        return _changed(session, statement) == 1

    def _merge(self, session: Session, alert_id: str, signal: AlertSignal) -> None:
        """One more signal for an open alert: count, seen times, severity, latest message."""
        rank = SEVERITY_RANK[signal.severity]
        session.execute(
            update(AlertRow)
            .where(AlertRow.id == alert_id)
            .values(
                count=AlertRow.count + 1,
                last_seen=case(
                    (AlertRow.last_seen < signal.event_time, signal.event_time),
                    else_=AlertRow.last_seen,
                ),
                first_seen=case(
                    (AlertRow.first_seen > signal.event_time, signal.event_time),
                    else_=AlertRow.first_seen,
                ),
                severity=case(
                    (AlertRow.severity_rank < rank, signal.severity.value),
                    else_=AlertRow.severity,
                ),
                severity_rank=case(
                    (AlertRow.severity_rank < rank, rank), else_=AlertRow.severity_rank
                ),
                message=signal.message[:_MAX_MESSAGE],
                params=dict(signal.params),
            )
        )

    def _record_signal(
        self, session: Session, key: str, alert_id: str, event_time: datetime
    ) -> bool:
        insert = sqlite.insert if self._sqlite else postgresql.insert
        statement = (
            insert(_SIGNAL_TABLE)
            .values(key=key, alert_id=alert_id, event_time=event_time)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        return _changed(session, statement) == 1

    def _claim_actions(self, session: Session, alert_id: str, now: datetime) -> bool:
        """True for the one caller that gets to carry out the alert's actions."""
        done = _changed(
            session,
            update(AlertRow)
            .where(AlertRow.id == alert_id, AlertRow.actions_done_at.is_(None))
            .values(actions_done_at=now),
        )
        return done == 1

    # -- people ----------------------------------------------------------------

    def acknowledge(
        self, alert_id: str, by: str, note: str | None, scope: frozenset[str] | None
    ) -> AlertOut:
        values: dict[str, object] = {
            "status": "acknowledged",
            "acknowledged_by": by,
            "acknowledged_at": self._clock(),
        }
        if note is not None:
            values["note"] = note
        return self._transition(alert_id, scope, by, note, Change.ACKNOWLEDGED, ("open",), values)

    def assign(
        self, alert_id: str, by: str, assignee: str, scope: frozenset[str] | None
    ) -> AlertOut:
        return self._transition(
            alert_id,
            scope,
            by,
            f"assigned to {assignee}",
            Change.ASSIGNED,
            ("open", "acknowledged"),
            {"assignee": assignee},
        )

    def resolve(self, alert_id: str, by: str, note: str, scope: frozenset[str] | None) -> AlertOut:
        values: dict[str, object] = {
            "status": "resolved",
            "resolved_by": by,
            "resolved_at": self._clock(),
            "note": note,
        }
        return self._transition(
            alert_id, scope, by, note, Change.RESOLVED, ("open", "acknowledged"), values
        )

    def _transition(
        self,
        alert_id: str,
        scope: frozenset[str] | None,
        by: str,
        note: str | None,
        change: Change,
        allowed_from: tuple[str, ...],
        values: dict[str, object],
    ) -> AlertOut:
        now = self._clock()
        with self._writing(), self._sessions() as session, session.begin():
            row = session.get(AlertRow, alert_id)
            if row is None or not can_see(scope, row.building, row.level):
                raise AlertNotFoundError(alert_id)
            done = _changed(
                session,
                update(AlertRow)
                .where(AlertRow.id == alert_id, AlertRow.status.in_(allowed_from))
                .values(**values),
            )
            if done != 1:
                raise IllegalTransitionError(
                    f"cannot {_VERBS[change]} an alert that is {row.status}"
                )
            self._history(session, row, now, by, change.value, note)
            out = self._finish(session, change, alert_id)
        self.stats.add(f"alerts_{change.value}")
        self._publish(AlertEvent(change, out))
        return out

    # -- escalation ------------------------------------------------------------

    def escalate(self, now: datetime | None = None) -> list[AlertOut]:
        """Take every step that is due at ``now`` (processing time); the escalated alerts."""
        now = now if now is not None else self._clock()
        escalated: list[AlertOut] = []
        with self._sessions() as session:
            candidates = list(
                session.scalars(
                    select(AlertRow).where(
                        AlertRow.status == "open", AlertRow.level != Level.CAMPUS.value
                    )
                )
            )
        for row in candidates:
            level = Level(row.level)
            timeout = self.policy.timeout(level)
            above = next_level(level)
            if timeout is None or above is None:
                continue
            since = row.escalated_at if row.escalated_at is not None else row.opened_at
            if now - since < timeout:
                continue
            out = self._step(row, above, now, timeout)
            if out is not None:
                escalated.append(out)
        return escalated

    def _step(
        self, row: AlertRow, above: Level, now: datetime, waited: timedelta
    ) -> AlertOut | None:
        with self._writing(), self._sessions() as session, session.begin():
            done = _changed(
                session,
                update(AlertRow)
                .where(
                    AlertRow.id == row.id, AlertRow.status == "open", AlertRow.level == row.level
                )
                .values(level=above.value, escalated_at=now),
            )
            if done != 1:
                return None  # acknowledged meanwhile, or another worker took the step
            minutes = waited.total_seconds() / 60
            note = f"not acknowledged within {minutes:g} min at {row.level} level"
            history = AlertHistoryRow(
                alert_id=row.id, at=now, by=SYSTEM, action="escalated", note=note, level=above.value
            )
            session.add(history)
            out = self._finish(session, Change.ESCALATED, row.id)
        self.stats.add("alerts_escalated")
        logger.info("alert %s escalated from %s to %s", row.id, row.level, above.value)
        self._publish(AlertEvent(Change.ESCALATED, out))
        return out

    # -- helpers ---------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._write_lock if self._sqlite else nullcontext():
            yield

    @staticmethod
    def _open_alert(session: Session, rule: str, subject: str) -> AlertRow | None:
        return session.scalars(
            select(AlertRow)
            .where(
                AlertRow.rule == rule, AlertRow.subject == subject, AlertRow.status != "resolved"
            )
            .execution_options(populate_existing=True)
        ).one_or_none()

    def _finish(self, session: Session, change: Change, alert_id: str) -> AlertOut:
        """The alert as it is now; other processes are told at commit (PostgreSQL)."""
        if self.relay is not None:
            self.relay.notify(session, change, alert_id)
        return self._reload(session, alert_id)

    def read(self, alert_id: str) -> AlertOut | None:
        """One alert as it is now (for another process's change, see relay)."""
        with self._sessions() as session:
            row = session.get(AlertRow, alert_id)
            return None if row is None else AlertOut.model_validate(row)

    @staticmethod
    def _reload(session: Session, alert_id: str) -> AlertOut:
        row = session.scalars(
            select(AlertRow)
            .where(AlertRow.id == alert_id)
            .execution_options(populate_existing=True)
        ).one()
        return AlertOut.model_validate(row)

    @staticmethod
    def _history(
        session: Session, row: AlertRow, at: datetime, by: str, action: str, note: str | None
    ) -> None:
        session.add(
            AlertHistoryRow(
                alert_id=row.id,
                at=at,
                by=by,
                action=action,
                note=None if note is None else note[:500],
                level=row.level,
            )
        )

    def _publish(self, event: AlertEvent) -> None:
        for sink in self._sinks:
            sink.deliver(event)
