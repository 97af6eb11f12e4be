"""Telemetry, gate flows and device health to InfluxDB (or anything speaking its write API).

Points are formatted here as line protocol strings (influxdb-client's
``Point`` objects cost about three times as much per point) and handed to
influxdb-client's *batching* write API, which groups them (5,000 a batch by
default), writes in the background and retries. Tag values are building,
room and device ids and a kind — never a person: the contract restricts ids
to ``[a-z0-9-]``, so no tag value needs escaping.

A time-series outage never blocks SQL ingest: at most ``max_pending`` lines
may be in the client's hands at once; beyond that, lines are dropped and
counted. Rewriting a point (a duplicate delivery) stores the same value at
the same timestamp, so duplicates change nothing here either.
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
    ) -> None:
        self._bucket = bucket
        self._org = org
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._pending = 0
        self.written = 0
        self.dropped = 0
        self.failed = 0
        self._last_drop_log = 0.0
        self._client = InfluxDBClient(url=url, token=token, org=org)
        self._write_api = self._client.write_api(
            write_options=WriteOptions(
                batch_size=batch_size,
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

    def _settle(self, lines: int) -> None:
        with self._lock:
            self._pending -= lines

    def _on_success(self, conf: tuple[str, str, str], data: str | bytes) -> None:
        lines = _line_count(data)
        self._settle(lines)
        with self._lock:
            self.written += lines

    def _on_error(self, conf: tuple[str, str, str], data: str | bytes, error: Exception) -> None:
        lines = _line_count(data)
        self._settle(lines)
        with self._lock:
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
        """Hand lines to the batching writer, or drop (and count) them when too many wait."""
        with self._lock:
            if self._pending + len(lines) > self._max_pending:
                self.dropped += len(lines)
                drop = True
            else:
                self._pending += len(lines)
                drop = False
        if drop:
            now = time.monotonic()
            if now - self._last_drop_log >= 1.0:
                self._last_drop_log = now
                logger.warning("time-series backlog full: dropping lines (%d so far)", self.dropped)
            return
        self._write_api.write(
            bucket=self._bucket,
            org=self._org,
            record=list(lines),
            write_precision=cast(WritePrecision, WritePrecision.MS),
        )

    def close(self) -> None:
        """Flush what is pending and close the client."""
        self._write_api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
