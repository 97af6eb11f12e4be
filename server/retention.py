"""Retention: raw events and presence history are deleted after their window.

What goes, per table, once older than its window (by event time ``ts``):

- ``access_event`` (who passed which gate when): ``retention_access_events_days``
  (default 180);
- presence history: ``door_event``, ``passage_count``, ``duty_check`` and
  ``telemetry_sample`` (room occupancy): ``retention_presence_days``.

What stays: the anonymous per-minute rollups (``gate_flow_minute``,
``room_minute``), which carry counts per building or room and no person.
Before raw rows go, any of their minutes that has no rollup yet is rolled
up, so the aggregates survive the purge complete. Every purge that deleted
something is written to the audit trail (action ``purge``, role ``system``).

A worker thread runs the purge every ``retention_interval_s``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from server.audit.recorder import SYSTEM_ROLE, AuditRecord, record
from server.db import (
    AccessEvent,
    DoorEventRow,
    DutyCheckRow,
    GateFlowMinute,
    PassageCountRow,
    RoomMinute,
    TelemetrySample,
)
from server.rollups import minute_of, refresh_gate_minutes, refresh_room_minutes
from server.security import utcnow
from server.settings import Settings

log = logging.getLogger(__name__)

RawTable = (
    type[AccessEvent]
    | type[DoorEventRow]
    | type[PassageCountRow]
    | type[DutyCheckRow]
    | type[TelemetrySample]
)


@dataclass(frozen=True)
class RetentionPolicy:
    access_events: timedelta = timedelta(days=180)
    presence: timedelta = timedelta(days=180)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            access_events=timedelta(days=settings.retention_access_events_days),
            presence=timedelta(days=settings.retention_presence_days),
        )

    def windows(self) -> list[tuple[RawTable, timedelta]]:
        return [
            (AccessEvent, self.access_events),
            (DoorEventRow, self.presence),
            (PassageCountRow, self.presence),
            (DutyCheckRow, self.presence),
            (TelemetrySample, self.presence),
        ]


def _roll_up_before_purge(session: Session, table: RawTable, cutoff: datetime) -> int:
    """Roll up the minutes about to lose their raw rows that have no rollup yet."""
    if table is AccessEvent:
        gate_keys: set[tuple[str, datetime]] = set()
        for building, ts in session.execute(
            select(AccessEvent.building_id, AccessEvent.ts).where(AccessEvent.ts < cutoff)
        ):
            gate_keys.add((building, minute_of(ts)))
        have = {
            (building, minute)
            for building, minute in session.execute(
                select(GateFlowMinute.building_id, GateFlowMinute.minute).where(
                    GateFlowMinute.minute < cutoff
                )
            )
        }
        return refresh_gate_minutes(session, gate_keys - have) if gate_keys - have else 0
    if table is TelemetrySample:
        room_keys: set[tuple[str, str, datetime]] = set()
        for room, building, ts in session.execute(
            select(TelemetrySample.room_id, TelemetrySample.building_id, TelemetrySample.ts).where(
                TelemetrySample.ts < cutoff
            )
        ):
            room_keys.add((room, building, minute_of(ts)))
        rooms_have = {
            (room, building, minute)
            for room, building, minute in session.execute(
                select(RoomMinute.room_id, RoomMinute.building_id, RoomMinute.minute).where(
                    RoomMinute.minute < cutoff
                )
            )
        }
        missing = room_keys - rooms_have
        return refresh_room_minutes(session, missing) if missing else 0
    return 0


def _count(session: Session, query: Select[int]) -> int:
    return int(session.scalar(query) or 0)


def purge(session: Session, policy: RetentionPolicy, now: datetime | None = None) -> dict[str, int]:
    """Delete what is older than its window; return rows deleted per table (caller commits)."""
    now = now or utcnow()
    deleted: dict[str, int] = {}
    for table, window in policy.windows():
        cutoff = now - window
        expired = _count(session, select(func.count()).select_from(table).where(table.ts < cutoff))
        if not expired:
            continue
        rolled = _roll_up_before_purge(session, table, cutoff)
        session.execute(delete(table).where(table.ts < cutoff))
        name = table.__tablename__
        deleted[name] = expired
        record(
            session,
            AuditRecord(
                action="purge",
                resource=f"retention {name}",
                scope=f"retention policy: {window.days} days",
                actor_role=SYSTEM_ROLE,
                detail=(
                    f"deleted {expired} rows with ts before {cutoff.isoformat()}; "
                    f"{rolled} missing minute rollups written first"
                ),
            ),
            at=now,
        )
        log.info("retention: deleted %d %s rows older than %s", expired, name, cutoff)
    return deleted


class RetentionWorker:
    """Runs :func:`purge` every ``interval_s`` in its own thread."""

    def __init__(
        self, sessions: sessionmaker[Session], policy: RetentionPolicy, interval_s: float
    ) -> None:
        self._sessions = sessions
        self.policy = policy
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.failures = 0

    def run_once(self) -> dict[str, int]:
        try:
            with self._sessions() as session, session.begin():
                deleted = purge(session, self.policy)
        except SQLAlchemyError as exc:
            self.failures += 1
            log.error("retention purge failed (retried next round): %s", exc)
            return {}
        self.runs += 1
        return deleted

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.run_once()
        while not self._stop.wait(self.interval_s):
            self.run_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
