"""The webhook sink: alert changes POSTed as JSON to a URL, with retries and backoff.

One worker thread per URL with a bounded queue: ``deliver`` never waits (a
full queue drops the event, counted and logged). A delivery is retried on a
connection error, a timeout, 429 or 5xx, after ``backoff_s`` doubling up to
``backoff_max_s``, at most ``max_attempts`` times; then it is counted as
failed. Another 4xx is not retried (counted as rejected). Every attempt of a
delivery carries the same ``X-Dorm-Delivery`` id, so a receiver can drop a
repeat.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import httpx

from protocol.ids import new_event_id
from rules.signals import Level
from server.alerts.events import AlertEvent, Change
from server.alerts.levels import notified
from server.alerts.stats import AlertStats
from server.security import utcnow

logger = logging.getLogger(__name__)

#: Count bumps (``updated``) are not sent: a messaging bot wants incidents, not every repeat.
WEBHOOK_CHANGES: Final = frozenset(
    {Change.OPENED, Change.ACKNOWLEDGED, Change.ASSIGNED, Change.ESCALATED, Change.RESOLVED}
)


def webhook_payload(event: AlertEvent, sent_at: datetime) -> dict[str, object]:
    """The JSON body of one delivery (documented in docs/alerts.md)."""
    alert = event.alert
    return {
        "event": event.change.value,
        "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
        "alert": alert.model_dump(mode="json"),
        "notify": notified(Level(alert.level), alert.building).as_dict(),
    }


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_s: float = 0.5
    backoff_max_s: float = 60.0
    timeout_s: float = 5.0

    def delay_s(self, attempt: int) -> float:
        """Wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class _Delivery:
    id: str
    change: str
    body: bytes


class WebhookSink:
    """Posts alert changes to ``url`` from its own thread."""

    def __init__(
        self,
        url: str,
        stats: AlertStats,
        *,
        retry: RetryPolicy | None = None,
        max_queue: int = 10_000,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.url = url
        self._stats = stats
        self._retry = retry if retry is not None else RetryPolicy()
        self._clock = clock
        self._queue: queue.Queue[_Delivery | None] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=self._retry.timeout_s)
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop after the delivery in progress; what is still queued is counted as unsent."""
        self._stop.set()
        # With a full queue the worker sees the stop flag after its current delivery.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        if self._thread.is_alive():
            self._thread.join()
        unsent = sum(1 for item in _drain(self._queue) if item is not None)
        if unsent:
            self._stats.add("webhook_unsent", unsent)
            logger.warning("webhook %s: %d deliveries unsent at shutdown", self.url, unsent)
        self._client.close()

    def deliver(self, event: AlertEvent) -> None:
        if event.change not in WEBHOOK_CHANGES:
            return
        body = json.dumps(webhook_payload(event, self._clock())).encode()
        try:
            self._queue.put_nowait(_Delivery(new_event_id(), event.change.value, body))
        except queue.Full:
            self._stats.add("webhook_dropped")
            logger.error(
                "webhook %s: queue full, alert %s change dropped", self.url, event.alert.id
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None:
                return
            self._send(item)

    def _send(self, delivery: _Delivery) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Dorm-Event": delivery.change,
            "X-Dorm-Delivery": delivery.id,
        }
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                response = self._client.post(self.url, content=delivery.body, headers=headers)
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    self._stats.add("webhook_delivered")
                    return
                if response.status_code != 429 and response.status_code < 500:
                    self._stats.add("webhook_rejected")
                    logger.error(
                        "webhook %s refused delivery %s: HTTP %d (not retried)",
                        self.url,
                        delivery.id,
                        response.status_code,
                    )
                    return
                reason = f"HTTP {response.status_code}"
            self._stats.add("webhook_failed_attempts")
            if attempt == self._retry.max_attempts:
                break
            delay_s = self._retry.delay_s(attempt)
            logger.warning(
                "webhook %s delivery %s attempt %d failed (%s), retrying in %.2f s",
                self.url,
                delivery.id,
                attempt,
                reason,
                delay_s,
            )
            if self._stop.wait(delay_s):
                break
        self._stats.add("webhook_failed")
        logger.error("webhook %s delivery %s failed for good", self.url, delivery.id)


def _drain(items: queue.Queue[_Delivery | None]) -> list[_Delivery | None]:
    drained: list[_Delivery | None] = []
    while True:
        try:
            drained.append(items.get_nowait())
        except queue.Empty:
            return drained
