"""Runs a rules engine inside the server's ingest and hands its signals to the alert service.

:class:`EngineHook` is the ingest ``Observer`` (server.ingest.writer): after
each committed batch it calls ``engine.observe`` with the batch's
``(building, message)`` pairs, and a ticker thread calls ``engine.advance(now)``
every ``tick_s`` so idle sources move on by processing time. The engine is
called under one lock (the writer thread and the ticker never run it at the
same time). An error of the engine or of the service is logged with its
traceback and counted; it never reaches ingest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from protocol.messages import Message
from rules.signals import AlertSignal, RuleEngine, SignalSink
from server.alerts.stats import AlertStats
from server.security import utcnow

logger = logging.getLogger(__name__)


class EngineHook:
    """Ingest observer + ticker between a :class:`RuleEngine` and a :class:`SignalSink`."""

    def __init__(
        self,
        engine: RuleEngine,
        sink: SignalSink,
        stats: AlertStats,
        *,
        tick_s: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._sink = sink
        self._stats = stats
        self._tick_s = tick_s
        self._clock = clock
        self._engine_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="rules-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def observe(self, messages: Sequence[tuple[str, Message]]) -> None:
        """The ingest observer: called after each commit, on the writer thread."""
        self._stats.add("engine_messages", len(messages))
        self._run("observe", lambda: self._engine.observe(messages))

    def advance(self, now: datetime) -> None:
        self._run("advance", lambda: self._engine.advance(now))

    def _tick(self) -> None:
        while not self._stop.wait(self._tick_s):
            self.advance(self._clock())

    def _run(self, what: str, call: Callable[[], list[AlertSignal]]) -> None:
        # The engine is a plug-in and the service talks to a database: whatever
        # either raises is logged with its traceback and counted, because
        # ingest (our caller) must go on. Nothing is hidden.
        try:
            with self._engine_lock:
                signals = call()
        except Exception:
            self._stats.add("engine_errors")
            logger.exception("rules engine failed in %s; ingest goes on", what)
            return
        if not signals:
            return
        self._stats.add("engine_signals", len(signals))
        try:
            self._sink.emit(signals)
        except Exception:
            self._stats.add("emit_errors")
            logger.exception("alert service failed on %d signals; ingest goes on", len(signals))
