"""Decode a batch of MQTT messages and write it in one transaction, idempotently.

Event rows are inserted with ``ON CONFLICT (event_id) DO NOTHING``, so a
duplicate delivery changes nothing; device state and presence are updated
only by a *newer* event time, which is idempotent and order-insensitive too.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from sqlalchemy import Connection, Engine, Table, and_, bindparam, or_, update

from protocol.codec import decode
from protocol.errors import InvalidMessageError, RejectReason
from protocol.messages import (
    AccessDecision,
    CommandAck,
    Decision,
    DeviceEvent,
    DeviceState,
    DeviceStatus,
    Direction,
    DoorEvent,
    DutyCheck,
    Heartbeat,
    Message,
    PassageCount,
    RoomTelemetry,
)
from protocol.topics import Family, TopicError, parse_topic
from server.db import (
    AccessEvent,
    CommandAckRow,
    CommandRow,
    Device,
    DoorEventRow,
    DutyCheckRow,
    PassageCountRow,
    Presence,
    TelemetrySample,
)
from server.ingest import rows
from server.ingest.bulk import BulkStatement, dialect_insert, prepare_connection
from server.ingest.stats import IngestStats

logger = logging.getLogger(__name__)

#: Families the server publishes itself (or gateways send downward): not ingested.
DOWNLINK: Final = frozenset({Family.COMMAND, Family.ALLOWLIST_SNAPSHOT, Family.ALLOWLIST_DELTA})

_EVENT_TABLES: Final[dict[type[Message], Table]] = {
    AccessDecision: AccessEvent.__table__,  # type: ignore[dict-item]
    DoorEvent: DoorEventRow.__table__,  # type: ignore[dict-item]
    PassageCount: PassageCountRow.__table__,  # type: ignore[dict-item]
    DutyCheck: DutyCheckRow.__table__,  # type: ignore[dict-item]
    RoomTelemetry: TelemetrySample.__table__,  # type: ignore[dict-item]
    CommandAck: CommandAckRow.__table__,  # type: ignore[dict-item]
}
_ROW_MAKERS: Final[dict[type[Message], Callable[[str, Any], rows.Row]]] = {
    AccessDecision: rows.access_row,
    DoorEvent: rows.door_row,
    PassageCount: rows.passage_row,
    DutyCheck: rows.duty_row,
    RoomTelemetry: rows.telemetry_row,
    CommandAck: rows.ack_row,
}


#: Called after each commit with every valid message of the batch (rollups).
Observer = Callable[[Sequence[tuple[str, Message]]], None]


class TimeSeriesSink(Protocol):
    """Where valid telemetry, gate events and device health go after SQL (never blocks)."""

    def offer(self, items: Sequence[tuple[str, Message]]) -> None: ...

    def flush_due(self) -> None:
        """Pass on what waited long enough (called while ingest is idle)."""


@dataclass
class _Batch:
    """One batch, decoded and grouped by what it updates."""

    events: dict[Table, dict[str, rows.Row]] = field(default_factory=dict)
    heartbeats: dict[str, Heartbeat] = field(default_factory=dict)
    states: dict[str, DeviceState] = field(default_factory=dict)
    presence: dict[tuple[str, str], rows.Row] = field(default_factory=dict)
    acks: dict[str, CommandAck] = field(default_factory=dict)
    decoded: list[tuple[str, Message]] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    ignored: int = 0
    #: heartbeats and states: idempotent updates, each counted as stored.
    state_messages: int = 0
    #: event messages decoded, a repeat inside the batch included.
    event_messages: int = 0


class BatchWriter:
    """Applies batches of ``(topic, payload)`` to the database (one transaction each)."""

    def __init__(
        self,
        engine: Engine,
        stats: IngestStats,
        sink: TimeSeriesSink | None = None,
        observer: Observer | None = None,
    ) -> None:
        self._engine = engine
        self._stats = stats
        self._sink = sink
        self._observer = observer
        dialect = engine.dialect
        self._bulk = {
            table: BulkStatement.insert_or_ignore(table, dialect)
            for table in _EVENT_TABLES.values()
        }
        presence: Table = Presence.__table__  # type: ignore[assignment]
        upsert = dialect_insert(presence, dialect)
        upsert = upsert.on_conflict_do_update(
            index_elements=["person_id", "building_id"],
            set_={
                "state": upsert.excluded.state,
                "since": upsert.excluded.since,
                "event_id": upsert.excluded.event_id,
            },
            where=presence.c.since < upsert.excluded.since,
        )
        self._presence = BulkStatement.compile(upsert, presence, dialect)

    def decode_batch(self, messages: Sequence[tuple[str, bytes]]) -> _Batch:
        batch = _Batch()
        for topic_text, payload in messages:
            try:
                topic = parse_topic(topic_text)
            except TopicError as exc:
                batch.rejected[RejectReason.UNKNOWN_TOPIC.value] += 1
                logger.warning("rejected message on %r: unknown_topic: %s", topic_text, exc)
                continue
            if topic.family in DOWNLINK:
                batch.ignored += 1
                continue
            try:
                message = decode(topic, payload)
            except InvalidMessageError as exc:
                batch.rejected[exc.reason.value] += 1
                logger.warning("rejected message on %s: %s", topic_text, exc)
                continue
            self._collect(batch, topic.building, message)
        return batch

    def _collect(self, batch: _Batch, building: str, message: Message) -> None:
        batch.decoded.append((building, message))
        if isinstance(message, Heartbeat):
            batch.state_messages += 1
            seen = batch.heartbeats.get(message.device)
            if seen is None or message.ts > seen.ts:
                batch.heartbeats[message.device] = message
            return
        if isinstance(message, DeviceState):
            batch.state_messages += 1
            state = batch.states.get(message.device)
            if state is None or message.ts > state.ts:
                batch.states[message.device] = message
            return
        cls = type(message)
        table = _EVENT_TABLES.get(cls)
        if table is None:
            # Valid, but nothing the SQL domain stores (e.g. a gateway's health
            # report, which goes to the time series): counted, not an error.
            batch.ignored += 1
            return

        row = _ROW_MAKERS[cls](building, message)
        batch.events.setdefault(table, {})[row["event_id"]] = row
        batch.event_messages += 1
        if isinstance(message, CommandAck):
            batch.acks[message.command_id] = message
        elif (
            isinstance(message, AccessDecision)
            and message.decision is Decision.GRANTED
            and message.person is not None
        ):
            key = (message.person, building)
            known = batch.presence.get(key)
            if known is None or message.ts > known["since"]:
                batch.presence[key] = {
                    "person_id": message.person,
                    "building_id": building,
                    "state": "in" if message.direction is Direction.ENTRY else "out",
                    "since": message.ts,
                    "event_id": message.id,
                }

    def idle(self) -> None:
        """Called by the pipeline while no messages wait: let the sink flush."""
        if self._sink is not None:
            self._sink.flush_due()

    def write(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Decode, store and count one batch; raises the database's error if it fails."""
        batch = self.decode_batch(messages)
        with self._engine.begin() as conn:
            prepare_connection(conn)
            inserted, fresh = self._apply(conn, batch)
        self._stats.add_batch(
            stored=inserted + batch.state_messages,
            duplicates=batch.event_messages - inserted,
            ignored=batch.ignored,
            rejected=batch.rejected,
        )
        if self._observer is not None and batch.decoded:
            self._observer(batch.decoded)
        if self._sink is not None:
            # Only events new to the database, once each (a batch may hold the same
            # event twice): a time-series store that keeps repeated samples
            # (VictoriaMetrics without dedup) must not count a duplicate twice.
            points: list[tuple[str, Message]] = []
            for building, m in batch.decoded:
                if isinstance(m, Heartbeat):
                    points.append((building, m))
                elif isinstance(m, DeviceEvent) and m.id in fresh:
                    fresh.remove(m.id)
                    points.append((building, m))
            if points:
                self._sink.offer(points)

    def _apply(self, conn: Connection, batch: _Batch) -> tuple[int, set[str]]:
        """Write the batch: how many events were inserted, and the ids found new.

        The count comes from the database (exact even when another worker inserts
        the same event at the same moment); the ids are those not stored before
        this batch, which only that race could make include an event twice.
        """
        inserted = 0
        fresh: set[str] = set()
        for table, by_id in batch.events.items():
            bulk = self._bulk[table]
            if self._sink is None:
                # Nothing needs to know which ids were new: let the index decide.
                inserted += bulk.execute(conn, list(by_id.values()))
                continue
            existing = bulk.existing(conn, list(by_id))
            new_rows = [row for event_id, row in by_id.items() if event_id not in existing]
            inserted += bulk.execute(conn, new_rows)
            fresh.update(row["event_id"] for row in new_rows)
        if batch.presence:
            self._presence.execute(conn, list(batch.presence.values()))
        if batch.heartbeats:
            self._apply_heartbeats(conn, batch.heartbeats.values())
        if batch.states:
            self._apply_states(conn, batch.states.values())
        if batch.acks:
            self._apply_acks(conn, batch.acks.values())
        return inserted, fresh

    def _apply_heartbeats(self, conn: Connection, beats: Any) -> None:
        statement = (
            update(Device)
            .where(
                and_(
                    Device.id == bindparam("b_device"),
                    or_(Device.last_seen_at.is_(None), Device.last_seen_at < bindparam("b_ts")),
                )
            )
            .values(
                last_seen_at=bindparam("b_ts"),
                status=DeviceStatus.ONLINE.value,
                software_version=bindparam("b_sw"),
                config_version=bindparam("b_cfg"),
                allowlist_version=bindparam("b_al"),
                outbox_depth=bindparam("b_outbox"),
                clock_offset_ms=bindparam("b_clock"),
            )
        )
        params = [
            {
                "b_device": b.device,
                "b_ts": b.ts,
                "b_sw": b.software_version,
                "b_cfg": b.config_version,
                "b_al": b.allowlist_version,
                "b_outbox": b.outbox_depth,
                "b_clock": b.clock_offset_ms,
            }
            for b in beats
        ]
        conn.execute(statement, params)

    def _apply_states(self, conn: Connection, states: Any) -> None:
        statement = (
            update(Device)
            .where(
                and_(
                    Device.id == bindparam("b_device"),
                    or_(Device.last_seen_at.is_(None), Device.last_seen_at <= bindparam("b_ts")),
                )
            )
            .values(status=bindparam("b_status"), last_seen_at=bindparam("b_ts"))
        )
        params = [{"b_device": s.device, "b_status": s.status.value, "b_ts": s.ts} for s in states]
        conn.execute(statement, params)

    def _apply_acks(self, conn: Connection, acks: Any) -> None:
        statement = (
            update(CommandRow)
            .where(and_(CommandRow.id == bindparam("b_id"), CommandRow.status == "pending"))
            .values(
                status=bindparam("b_result"),
                acked_at=bindparam("b_ts"),
                ack_detail=bindparam("b_detail"),
            )
        )
        params = [
            {"b_id": a.command_id, "b_result": a.result.value, "b_ts": a.ts, "b_detail": a.detail}
            for a in acks
        ]
        conn.execute(statement, params)
