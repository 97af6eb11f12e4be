"""Timers behind one small interface, so door timings can be tested without sleeping.

The door controller asks a :class:`Scheduler` for the time and for callbacks
later. On a Pi that is :class:`ThreadScheduler` (one thread, a heap of
deadlines); tests and benchmarks pass a :class:`ManualScheduler` and move its
clock forward by hand, so a 30-second held-open alarm takes no time at all.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

Callback = Callable[[], None]


class Handle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    def monotonic(self) -> float: ...

    def call_later(self, delay_s: float, callback: Callback) -> Handle: ...


class _Timer:
    __slots__ = ("callback", "cancelled", "due_s")

    def __init__(self, due_s: float, callback: Callback) -> None:
        self.due_s = due_s
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """A clock that moves only when told to; callbacks run inside :meth:`advance`."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self._now_s = start_s
        self._heap: list[tuple[float, int, _Timer]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now_s

    def call_later(self, delay_s: float, callback: Callback) -> Handle:
        timer = _Timer(self._now_s + delay_s, callback)
        heapq.heappush(self._heap, (timer.due_s, next(self._order), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move the clock forward, running every callback that falls due, in order."""
        target = self._now_s + seconds
        while self._heap and self._heap[0][0] <= target:
            due_s, _, timer = heapq.heappop(self._heap)
            self._now_s = max(self._now_s, due_s)
            if not timer.cancelled:
                timer.callback()
        self._now_s = target

    @property
    def pending(self) -> int:
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)


class ThreadScheduler:
    """Runs callbacks on one background thread; a callback's errors are logged, not raised."""

    def __init__(self, name: str = "edge-timers") -> None:
        self._heap: list[tuple[float, int, _Timer]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.errors = 0

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(self, delay_s: float, callback: Callback) -> Handle:
        timer = _Timer(time.monotonic() + delay_s, callback)
        with self._cond:
            heapq.heappush(self._heap, (timer.due_s, next(self._order), timer))
            self._cond.notify()
        return timer

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(5.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    if self._heap and self._heap[0][0] <= time.monotonic():
                        break
                    wait_s = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait_s)
                if self._stopping:
                    return
                _, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            try:
                timer.callback()
            except (OSError, ValueError, RuntimeError) as exc:
                # Hardware or state errors in one timer must not stop the others.
                self.errors += 1
                log.error("timer callback %r failed: %s", timer.callback, exc)
