"""The gate agent: a credential in, a decision, the door, the events out.

A card number is hashed with the site's card-hash key the moment it arrives
and never kept; a QR text goes to the decision as it is. The relay is switched
*before* the decision is written to the outbox, so a slow disk never keeps
someone waiting at the door.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Final
from zoneinfo import ZoneInfo

from edge.agent import Agent
from edge.allowlist import AllowlistStore
from edge.decision import CardCredential, Credential, Policy, QrCredential, Verdict, decide
from edge.door import CommandOutcome, DoorController, DoorReport, DoorTimings, PassageReport
from edge.errors import AllowlistError, SnapshotNeededError
from edge.events import EventSink
from edge.nonces import NonceCache
from edge.settings import CurfewRule
from protocol.cardhash import card_hash
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AckResult,
    AllowlistDelta,
    AllowlistSnapshot,
    Command,
    CommandAction,
    Decision,
    Direction,
    DoorEvent,
    Message,
    PassageCount,
)

log = logging.getLogger(__name__)

PASSBACK_MEMORY: Final = 100_000


class PassbackTracker:
    """Soft anti-passback for one building: who was last seen going which way.

    Fed by this gate's grants and by the grants of the building's other gates
    (their AccessDecision events, when the broker lets the gate read them). A
    second entry without an exit (or exit without entry) is *allowed* and
    reported: logged and counted in :attr:`violations`.
    """

    def __init__(self, max_people: int = PASSBACK_MEMORY) -> None:
        self.max_people = max_people
        self.violations = 0
        self._last: OrderedDict[str, Direction] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, person: str, direction: Direction) -> bool:
        """Record a passage; True if it repeats the person's last direction."""
        with self._lock:
            previous = self._last.pop(person, None)
            self._last[person] = direction
            if len(self._last) > self.max_people:
                self._last.popitem(last=False)
        if previous is direction:
            self.violations += 1
            return True
        return False


class GateAgent(Agent):
    def __init__(
        self,
        *,
        direction: Direction,
        sink: EventSink,
        door: DoorController,
        store: AllowlistStore,
        card_key: bytes,
        tz: ZoneInfo,
        curfew: CurfewRule | None,
        config_version: str,
        heartbeat_s: float = 30.0,
        reload_config: Callable[[], str] | None = None,
        nonces: NonceCache | None = None,
        passback: PassbackTracker | None = None,
    ) -> None:
        super().__init__(
            sink=sink,
            config_version=config_version,
            heartbeat_s=heartbeat_s,
            reload_config=reload_config,
            store=store,
        )
        if len(card_key) < 16:
            raise ValueError("the card-hash key must be at least 16 bytes")
        self.direction = direction
        self.door = door
        self.store: AllowlistStore = store
        self.tz = tz
        self.curfew = curfew
        self.nonces = nonces or NonceCache()
        self.passback = passback or PassbackTracker()
        self._card_key = card_key
        self._decide_lock = threading.Lock()
        door.emit = self._on_door_report

    @property
    def allowlist_version(self) -> int:
        return self.store.version

    # -- credentials -----------------------------------------------------------------

    def present_card(self, card_number: str) -> Verdict:
        """A card was read: hash it at once (the clear number goes no further)."""
        return self.present(CardCredential(card_hash(self._card_key, card_number)))

    def present_qr(self, text: str) -> Verdict:
        return self.present(QrCredential(text))

    def present(self, credential: Credential) -> Verdict:
        with self._decide_lock:
            now = self.clock()
            policy = Policy(
                building=self.building,
                tz=self.tz,
                direction=self.direction,
                curfew=self.curfew,
                lockdown=self.door.lockdown,
            )
            verdict = decide(credential, self.store.current, policy, now, seen_nonces=self.nonces)
            grant_id = new_event_id()
            if verdict.granted:
                self.door.grant(grant_id, verdict.person, self.direction)
            else:
                self.door.deny()
            if verdict.nonce is not None and verdict.nonce_expires_at is not None:
                self.nonces.remember(verdict.nonce, verdict.nonce_expires_at, now)
        passback = (
            verdict.granted
            and verdict.person is not None
            and self.passback.observe(verdict.person, self.direction)
        )
        if passback:
            log.warning(
                "anti-passback: %s passed %s twice in a row (allowed)",
                verdict.person,
                self.direction.value,
            )
        self.sink.emit(
            AccessDecision,
            event_id=grant_id,
            direction=self.direction,
            credential=verdict.credential,
            decision=verdict.decision,
            reason=verdict.reason,
            person=verdict.person,
            card_ref=verdict.card_ref,
            nonce=verdict.nonce,
            passback=passback,
        )
        return verdict

    # -- door reports ----------------------------------------------------------------

    def _on_door_report(self, report: DoorReport | PassageReport) -> None:
        if isinstance(report, DoorReport):
            self.sink.emit(
                DoorEvent,
                kind=report.kind,
                grant_id=report.grant_id,
                person=report.person,
                open_s=report.open_s,
            )
        else:
            self.sink.emit(
                PassageCount,
                direction=report.direction,
                count=report.count,
                grant_id=report.grant_id,
            )

    # -- messages from the gateway ---------------------------------------------------

    def dispatch(self, message: Message) -> None:
        if isinstance(message, AllowlistSnapshot):
            self.store.apply_snapshot(message)
        elif isinstance(message, AllowlistDelta):
            try:
                self.store.apply_delta(message)
            except SnapshotNeededError as exc:
                # The retained snapshot comes with the next (re)subscription.
                log.warning("%s", exc)
            except AllowlistError as exc:
                log.error("allowlist delta refused: %s", exc)
        elif isinstance(message, AccessDecision):
            if (
                message.device != self.device
                and message.decision is Decision.GRANTED
                and message.person is not None
            ):
                self.passback.observe(message.person, message.direction)
        else:
            super().dispatch(message)

    def execute(self, command: Command) -> CommandOutcome:
        action = command.action
        if action is CommandAction.UNLOCK:
            return self.door.unlock_once(command.duration_s)
        if action is CommandAction.LOCK:
            return self.door.lock()
        if action is CommandAction.LOCKDOWN:
            return self.door.enter_lockdown()
        if action is CommandAction.FIRE_RELEASE:
            return self.door.fire_release()
        if action is CommandAction.RESET:
            return self.door.reset()
        if action is CommandAction.RELOAD_CONFIG:
            return self.reload()
        return CommandOutcome(AckResult.REJECTED, f"unknown action {action.value}")

    def set_door_timings(self, timings: DoorTimings) -> None:
        self.door.set_timings(timings)

    def close(self) -> None:
        self.door.close()
