"""The escalation thread: on processing time, steps up every alert nobody acknowledged."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from server.alerts.service import AlertService

logger = logging.getLogger(__name__)


class Escalator:
    """Calls :meth:`AlertService.escalate` every ``interval_s`` until stopped."""

    def __init__(self, service: AlertService, interval_s: float) -> None:
        self._service = service
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-escalator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._service.escalate()
            except SQLAlchemyError as exc:
                # The database is away or refused a write: due steps are taken next pass.
                self._service.stats.add("escalation_errors")
                logger.error("escalation pass failed, retried next pass: %s", exc)
