"""Per-minute rollups for the dashboard's charts: gate flows per building, and
occupancy and power per room.

Ingest marks the minutes each batch touched (by event time, so a backlog
replayed after an outage lands in the right minutes); a worker thread
recomputes those minutes from the stored events every few seconds (the
database groups and counts; Python only sees a few rows per minute). A
recomputation replaces the minute's row, so it is idempotent: duplicates,
late events and retries never double-count.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, DateTime, String, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from protocol.messages import AccessDecision, Message, RoomTelemetry
from server.db import AccessEvent, GateFlowMinute, RoomMinute, TelemetrySample

logger = logging.getLogger(__name__)

MINUTE: Final = timedelta(minutes=1)


def minute_of(moment: datetime) -> datetime:
    """The UTC minute an aware datetime falls in."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _from_epoch_minute(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


class DirtyMinutes:
    """The (building, minute) and (room, building, minute) keys to recompute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: set[tuple[str, datetime]] = set()
        self._rooms: set[tuple[str, str, datetime]] = set()

    def observe(self, items: Sequence[tuple[str, Message]]) -> None:
        """Mark the minutes of a written batch (called by ingest after each commit)."""
        # Keyed by epoch minute first: cheaper than a datetime per message.
        gate_keys: set[tuple[str, int]] = set()
        room_keys: set[tuple[str, str, int]] = set()
        for building, message in items:
            if isinstance(message, AccessDecision):
                gate_keys.add((building, int(message.ts.timestamp()) // 60))
            elif isinstance(message, RoomTelemetry):
                room_keys.add((message.room, building, int(message.ts.timestamp()) // 60))
        gates = {(b, _from_epoch_minute(m)) for b, m in gate_keys}
        rooms = {(r, b, _from_epoch_minute(m)) for r, b, m in room_keys}
        if gates or rooms:
            with self._lock:
                self._gates |= gates
                self._rooms |= rooms

    def take(self) -> tuple[set[tuple[str, datetime]], set[tuple[str, str, datetime]]]:
        with self._lock:
            gates, rooms = self._gates, self._rooms
            self._gates, self._rooms = set(), set()
        return gates, rooms

    def put_back(
        self, gates: set[tuple[str, datetime]], rooms: set[tuple[str, str, datetime]]
    ) -> None:
        with self._lock:
            self._gates |= gates
            self._rooms |= rooms


def _by_key(keys: Iterable[tuple[str, datetime]]) -> dict[str, list[datetime]]:
    grouped: dict[str, list[datetime]] = defaultdict(list)
    for key, minute in keys:
        grouped[key].append(minute)
    return grouped


def _minute_column(session: Session, ts: InstrumentedAttribute[datetime]) -> ColumnElement[Any]:
    """The UTC minute of ``ts``, computed by the database (so it can group by it).

    SQLite stores datetimes as naive UTC text (``YYYY-MM-DD HH:MM:SS.ffffff``):
    the minute is its first 16 characters. PostgreSQL truncates the UTC time.
    """
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(ts, 1, 16, type_=String())
    return func.date_trunc("minute", func.timezone("UTC", ts), type_=DateTime())


def _as_minute(value: str | datetime) -> datetime:
    """An aware UTC minute from what :func:`_minute_column` returned."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def refresh_gate_minutes(session: Session, keys: Iterable[tuple[str, datetime]]) -> int:
    """Recompute the gate flows of the given (building, minute) keys; return rows written.

    The database counts (grouped by minute, direction and decision), so a
    refresh costs a few rows per minute in Python, whatever the traffic.
    """
    written = 0
    for building, minutes in _by_key(keys).items():
        wanted = set(minutes)
        counts: dict[datetime, list[int]] = {m: [0, 0, 0] for m in wanted}
        minute = _minute_column(session, AccessEvent.ts)
        rows = session.execute(
            select(minute, AccessEvent.direction, AccessEvent.decision, func.count())
            .where(
                AccessEvent.building_id == building,
                AccessEvent.ts >= min(wanted),
                AccessEvent.ts < max(wanted) + MINUTE,
            )
            .group_by(minute, AccessEvent.direction, AccessEvent.decision)
        )
        for value, direction, decision, count in rows:
            slot = counts.get(_as_minute(value))
            if slot is None:
                continue
            if decision != "granted":
                slot[2] += count
            elif direction == "entry":
                slot[0] += count
            else:
                slot[1] += count
        session.execute(
            delete(GateFlowMinute).where(
                GateFlowMinute.building_id == building, GateFlowMinute.minute.in_(wanted)
            )
        )
        session.add_all(
            GateFlowMinute(building_id=building, minute=m, entries=c[0], exits=c[1], denied=c[2])
            for m, c in counts.items()
        )
        written += len(counts)
    return written


def refresh_room_minutes(session: Session, keys: Iterable[tuple[str, str, datetime]]) -> int:
    """Recompute occupancy and power of the given (room, building, minute) keys."""
    by_building: dict[str, set[tuple[str, datetime]]] = defaultdict(set)
    for room, building, minute in keys:
        by_building[building].add((room, minute))
    written = 0
    for building, wanted in by_building.items():
        rooms = {room for room, _ in wanted}
        minutes = [minute for _, minute in wanted]
        minute_column = _minute_column(session, TelemetrySample.ts)
        rows = session.execute(
            select(
                TelemetrySample.room_id,
                minute_column,
                func.max(TelemetrySample.occupancy),
                func.avg(TelemetrySample.power_w),
                func.max(TelemetrySample.power_w),
                func.count(),
            )
            .where(
                TelemetrySample.building_id == building,
                TelemetrySample.room_id.in_(rooms),
                TelemetrySample.ts >= min(minutes),
                TelemetrySample.ts < max(minutes) + MINUTE,
            )
            .group_by(TelemetrySample.room_id, minute_column)
        )
        found = []
        for room, value, occupancy_max, power_avg, power_max, samples in rows:
            key = (room, _as_minute(value))
            if key in wanted:
                found.append((key, occupancy_max, power_avg, power_max, samples))
        for room in rooms:
            session.execute(
                delete(RoomMinute).where(
                    RoomMinute.room_id == room,
                    RoomMinute.minute.in_([m for r, m in wanted if r == room]),
                )
            )
        session.add_all(
            RoomMinute(
                room_id=room,
                minute=at,
                building_id=building,
                occupancy_max=occupancy_max,
                power_w_avg=float(power_avg),
                power_w_max=float(power_max),
                samples=samples,
            )
            for (room, at), occupancy_max, power_avg, power_max, samples in found
        )
        written += len(found)
    return written


def refresh(sessions: sessionmaker[Session], dirty: DirtyMinutes) -> int:
    """Recompute every marked minute in one transaction; re-mark them if it fails."""
    gates, rooms = dirty.take()
    if not gates and not rooms:
        return 0
    try:
        with sessions() as session, session.begin():
            return refresh_gate_minutes(session, gates) + refresh_room_minutes(session, rooms)
    except SQLAlchemyError as exc:
        logger.warning("rollup refresh failed (retried next round): %s", exc)
        dirty.put_back(gates, rooms)
        return 0


class RollupWorker:
    """A thread that refreshes the marked minutes every ``interval_s``."""

    def __init__(
        self, sessions: sessionmaker[Session], dirty: DirtyMinutes, interval_s: float = 5.0
    ) -> None:
        self._sessions = sessions
        self._dirty = dirty
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rollups", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            refresh(self._sessions, self._dirty)

    def stop(self) -> None:
        """Stop, after a last refresh of what is marked."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        refresh(self._sessions, self._dirty)
