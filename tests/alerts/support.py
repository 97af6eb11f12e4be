"""Signals, a settable clock and an event recorder for the alert tests."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from rules.signals import Action, AlertSignal, Level, ParamValue, Severity, SignalKind
from server.alerts.events import AlertEvent, Change

REPO: Final = Path(__file__).resolve().parents[2]
#: Event time of the tests' incidents.
T0: Final = datetime(2026, 9, 1, 22, 0, tzinfo=UTC)
#: Processing time of the tests (the service's clock starts here).
NOW0: Final = datetime(2026, 9, 1, 22, 0, 5, tzinfo=UTC)


def signal(
    rule: str = "door_held_open",
    subject: str = "door:b1-gate-in/main",
    *,
    kind: SignalKind = SignalKind.RAISE,
    at: datetime = T0,
    severity: Severity = Severity.WARNING,
    level: Level = Level.ROOM,
    building: str | None = "b1",
    floor: str | None = None,
    room: str | None = None,
    evidence: tuple[str, ...] = (),
    actions: tuple[Action, ...] = (),
    message: str = "door held open",
    params: Mapping[str, ParamValue] | None = None,
    delayed: bool = False,
) -> AlertSignal:
    return AlertSignal(
        rule=rule,
        subject=subject,
        kind=kind,
        severity=severity,
        level=level,
        event_time=at,
        building=building,
        floor=floor,
        room=room,
        delayed=delayed,
        message=message,
        params=params if params is not None else {"door": "main"},
        evidence=evidence,
        actions=actions,
    )


def clear(
    rule: str = "door_held_open",
    subject: str = "door:b1-gate-in/main",
    *,
    at: datetime = T0 + timedelta(seconds=40),
    message: str = "door closed",
) -> AlertSignal:
    return signal(rule, subject, kind=SignalKind.CLEAR, at=at, message=message)


class ManualClock:
    """Processing time the test moves by hand."""

    def __init__(self, start: datetime = NOW0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Recorder:
    """An AlertEventSink that keeps what it is given."""

    events: list[AlertEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, event: AlertEvent) -> None:
        with self._lock:
            self.events.append(event)

    def changes(self) -> list[tuple[Change, str]]:
        with self._lock:
            return [(e.change, e.alert.id) for e in self.events]
