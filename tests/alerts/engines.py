"""Small rule engines for the hook tests (the real one is rules/, built by another issue half).

They implement :class:`rules.signals.RuleEngine` the way the contract asks
(idempotent by event id), with one rule each, so the hook's plumbing is tested
with something that really reacts to the ingested messages.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from protocol.messages import Message, RoomTelemetry
from rules.signals import Action, AlertSignal, Level, Severity, SignalKind


class SmokeEngine:
    """Smoke in a room's telemetry raises ``smoke`` (with fire release); clean air clears it."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.advanced: list[datetime] = []
        self.advanced_once = threading.Event()

    def observe(self, messages: Sequence[tuple[str, Message]]) -> list[AlertSignal]:
        signals: list[AlertSignal] = []
        for building, message in messages:
            if not isinstance(message, RoomTelemetry) or message.id in self.seen:
                continue
            self.seen.add(message.id)
            signals.append(
                AlertSignal(
                    rule="smoke",
                    subject=f"room:{message.room}",
                    kind=SignalKind.RAISE if message.smoke else SignalKind.CLEAR,
                    severity=Severity.CRITICAL,
                    level=Level.BUILDING,
                    event_time=message.ts,
                    building=building,
                    room=message.room,
                    message=f"smoke in {message.room}" if message.smoke else "air clear",
                    params={"room": message.room},
                    evidence=(message.id,),
                    actions=(Action.FIRE_RELEASE,) if message.smoke else (),
                )
            )
        return signals

    def advance(self, now: datetime) -> list[AlertSignal]:
        self.advanced.append(now)
        self.advanced_once.set()
        return []


class BrokenEngine(SmokeEngine):
    """Fails on every batch that holds telemetry (a bug in a rule)."""

    def observe(self, messages: Sequence[tuple[str, Message]]) -> list[AlertSignal]:
        if any(isinstance(m, RoomTelemetry) for _, m in messages):
            raise RuntimeError("rule crashed")
        return []
