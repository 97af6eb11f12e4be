"""Per-minute rollups for the dashboard's charts: gate flows per building, and
occupancy and power per room.

Ingest marks the minutes each batch touched (by event time, so a backlog
replayed after an outage lands in the right minutes); a worker thread
recomputes those minutes from the stored events every few seconds. A
recomputation replaces the minute's row, so it is idempotent: duplicates,
late events and retries never double-count.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

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


def refresh_gate_minutes(session: Session, keys: Iterable[tuple[str, datetime]]) -> int:
    """Recompute the gate flows of the given (building, minute) keys; return rows written."""
    written = 0
    for building, minutes in _by_key(keys).items():
        wanted = set(minutes)
        counts: dict[datetime, list[int]] = {m: [0, 0, 0] for m in wanted}
        rows = session.execute(
            select(AccessEvent.ts, AccessEvent.direction, AccessEvent.decision).where(
                AccessEvent.building_id == building,
                AccessEvent.ts >= min(wanted),
                AccessEvent.ts < max(wanted) + MINUTE,
            )
        )
        for ts, direction, decision in rows:
            slot = counts.get(minute_of(ts))
            if slot is None:
                continue
            if decision != "granted":
                slot[2] += 1
            elif direction == "entry":
                slot[0] += 1
            else:
                slot[1] += 1
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
    buildings = {room: building for room, building, _ in keys}
    written = 0
    for room, minutes in _by_key((room, minute) for room, _, minute in keys).items():
        wanted = set(minutes)
        samples: dict[datetime, list[tuple[int, float]]] = defaultdict(list)
        rows = session.execute(
            select(TelemetrySample.ts, TelemetrySample.occupancy, TelemetrySample.power_w).where(
                TelemetrySample.room_id == room,
                TelemetrySample.ts >= min(wanted),
                TelemetrySample.ts < max(wanted) + MINUTE,
            )
        )
        for ts, occupancy, power_w in rows:
            minute = minute_of(ts)
            if minute in wanted:
                samples[minute].append((occupancy, power_w))
        session.execute(
            delete(RoomMinute).where(RoomMinute.room_id == room, RoomMinute.minute.in_(wanted))
        )
        for minute, values in samples.items():
            powers = [p for _, p in values]
            session.add(
                RoomMinute(
                    room_id=room,
                    minute=minute,
                    building_id=buildings[room],
                    occupancy_max=max(o for o, _ in values),
                    power_w_avg=sum(powers) / len(powers),
                    power_w_max=max(powers),
                    samples=len(values),
                )
            )
            written += 1
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
