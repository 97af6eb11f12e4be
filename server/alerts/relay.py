"""Alert changes between server processes on PostgreSQL (``NOTIFY`` / ``LISTEN``).

Each process broadcasts its own changes to its SSE viewers directly. With
several workers, a viewer connected to one must also see what the others do:
the service sends ``NOTIFY dorm_alerts, '<origin> <change> <alert id>'`` in
the transaction of each change (PostgreSQL delivers it at commit, never for
a rolled-back one), and a listener thread in every process reads the alert of
a notification from *another* origin and hands it to its own broadcaster.
The webhook is only sent by the process that made the change (no repeats).

If the listening connection breaks it is reopened after a second; changes
notified meanwhile are missed by that process's viewers (counted as
``relay_reconnects``; a stream ends after ``DORM_ALERT_SSE_MAX_S`` and starts
again from a snapshot).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Final

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server.alerts.events import Change
from server.alerts.stats import AlertStats

logger = logging.getLogger(__name__)

CHANNEL: Final = "dorm_alerts"
_POLL_S: Final = 0.5
_RECONNECT_S: Final = 1.0

#: Called with ``(change, alert id)`` for another process's change.
ChangeHandler = Callable[[Change, str], None]


class PgRelay:
    """Sends this process's alert changes and receives the other processes'."""

    def __init__(self, engine: Engine, stats: AlertStats) -> None:
        self.origin = uuid.uuid4().hex[:12]
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._stats = stats
        self._handler: ChangeHandler | None = None
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-relay", daemon=True)

    def notify(self, session: Session, change: Change, alert_id: str) -> None:
        """Queue the notification in ``session``'s transaction (sent at its commit)."""
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": f"{self.origin} {change.value} {alert_id}"},
        )

    def start(self, handler: ChangeHandler) -> None:
        self._handler = handler
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stop.is_set():
                        for notification in connection.notifies(timeout=_POLL_S):
                            self._received(notification.payload)
            except psycopg.OperationalError as exc:
                self.listening.clear()
                self._stats.add("relay_reconnects")
                logger.error("alert relay lost its connection, reopening: %s", exc)
                self._stop.wait(_RECONNECT_S)

    def _received(self, payload: str) -> None:
        parts = payload.split(" ")
        if len(parts) != 3 or parts[1] not in Change.__members__.values():
            self._stats.add("relay_rejected")
            logger.warning("alert relay: malformed notification %r ignored", payload[:100])
            return
        origin, change, alert_id = parts
        if origin == self.origin or self._handler is None:
            return
        self._stats.add("relay_received")
        self._handler(Change(change), alert_id)
