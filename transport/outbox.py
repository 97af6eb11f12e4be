"""A durable outbox: put, next batch, acknowledge.

Rows live in a SQLite database in WAL mode, so a message survives the
process being killed the moment ``put`` returns. A row is deleted only when
the broker acknowledged it (``ack``); until then it is handed out again after
a reconnect or a restart, so delivery is at-least-once and receivers
de-duplicate by ``(device, seq)``.

The outbox is bounded by ``max_rows``. Past ``warn_ratio`` of it,
``over_warning`` turns true so the owner can report it. When full, telemetry
is shed before events: putting an event evicts the oldest telemetry row, and
putting telemetry when only events remain, or an event when nothing can be
evicted, refuses the new message. Every shed or refused message is counted.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    topic    TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    priority INTEGER NOT NULL,
    retain   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_priority ON outbox (priority, id);
"""


class Priority(enum.IntEnum):
    """What to keep when the outbox is full: events outrank telemetry."""

    TELEMETRY = 0
    EVENT = 1


class OutboxError(OSError):
    """The outbox database cannot be used."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    topic: str
    payload: bytes
    priority: Priority
    retain: bool = False


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    max_rows: int
    shed_telemetry: int
    refused_telemetry: int
    refused_events: int

    @property
    def fill_ratio(self) -> float:
        return self.depth / self.max_rows


@dataclass(frozen=True, slots=True)
class Message:
    """What to put: a topic, its payload, how much it matters."""

    topic: str
    payload: bytes
    priority: Priority = Priority.EVENT
    retain: bool = False


class Outbox:
    """A bounded, durable FIFO of MQTT messages. Thread-safe."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 100_000,
        warn_ratio: float = 0.9,
        synchronous: str = "NORMAL",
        extra_schema: str = "",
    ) -> None:
        """Open (or create) the outbox at ``path``.

        ``extra_schema`` is SQL run at open, for owners that keep state of their
        own in the same file and write it in the same transactions as the
        messages (see ``put_many(..., same_transaction=...)``).
        """
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.path = path
        self.max_rows = max_rows
        self.warn_ratio = warn_ratio
        self._lock = threading.Lock()
        self.shed_telemetry = 0
        self.refused_telemetry = 0
        self.refused_events = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives the process being killed; FULL also
            # survives power loss, at the cost of an fsync per transaction.
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA + extra_schema)
            self._depth = self._count()
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc}") from exc

    # -- writing ---------------------------------------------------------------

    def put(self, message: Message) -> bool:
        """Store one message durably; False if it was refused because the outbox is full."""
        return self.put_many([message]) == 1

    def put_many(
        self,
        messages: Sequence[Message],
        *,
        same_transaction: Callable[[sqlite3.Connection], object] | None = None,
    ) -> int:
        """Store messages in one transaction; returns how many were accepted.

        ``same_transaction``, if given, is called with the connection inside
        that transaction, so the owner's own rows commit (or roll back)
        together with the messages.
        """
        accepted = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for message in messages:
                    if self._make_room(message.priority):
                        self._db.execute(
                            "INSERT INTO outbox (topic, payload, priority, retain) "
                            "VALUES (?, ?, ?, ?)",
                            (message.topic, message.payload, int(message.priority), message.retain),
                        )
                        self._depth += 1
                        accepted += 1
                if same_transaction is not None:
                    same_transaction(self._db)
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._db.execute("ROLLBACK")
                self._depth = self._count()
                raise
        return accepted

    def _count(self) -> int:
        (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def _make_room(self, priority: Priority) -> bool:
        if self._depth < self.max_rows:
            return True
        if priority is Priority.EVENT:
            row = self._db.execute(
                "SELECT id FROM outbox WHERE priority = ? ORDER BY id LIMIT 1",
                (int(Priority.TELEMETRY),),
            ).fetchone()
            if row is not None:
                self._db.execute("DELETE FROM outbox WHERE id = ?", row)
                self._depth -= 1
                self.shed_telemetry += 1
                return True
            self.refused_events += 1
            log.error("outbox %s is full of events; an event was refused", self.path)
            return False
        self.refused_telemetry += 1
        return False

    # -- reading and acknowledging ----------------------------------------------

    def next_batch(self, limit: int, after_id: int = 0) -> list[OutboxRow]:
        """Up to ``limit`` rows with id greater than ``after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, priority, retain FROM outbox "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [OutboxRow(r[0], r[1], bytes(r[2]), Priority(r[3]), bool(r[4])) for r in rows]

    def ack(self, ids: Iterable[int]) -> None:
        """Delete acknowledged rows."""
        keys = [(i,) for i in ids]
        if not keys:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            before = self._db.total_changes
            self._db.executemany("DELETE FROM outbox WHERE id = ?", keys)
            self._depth -= self._db.total_changes - before
            self._db.execute("COMMIT")

    def read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query on the owner's own tables (see ``extra_schema``)."""
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    # -- state -------------------------------------------------------------------

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def over_warning(self) -> bool:
        return self._depth >= self.warn_ratio * self.max_rows

    def stats(self) -> OutboxStats:
        return OutboxStats(
            depth=self._depth,
            max_rows=self.max_rows,
            shed_telemetry=self.shed_telemetry,
            refused_telemetry=self.refused_telemetry,
            refused_events=self.refused_events,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
