"""What the engine lends its rules: the site context, timers, the output, the clock."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rules.context import SiteContext
from rules.signals import AlertSignal
from rules.stream import Stream, TimerCallback, TimerQueue

logger = logging.getLogger(__name__)


class Env:
    def __init__(
        self,
        ctx: SiteContext,
        clock: Callable[[], datetime] | None,
        delayed_after_s: float,
    ) -> None:
        self.ctx = ctx
        self.clock = clock
        self.delayed_after_s = delayed_after_s
        self.out: list[AlertSignal] = []
        self.timers = TimerQueue()
        self.counters: Counter[str] = Counter()
        self._now_s: float | None = None

    def emit(self, signal: AlertSignal) -> None:
        self.out.append(signal)
        self.counters[f"signals.{signal.rule}.{signal.kind.value}"] += 1

    def schedule(
        self, stream: Stream, at_s: float, callback: TimerCallback, key: Any, token: Any = None
    ) -> None:
        self.timers.schedule(stream, at_s, callback, key, token)

    def now_s(self) -> float | None:
        """Processing time (the live edge), or None in a backtest (no clock)."""
        if self.clock is None:
            return None
        if self._now_s is None:
            self._now_s = self.clock().timestamp()
        return self._now_s

    def set_now(self, now_s: float | None) -> None:
        """The engine reads the clock once per call and caches it here."""
        self._now_s = now_s

    def is_delayed(self, incident_s: float, replayed: bool) -> bool:
        if replayed:
            return True
        now = self.now_s()
        return now is not None and now - incident_s > self.delayed_after_s
