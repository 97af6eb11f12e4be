"""Counters of the ingest path, safe to update from the MQTT thread and the writer."""

from __future__ import annotations

import threading
from collections import Counter

from pydantic import BaseModel


class IngestStatsView(BaseModel):
    """What ``GET /api/v1/ingest/stats`` answers."""

    received: int
    stored: int
    duplicates: int
    ignored: int
    rejected: dict[str, int]
    queue_dropped: int
    queue_depth: int
    batches: int
    write_errors: int
    timeseries_dropped: int


class IngestStats:
    """Monotonic counters; every loss or refusal is counted here and logged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.stored = 0
        self.duplicates = 0
        #: downlink messages seen on the subscription (commands, allowlists): not ingested.
        self.ignored = 0
        self.rejected: Counter[str] = Counter()
        self.queue_dropped = 0
        self.batches = 0
        self.write_errors = 0

    def add_received(self, queued: bool) -> None:
        with self._lock:
            self.received += 1
            if not queued:
                self.queue_dropped += 1

    def add_batch(
        self, *, stored: int, duplicates: int, ignored: int, rejected: Counter[str]
    ) -> None:
        with self._lock:
            self.batches += 1
            self.stored += stored
            self.duplicates += duplicates
            self.ignored += ignored
            self.rejected.update(rejected)

    def add_write_error(self) -> None:
        with self._lock:
            self.write_errors += 1

    def view(self, *, queue_depth: int, timeseries_dropped: int) -> IngestStatsView:
        with self._lock:
            return IngestStatsView(
                received=self.received,
                stored=self.stored,
                duplicates=self.duplicates,
                ignored=self.ignored,
                rejected=dict(self.rejected),
                queue_dropped=self.queue_dropped,
                queue_depth=queue_depth,
                batches=self.batches,
                write_errors=self.write_errors,
                timeseries_dropped=timeseries_dropped,
            )
