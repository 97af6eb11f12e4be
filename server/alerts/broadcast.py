"""In-process fan-out of alert changes to SSE subscribers, filtered by each viewer's scope.

Producers (ingest, escalation, API requests) run in threads; each subscriber
is an SSE response on the event loop. A subscriber has a bounded queue: when
it is full the subscriber is *dropped* (its stream ends, the client
reconnects and starts again from a snapshot), counted and logged — a slow
client never makes a producer wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Set

from server.alerts.events import AlertEvent
from server.alerts.levels import can_see
from server.alerts.stats import AlertStats

logger = logging.getLogger(__name__)


class Subscription:
    """One viewer's stream: a bounded queue, woken on the viewer's event loop."""

    def __init__(
        self, scope: Set[str] | None, loop: asyncio.AbstractEventLoop, max_queue: int
    ) -> None:
        self.scope = scope
        self._loop = loop
        self._queue: queue.Queue[AlertEvent] = queue.Queue(maxsize=max_queue)
        self._wakeup = asyncio.Event()
        self.dropped = False

    def sees(self, event: AlertEvent) -> bool:
        return can_see(self.scope, event.alert.building, event.alert.level)

    def offer(self, event: AlertEvent) -> bool:
        """Queue ``event`` without waiting; False when the queue is full or the loop gone."""
        try:
            self._queue.put_nowait(event)
            self._loop.call_soon_threadsafe(self._wakeup.set)
        except (queue.Full, RuntimeError):
            return False
        return True

    def drop(self) -> None:
        self.dropped = True
        # A closed loop raises RuntimeError: nobody is waiting then.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def _drain(self) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events

    async def next_events(self, timeout_s: float) -> list[AlertEvent]:
        """What arrived, waiting up to ``timeout_s``; empty on a timeout (time for a keepalive)."""
        events = self._drain()
        if events or self.dropped:
            return events
        self._wakeup.clear()
        events = self._drain()
        if events:
            return events
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout_s)
        except TimeoutError:
            return []
        return self._drain()


class Broadcaster:
    """An :class:`~server.alerts.events.AlertEventSink` feeding every SSE subscriber."""

    def __init__(self, stats: AlertStats, max_queue: int = 1000) -> None:
        self._stats = stats
        self._max_queue = max_queue
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []

    def subscribe(self, scope: Set[str] | None) -> Subscription:
        """A new subscription on the running event loop."""
        subscription = Subscription(scope, asyncio.get_running_loop(), self._max_queue)
        with self._lock:
            self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def deliver(self, event: AlertEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            if not subscription.sees(event) or subscription.offer(event):
                continue
            self.unsubscribe(subscription)
            subscription.drop()
            self._stats.add("sse_dropped")
            logger.warning("SSE subscriber dropped: it fell %d events behind", self._max_queue)
