"""Telemetry, gate flows and device health to InfluxDB (or anything speaking its write API).

Points are formatted here as line protocol strings (influxdb-client's
``Point`` objects cost about three times as much per point) and collected
into chunks of ``batch_size`` lines; each chunk is handed, as one record, to
influxdb-client's *batching* write API, which writes it in the background and
retries with backoff. Handing the client one line at a time cost about 20 µs a
line in its reactive pipeline (measured under the ingest benchmark); a chunk
costs that once. A partial chunk is handed over once its oldest line has
waited ``flush_interval_ms`` (checked on each offer and by :meth:`flush_due`,
which ingest calls when idle) and on :meth:`close`. Tag values are building,
room and device ids and a kind — never a person: the contract restricts ids
to ``[a-z0-9-]``, so no tag value needs escaping.

A time-series outage never blocks SQL ingest: at most ``max_pending`` lines
may wait (collected or in the client's hands) at once; beyond that, lines are
dropped and counted. Rewriting a point (a duplicate delivery) stores the same
value at the same timestamp, so duplicates change nothing here either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Self, cast

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import WriteOptions
from influxdb_client.domain.write_precision import WritePrecision

from protocol.messages import (
    AccessDecision,
    Decision,
    Heartbeat,
    Message,
    PassageCount,
    RoomTelemetry,
)

logger = logging.getLogger(__name__)


def _ms(message: AccessDecision | PassageCount | RoomTelemetry | Heartbeat) -> int:
    return int(message.ts.timestamp() * 1000)


def line_for(building: str, message: Message) -> str | None:
    """The line-protocol line of one message, or None if it has no time series."""
    if isinstance(message, RoomTelemetry):
        return (
            f"room,building={building},room={message.room},device={message.device}"
            f" occupancy={message.occupancy}i,power_w={float(message.power_w)!r}"
            f",temperature_c={float(message.temperature_c)!r},smoke={int(message.smoke)}i"
            f" {_ms(message)}"
        )
    if isinstance(message, AccessDecision):
        granted = int(message.decision is Decision.GRANTED)
        return (
            f"gate,building={building},device={message.device},kind={message.direction.value}"
            f" granted={granted}i,denied={1 - granted}i {_ms(message)}"
        )
    if isinstance(message, PassageCount):
        return (
            f"gate,building={building},device={message.device},kind={message.direction.value}"
            f" people={message.count}i {_ms(message)}"
        )
    if isinstance(message, Heartbeat):
        return (
            f"device,building={building},device={message.device},kind=heartbeat"
            f" outbox_depth={message.outbox_depth}i,clock_offset_ms={message.clock_offset_ms}i"
            f",uptime_s={float(message.uptime_s)!r} {_ms(message)}"
        )
    return None


def _line_count(data: str | bytes) -> int:
    if isinstance(data, bytes):
        return data.count(b"\n") + 1
    return data.count("\n") + 1


class TimeSeriesWriter:
    """Bounded, non-blocking hand-off of points to influxdb-client's batching writer."""

    def __init__(
        self,
        url: str,
        org: str,
        bucket: str,
        token: str,
        *,
        batch_size: int = 5_000,
        flush_interval_ms: int = 1_000,
        max_pending: int = 200_000,
        max_retries: int = 3,
        timeout_ms: int = 10_000,
    ) -> None:
        self._bucket = bucket
        self._org = org
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_ms / 1000
        self._max_pending = max_pending
        self._lock = threading.Lock()
        #: Lines collected for the next chunk, and when the first of them came.
        self._chunk: list[str] = []
        self._chunk_started = 0.0
        #: Lines collected or handed over and not yet settled (written or failed).
        self._pending = 0
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self._last_drop_log = 0.0
        self._client = InfluxDBClient(url=url, token=token, org=org, timeout=timeout_ms)
        self._write_api = self._client.write_api(
            write_options=WriteOptions(
                # Each record handed over is already a chunk of batch_size lines.
                batch_size=1,
                flush_interval=flush_interval_ms,
                retry_interval=1_000,
                max_retries=max_retries,
                max_retry_delay=10_000,
                max_retry_time=30_000,
                # Bounded shutdown: what cannot be written within this is counted as failed.
                max_close_wait=5_000,
            ),
            success_callback=self._on_success,
            error_callback=self._on_error,
        )
        self._closed = False
        #: Set at close once what was not written in time is counted as failed.
        self._settled = False

    def _on_success(self, conf: tuple[str, str, str], data: str | bytes) -> None:
        lines = _line_count(data)
        with self._lock:
            if self._settled:
                return
            self._pending -= lines
            self.written += lines

    def _on_error(self, conf: tuple[str, str, str], data: str | bytes, error: Exception) -> None:
        lines = _line_count(data)
        with self._lock:
            if self._settled:
                return
            self._pending -= lines
            self.failed += lines
        logger.error("time-series write of %d lines failed for good: %s", lines, error)

    @property
    def lost(self) -> int:
        """Lines dropped at the hand-off plus lines whose write failed after retries."""
        with self._lock:
            return self.dropped + self.failed

    def offer(self, items: Sequence[tuple[str, Message]]) -> None:
        """Write the time series of a batch of ``(building, message)`` (never blocks)."""
        lines = [line for building, m in items if (line := line_for(building, m)) is not None]
        if lines:
            self.offer_lines(lines)

    def offer_lines(self, lines: Sequence[str]) -> None:
        """Collect lines for the batching writer, or drop (and count) them when too many wait."""
        full: list[str] | None = None
        now = time.monotonic()
        with self._lock:
            if self._closed or self._pending + len(lines) > self._max_pending:
                self.dropped += len(lines)
                dropped = self.dropped
            else:
                dropped = 0
                self._pending += len(lines)
                if not self._chunk:
                    self._chunk_started = now
                self._chunk.extend(lines)
                if now - self._chunk_started >= self._flush_interval_s:
                    full, self._chunk = self._chunk, []
                elif len(self._chunk) >= self._batch_size:
                    # Whole chunks go now; the rest waits for more lines.
                    cut = len(self._chunk) - len(self._chunk) % self._batch_size
                    full, self._chunk = self._chunk[:cut], self._chunk[cut:]
                    if self._chunk:
                        self._chunk_started = now
        if dropped:
            if now - self._last_drop_log >= 1.0:
                self._last_drop_log = now
                logger.warning("time-series backlog full: dropping lines (%d so far)", dropped)
            return
        if full is not None:
            self._hand_over(full)

    def flush_due(self) -> None:
        """Hand over a partial chunk whose oldest line waited the flush interval (when idle)."""
        with self._lock:
            if not self._chunk or time.monotonic() - self._chunk_started < self._flush_interval_s:
                return
            chunk, self._chunk = self._chunk, []
        self._hand_over(chunk)

    def _hand_over(self, chunk: list[str]) -> None:
        # One record of many lines: the client writes it as one request (batch_size=1).
        for start in range(0, len(chunk), self._batch_size):
            self._write_api.write(
                bucket=self._bucket,
                org=self._org,
                record="\n".join(chunk[start : start + self._batch_size]),
                write_precision=cast(WritePrecision, WritePrecision.MS),
            )

    def close(self) -> None:
        """Hand over what is collected, wait (bounded) for the writes, close the client."""
        with self._lock:
            self._closed = True
            chunk, self._chunk = self._chunk, []
        if chunk:
            self._hand_over(chunk)
        self._write_api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
        with self._lock:
            # Handed over but neither written nor failed within the close wait: lost.
            if self._pending > 0:
                logger.error("%d time-series lines not written before closing", self._pending)
                self.failed += self._pending
                self._pending = 0
            self._settled = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
