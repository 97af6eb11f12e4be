"""The engine as the server runs it: rules from a YAML file, the site from SQL, both kept fresh.

:class:`LiveRules` is the ``rules.signals.RuleEngine`` the server plugs into
ingest (server.alerts.hook). It builds an :class:`~rules.engine.Engine` with
processing time from the wall clock (so a backlog is told from live traffic
and marked *delayed*), the rule settings from ``DORM_RULES_FILE`` over the
shipped defaults, and the site context read from the SQL domain. Every
``reload_s`` (on the hook's ticker thread, never on the ingest thread):

* the rules file is read again if its modification time changed; a file with
  errors is refused with its ``path:line:col`` messages in the log and the
  running rules stay — a typo never switches the alerts off;
* the site context (rooms, devices, shifts, leaves, bookings…) is read again
  and swapped in when it differs, so a new duty shift or a registered leave
  counts without a restart.

With ``event_clock=True`` (``DORM_RULES_CLOCK=events``) processing time is the
newest event time of live (not replayed) traffic instead of the wall clock.
That is for accelerated simulations and the demo, whose event time runs many
times faster than the wall: against the wall clock every event would look
like a device clock far in the future, and timers would never fire. It must
not be used with real devices: one device whose clock is wrong would move
every building's time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol.messages import Message
from rules.config import load_rules
from rules.context import SiteContext, load_context
from rules.engine import Engine
from rules.signals import AlertSignal
from siteconfig.errors import ConfigError

logger = logging.getLogger(__name__)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class LiveRules:
    """An :class:`Engine` whose rules file and site context are reloaded while it runs."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        rules_file: Path | None = None,
        reload_s: float = 30.0,
        clock: Callable[[], datetime] = _wall_clock,
        event_clock: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._event_clock = event_clock
        #: The newest event time of live traffic (``event_clock`` only).
        self._event_now: datetime | None = None
        self._rules_file = rules_file
        self._reload_s = reload_s
        self._monotonic = monotonic
        # At start a bad rules file stops the server (ConfigError, with file:line).
        self._rules_mtime = self._file_mtime()
        self.engine = Engine(
            self._read_context(), load_rules(rules_file), clock=self._now if event_clock else clock
        )
        self._next_reload = monotonic() + reload_s
        logger.info(
            "rules engine running: %d rules enabled (%s)",
            len(self.engine.rules),
            rules_file if rules_file is not None else "shipped defaults",
        )

    def observe(self, messages: Sequence[tuple[str, Message]]) -> list[AlertSignal]:
        if self._event_clock:
            self._follow_events(messages)
        return self.engine.observe(messages)

    def advance(self, now: datetime) -> list[AlertSignal]:
        if self._monotonic() >= self._next_reload:
            self._next_reload = self._monotonic() + self._reload_s
            self.reload()
        if self._event_clock:
            if self._event_now is None:
                return []
            now = self._event_now
        return self.engine.advance(now)

    def _now(self) -> datetime:
        return self._event_now if self._event_now is not None else _wall_clock()

    def _follow_events(self, messages: Sequence[tuple[str, Message]]) -> None:
        newest = self._event_now
        for _, message in messages:
            ts: datetime | None = getattr(message, "ts", None)
            if ts is None or getattr(message, "replayed", False):
                continue
            if newest is None or ts > newest:
                newest = ts
        self._event_now = newest

    def reload(self) -> None:
        """Pick up a changed rules file and a changed site context (errors are logged)."""
        self._reload_rules_file()
        try:
            context = self._read_context()
        except SQLAlchemyError as exc:
            logger.error("site context not reloaded (database): %s; the last one stays", exc)
            return
        if context != self.engine.ctx:
            self.engine.reload_context(context)
            logger.info("rules engine: site context reloaded")

    def _reload_rules_file(self) -> None:
        mtime = self._file_mtime()
        if mtime == self._rules_mtime:
            return
        self._rules_mtime = mtime
        try:
            config = load_rules(self._rules_file)
        except ConfigError as exc:
            logger.error("rules file not reloaded, the running rules stay:\n%s", exc)
            return
        except OSError as exc:
            logger.error(
                "rules file %s not readable (%s); the running rules stay", self._rules_file, exc
            )
            return
        self.engine.reload_rules(config)
        logger.info("rules reloaded from %s", self._rules_file)

    def _file_mtime(self) -> float | None:
        if self._rules_file is None:
            return None
        try:
            return self._rules_file.stat().st_mtime
        except OSError:
            return None

    def _read_context(self) -> SiteContext:
        with self._sessions() as session:
            return load_context(session)
