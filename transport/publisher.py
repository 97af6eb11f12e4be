"""Drain an :class:`~transport.outbox.Outbox` through a paho-mqtt client.

One thread per outbox publishes rows oldest first with QoS 1, keeps at most
``max_inflight`` unacknowledged (paho's packet ids are 16-bit and it scans its
in-flight set on every acknowledgement: about 100 was fastest here), and
deletes a row only once paho reports the broker's PUBACK for it.

Completion is read from each publish's ``MQTTMessageInfo.is_published()``
rather than matched by message id in ``on_publish``: ids are reused, and the
acknowledgement can arrive before ``publish()`` has returned the id. The
``on_publish`` callback only wakes the thread.

While the client is disconnected nothing new is handed to paho (a publish
that fails because the connection just dropped is retried after reconnecting).
Messages already handed over stay with paho, which re-sends them after reconnecting;
after a restart, rows still in the outbox are published again. Delivery is
therefore at-least-once; receivers de-duplicate.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from transport.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass
class PublisherStats:
    published: int = 0
    acknowledged: int = 0
    publish_errors: int = 0
    storage_errors: int = 0


class OutboxPublisher:
    """Publishes what is put into an outbox; call :meth:`wake` after putting."""

    def __init__(
        self,
        client: mqtt.Client,
        outbox: Outbox,
        *,
        max_inflight: int = 100,
        qos: int = 1,
        idle_poll_s: float = 0.5,
        name: str = "outbox-publisher",
    ) -> None:
        if qos not in (1, 2):
            raise ValueError("the outbox publishes with QoS 1 or 2 only")
        self.client = client
        self.outbox = outbox
        self.max_inflight = max_inflight
        self.qos = qos
        self.idle_poll_s = idle_poll_s
        self.stats = PublisherStats()
        self._inflight: deque[tuple[mqtt.MQTTMessageInfo, int]] = deque()
        self._cursor = 0
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        # paho allows changing its own window only before connecting; create the
        # publisher first. Either way our own window bounds what is in flight.
        if not client.is_connected():
            client.max_inflight_messages_set(max_inflight)
        client.on_publish = self._on_publish

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._wakeup.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def wake(self) -> None:
        """Tell the publisher there is something new in the outbox (cheap; call freely)."""
        self._wakeup.set()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def flush(self, timeout_s: float) -> bool:
        """Wait until the outbox is empty; False if it was not within the timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.outbox.depth == 0:
                return True
            self.wake()
            time.sleep(0.01)
        return self.outbox.depth == 0

    # -- the thread ----------------------------------------------------------------

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _mid: int,
        _reason: object,
        _properties: object,
    ) -> None:
        self._wakeup.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._reap_completed()
                sent = self._publish_more() if self.client.is_connected() else 0
            except sqlite3.Error as exc:
                # A full or failing disk: keep the thread alive and try again;
                # rows stay in the outbox, nothing is lost by waiting.
                self.stats.storage_errors += 1
                log.error("outbox %s: %s; retrying in 1 s", self.outbox.path, exc)
                self._stopping.wait(1.0)
                continue
            if sent == 0:
                self._wakeup.wait(self.idle_poll_s if not self._inflight else 0.05)
                self._wakeup.clear()
        self._reap_completed()

    def _reap_completed(self) -> None:
        # One pass, one is_published() call per message: acknowledgements may
        # complete out of order, and one may land while we look.
        done: list[int] = []
        pending: deque[tuple[mqtt.MQTTMessageInfo, int]] = deque()
        for info, row_id in self._inflight:
            if info.is_published():
                done.append(row_id)
            else:
                pending.append((info, row_id))
        if done:
            self._inflight = pending
            self.outbox.ack(done)
            self.stats.acknowledged += len(done)

    def _publish_more(self) -> int:
        room = self.max_inflight - len(self._inflight)
        if room <= 0:
            return 0
        rows = self.outbox.next_batch(room, after_id=self._cursor)
        for row in rows:
            info = self.client.publish(row.topic, row.payload, qos=self.qos, retain=row.retain)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                # Typically the connection dropped a moment ago. paho may keep its
                # own copy and send it after reconnecting; we publish the row again
                # too (at-least-once), so the cursor stays before it.
                self.stats.publish_errors += 1
                log.debug("publish of outbox row %d failed: %s", row.id, mqtt.error_string(info.rc))
                break
            self._inflight.append((info, row.id))
            self._cursor = row.id
            self.stats.published += 1
        return len(rows)
