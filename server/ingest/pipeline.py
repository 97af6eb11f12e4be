"""The bounded hand-off from the MQTT thread to the batch-writer thread.

The MQTT callback only appends ``(topic, payload, ack token)`` to a bounded
deque (a full one is a counted, logged drop) and returns; one writer thread
takes up to ``batch_size`` messages or what arrived within
``batch_interval_s``, writes them in one transaction, and only then
acknowledges them to the broker (when the link acknowledges after storing).
So a crash loses nothing the broker delivered: what was not committed is
delivered again, and the writes are idempotent. A database outage is retried
with backoff; meanwhile the broker holds what is unacknowledged.

The hand-off is a ``collections.deque`` (its ``append`` and ``popleft`` are
atomic) rather than a ``queue.Queue``: the queue's lock and condition per
message, and a wake-up of the writer per message while it collected a batch,
cost the network thread several microseconds a message. The writer is woken
when the first message of a batch arrives and when a batch is full.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from server.ingest.stats import IngestStats
from server.ingest.writer import BatchWriter, Observer, TimeSeriesSink

logger = logging.getLogger(__name__)

#: ``(connection generation, message id)``, see server.mqttlink.
AckToken = tuple[int, int]
Acknowledger = Callable[[list[AckToken]], None]
Item = tuple[str, bytes, AckToken | None]

RETRY_MAX_DELAY_S: Final = 5.0
#: How long one wait for room in the queue lasts before checking for a stop.
QUEUE_WAIT_S: Final = 1.0
#: How long the idle writer sleeps between checks for a stop (and time-series flushes).
IDLE_WAIT_S: Final = 0.05


class IngestPipeline:
    """Queue + writer thread; :meth:`enqueue` is safe to call from a paho callback."""

    def __init__(
        self,
        engine: Engine,
        stats: IngestStats,
        *,
        sink: TimeSeriesSink | None = None,
        observer: Observer | None = None,
        queue_size: int = 100_000,
        batch_size: int = 1_000,
        batch_interval_s: float = 0.1,
        acknowledge: Acknowledger | None = None,
        backlog_batch_size: int | None = None,
    ) -> None:
        self.stats = stats
        #: Called with the tokens of each settled batch (set before messages arrive).
        self.acknowledge = acknowledge
        self._items: deque[Item] = deque()
        self._capacity = queue_size
        #: Set by enqueue when the writer has something to do (a first message, a full batch).
        self._arrived = threading.Event()
        #: Notified by the writer after it took messages (for an enqueue waiting for room).
        self._room = threading.Condition()
        self._writer = BatchWriter(engine, stats, sink, observer)
        self._batch_size = batch_size
        #: Batch size while more than two batches wait (see _next_batch).
        self._backlog_batch_size = max(batch_size, backlog_batch_size or 4 * batch_size)
        self._batch_interval_s = batch_interval_s
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_drop_log = 0.0

    @property
    def queue_depth(self) -> int:
        return len(self._items)

    def enqueue(self, topic: str, payload: bytes, token: AckToken | None = None) -> None:
        """Hand one message over; what happens when the queue is full depends on ``token``.

        Without a token (the broker connection acknowledged on receipt) a full
        queue drops the message, counts it and logs: the network thread never
        waits. With a token (acknowledgement after storing, the default) the
        message is not acknowledged yet, and dropping it would strand it in the
        broker until the next reconnect; so the network thread waits for room.
        That is the one wait in a callback, on purpose: it pauses reading the
        socket, and the broker holds the rest. It happens when a broker sends a
        whole backlog at once — Mosquitto 2.0 does for messages queued while the
        client was offline, whatever its Receive Maximum — and the queue drains
        at the writer's speed.
        """
        items = self._items
        if len(items) >= self._capacity and (token is None or not self._wait_for_room()):
            self.stats.add_received(queued=False)
            self._log_full("dropping messages")
            return
        items.append((topic, payload, token))
        self.stats.add_received(queued=True)
        depth = len(items)
        if (depth == 1 or depth >= self._batch_size) and not self._arrived.is_set():
            self._arrived.set()

    def _wait_for_room(self) -> bool:
        with self._room:
            while len(self._items) >= self._capacity:
                if self._stop.is_set():
                    return False
                if not self._room.wait(QUEUE_WAIT_S):
                    self._log_full("waiting for the writer")
        return True

    def _log_full(self, what: str) -> None:
        now = time.monotonic()
        if now - self._last_drop_log > 1.0:
            self._last_drop_log = now
            logger.warning("ingest queue full (%d): %s", self._capacity, what)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the ingest pipeline is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then stop the writer thread."""
        if self._thread is None:
            return
        self._stop.set()
        self._arrived.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.error("ingest writer did not stop within %.1f s", timeout_s)
        self._thread = None

    def wait_idle(self, timeout_s: float) -> bool:
        """True once the queue is empty and no batch is being written (tests, benchmarks)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._items and not self._busy.is_set():
                return True
            time.sleep(0.01)
        return False

    def _wait_for(self, enough: Callable[[], bool], timeout_s: float) -> None:
        """Sleep until ``enough()`` or the timeout; enqueue sets the event when it may be."""
        self._arrived.clear()
        # Checked after clearing: what enqueue set before the clear is not missed.
        if not enough():
            self._arrived.wait(timeout_s)

    def _next_batch(self) -> list[Item]:
        items = self._items
        if not items:
            self._wait_for(lambda: bool(items) or self._stop.is_set(), IDLE_WAIT_S)
            if not items:
                return []
        self._busy.set()
        size = self._batch_size
        if len(items) < size and not self._stop.is_set():
            deadline = time.monotonic() + self._batch_interval_s
            while len(items) < size and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wait_for(lambda: len(items) >= size or self._stop.is_set(), remaining)
        if len(items) > 2 * size:
            # More waits than the in-flight window lets a broker send (live traffic
            # keeps at most two batches in flight): a backlog sent all at once, as
            # Mosquitto does with a persistent session's queue. Bigger transactions
            # then cost less per event (fewer commits, index pages written once).
            size = self._backlog_batch_size
        take = items.popleft
        batch = [take() for _ in range(min(len(items), size))]
        with self._room:
            self._room.notify_all()
        return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                self._busy.clear()
                if self._stop.is_set():
                    return
                self._writer.idle()
                continue
            if self._write_with_retry([(topic, payload) for topic, payload, _ in batch]):
                self._acknowledge_batch(batch)
            self._busy.clear()

    def _acknowledge_batch(self, batch: list[Item]) -> None:
        if self.acknowledge is not None:
            self.acknowledge([token for _, _, token in batch if token is not None])

    def _write_with_retry(self, batch: list[tuple[str, bytes]]) -> bool:
        """Write a batch; retry while the database is unavailable.

        True when the batch is settled (written, or refused for good by the
        database: counted, logged and acknowledged so the broker does not send
        it forever); False when stopping with it unwritten (not acknowledged, so
        a persistent session gets it again).
        """
        delay_s = 0.1
        while True:
            try:
                self._writer.write(batch)
                return True
            except DBAPIError as exc:
                self.stats.add_write_error()
                if not exc.connection_invalidated and not _is_transient(exc):
                    logger.error("batch of %d messages not written: %s", len(batch), exc)
                    return True
                logger.warning("database unavailable (%s); retrying in %.1f s", exc, delay_s)
            except SQLAlchemyError as exc:
                self.stats.add_write_error()
                logger.error("batch of %d messages not written: %s", len(batch), exc)
                return True
            if self._stop.is_set():
                logger.error("stopping with a batch of %d messages unwritten", len(batch))
                return False
            self._stop.wait(delay_s)
            delay_s = min(delay_s * 2, RETRY_MAX_DELAY_S)


def _is_transient(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)
