"""The duty kiosk: a counselor shows their QR code, the kiosk logs them on or off duty.

The token is verified offline with the building allowlist's public keys; the
person must be on the building's allowlist as staff. Each accepted scan
toggles the person's duty (check-in, then check-out), and the duty state is
kept in the state directory so a restart does not flip it. A second scan of
the same person within ``collapse_s`` (10 s) is the same check and is
collapsed; a replayed token is refused. Feedback: green/red LED and buzzer,
and a line for the kiosk's display (``display``, the log by default).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from edge.agent import Agent
from edge.allowlist import AllowlistStore, write_atomically
from edge.errors import AllowlistError, SnapshotNeededError
from edge.events import EventSink
from edge.feedback import Feedback
from edge.nonces import NonceCache
from protocol.messages import (
    AllowlistDelta,
    AllowlistSnapshot,
    DutyAction,
    DutyCheck,
    Message,
    PersonKind,
)
from protocol.tokens import TokenError, verify_token

log = logging.getLogger(__name__)

DUTY_FILE: Final = "duty.json"


class KioskAgent(Agent):
    def __init__(
        self,
        *,
        sink: EventSink,
        store: AllowlistStore,
        feedback: Feedback,
        state_dir: Path,
        config_version: str,
        heartbeat_s: float = 30.0,
        collapse_s: float = 10.0,
        display: Callable[[str], None] | None = None,
        reload_config: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(
            sink=sink,
            config_version=config_version,
            heartbeat_s=heartbeat_s,
            reload_config=reload_config,
            store=store,
        )
        self.store: AllowlistStore = store
        self.feedback = feedback
        self.collapse_s = collapse_s
        self.display = display or (lambda line: log.info("display: %s", line))
        self.nonces = NonceCache()
        self._duty_path = state_dir / DUTY_FILE
        self._on_duty: set[str] = self._load_duty()
        self._last_scan: dict[str, datetime] = {}
        self._lock = threading.Lock()

    @property
    def allowlist_version(self) -> int:
        return self.store.version

    def _load_duty(self) -> set[str]:
        try:
            return set(json.loads(self._duty_path.read_text()))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as exc:
            log.error(
                "duty state %s unreadable (%s); starting with nobody on duty", self._duty_path, exc
            )
            return set()

    def present_qr(self, text: str) -> DutyCheck | None:
        """Handle one scanned QR text; the DutyCheck it produced, or None."""
        with self._lock:
            now = self.clock()
            index = self.store.current
            try:
                claims = verify_token(text, index.keyring, now)
            except TokenError as exc:
                self._refuse(f"code refused: {exc.reason.value}")
                return None
            last = self._last_scan.get(claims.subject)
            if last is not None and (now - last).total_seconds() < self.collapse_s:
                log.debug(
                    "second scan of %s within %.0f s collapsed", claims.subject, self.collapse_s
                )
                return None
            if claims.nonce in self.nonces:
                self._refuse("code already used")
                return None
            self.nonces.remember(claims.nonce, claims.expires_at, now)
            entry = index.by_person.get(claims.subject)
            if entry is None or entry.kind is not PersonKind.STAFF:
                self._refuse("not on this building's duty staff")
                return None
            self._last_scan[claims.subject] = now
            if claims.subject in self._on_duty:
                action = DutyAction.CHECK_OUT
                self._on_duty.discard(claims.subject)
            else:
                action = DutyAction.CHECK_IN
                self._on_duty.add(claims.subject)
            write_atomically(self._duty_path, json.dumps(sorted(self._on_duty)).encode())
        self.feedback.show(ok=True)
        verb = "on duty" if action is DutyAction.CHECK_IN else "off duty"
        self.display(f"{claims.subject}: {verb} at {now.astimezone(UTC):%H:%M} UTC")
        return self.sink.emit(DutyCheck, action=action, person=claims.subject, nonce=claims.nonce)

    def _refuse(self, line: str) -> None:
        self.feedback.show(ok=False)
        self.display(line)

    def dispatch(self, message: Message) -> None:
        if isinstance(message, AllowlistSnapshot):
            self.store.apply_snapshot(message)
        elif isinstance(message, AllowlistDelta):
            try:
                self.store.apply_delta(message)
            except (SnapshotNeededError, AllowlistError) as exc:
                log.warning("allowlist delta not applied: %s", exc)
        else:
            super().dispatch(message)

    def close(self) -> None:
        self.feedback.close()
