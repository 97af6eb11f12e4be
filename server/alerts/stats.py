"""Counters of the alert service, its delivery and the engine hook (thread-safe)."""

from __future__ import annotations

import threading
from collections import Counter


class AlertStats:
    """Named counters: every loss, failure and rejection is counted here (and logged)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
