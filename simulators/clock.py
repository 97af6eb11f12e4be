"""Simulated time: one discrete-event loop whose clock every simulated agent reads.

The loop is a :class:`edge.timers.ManualScheduler` (so it is the agents'
``Scheduler``: door unlock and held-open timers, sensor sampling, heartbeats
all run on it) that also paces itself against the wall clock: event time
runs ``speed`` times faster than wall time. ``speed=None`` runs as fast as
the machine can (tests, determinism checks).

Everything that touches the agents runs on the loop's one thread, in
(time, insertion) order, which is what makes a seeded run repeatable.
Messages arriving from MQTT threads are handed over with
:meth:`SimLoop.call_soon_threadsafe` and run between events, at the
simulated time that corresponds to the wall time they arrived.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from datetime import datetime, timedelta

from edge.timers import Callback, Handle, ManualScheduler

log = logging.getLogger(__name__)


class SimLoop(ManualScheduler):
    def __init__(self, start: datetime, speed: float | None = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulation start must be an aware datetime")
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive (or None: as fast as possible)")
        super().__init__(start_s=0.0)
        self.start = start
        self.speed = speed
        self.errors = 0
        self.events_run = 0
        self._handoff: queue.SimpleQueue[Callback] = queue.SimpleQueue()
        self._wall0 = time.monotonic()

    # -- the clock agents read -------------------------------------------------------

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())

    def elapsed_s(self) -> float:
        return self.monotonic()

    def call_at(self, at: datetime, callback: Callback) -> Handle:
        return self.call_later(max(0.0, (at - self.now()).total_seconds()), callback)

    def call_soon_threadsafe(self, callback: Callback) -> None:
        """From any thread: run ``callback`` on the loop as soon as it can."""
        self._handoff.put(callback)

    # -- running -----------------------------------------------------------------------

    def _run_one(self, callback: Callback) -> None:
        try:
            callback()
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            # One broken stimulus must not stop the campus; counted and logged.
            self.errors += 1
            log.error("simulation step %r failed: %s", callback, exc)
        self.events_run += 1

    def drain(self) -> None:
        """Run what other threads handed over (before the loop runs, e.g. allowlists)."""
        self._drain_handoff()

    def _drain_handoff(self) -> None:
        while True:
            try:
                callback = self._handoff.get_nowait()
            except queue.Empty:
                return
            self._run_one(callback)

    def _wall_target(self, due_s: float) -> float:
        assert self.speed is not None
        return self._wall0 + due_s / self.speed

    def run_until(self, end: datetime, stop: threading.Event | None = None) -> None:
        """Run every event due before ``end`` (paced by ``speed``), or until ``stop`` is set."""
        stop = stop or threading.Event()
        end_s = (end - self.start).total_seconds()
        if self.speed is not None:
            # Pacing starts now: a loop resumed later does not rush to catch up.
            self._wall0 = time.monotonic() - self.monotonic() / self.speed
        while not stop.is_set():
            self._drain_handoff()
            due_s = self._next_due_s()
            target_s = end_s if due_s is None else min(due_s, end_s)
            if self.speed is not None:
                wait_s = self._wall_target(target_s) - time.monotonic()
                if wait_s > 0:
                    self._wait(min(wait_s, 0.05), stop)
                    if time.monotonic() < self._wall_target(target_s):
                        # Not there yet: let the clock follow the wall meanwhile.
                        wall_s = (time.monotonic() - self._wall0) * self.speed
                        self._now_s = max(self._now_s, min(wall_s, target_s))
                        continue
            if due_s is None or due_s > end_s:
                self._now_s = max(self._now_s, end_s)
                self._drain_handoff()
                return
            self._pop_and_run()

    def _wait(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)

    def _next_due_s(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _pop_and_run(self) -> None:
        due_s, _, timer = heapq.heappop(self._heap)
        self._now_s = max(self._now_s, due_s)
        if not timer.cancelled:
            self._run_one(timer.callback)
