"""The gateway's counters, and a logger that does not flood on a storm of junk."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CounterSnapshot:
    received: int = 0
    forwarded: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    dropped_queue_full: int = 0
    fire_releases: int = 0
    commands_relayed: int = 0
    commands_timed_out: int = 0
    allowlists_relayed: int = 0
    offline_reported: int = 0
    seq_resets: int = 0


class GatewayCounters:
    """Totals since start; incremented from several threads, so behind a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        if name not in CounterSnapshot.__dataclass_fields__ or name == "rejected":
            raise ValueError(f"unknown counter {name!r}")
        with self._lock:
            self._counts[name] += amount

    def reject(self, reason: str) -> None:
        with self._lock:
            self._rejected[reason] += 1

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            counts = dict(self._counts)
            rejected = dict(self._rejected)
        return CounterSnapshot(rejected=rejected, **counts)


class ThrottledLog:
    """Log at most ``per_interval`` lines per key per interval, then one summary.

    A device sending junk a thousand times a second must be visible in the log
    without drowning it; every message is still counted by the caller.
    """

    def __init__(
        self, logger: logging.Logger, per_interval: int = 10, interval_s: float = 10.0
    ) -> None:
        self._logger = logger
        self._per_interval = per_interval
        self._interval_s = interval_s
        self._window_start = time.monotonic()
        self._seen: Counter[str] = Counter()

    def warning(self, key: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._window_start >= self._interval_s:
            for name, count in self._seen.items():
                if count > self._per_interval:
                    self._logger.warning(
                        "%d more %s not logged in the last %.0f s",
                        count - self._per_interval,
                        name,
                        self._interval_s,
                    )
            self._seen.clear()
            self._window_start = now
        self._seen[key] += 1
        if self._seen[key] <= self._per_interval:
            self._logger.warning(msg, *args)
