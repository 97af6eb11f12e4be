"""What the rules engine hands to the alert service: raise and clear signals.

This module is the contract between the two halves of issue 6:

* ``rules/`` (the engine) turns device messages, on event time, into
  :class:`AlertSignal` values and nothing else; it never touches SQL.
* ``server/alerts/`` (the alert service) turns signals into alert rows with a
  lifecycle (one open alert per ``(rule, subject)``, enforced by a unique
  index), escalates them up the four levels and delivers them (SSE, webhook).

A *subject* is the thing an incident is about, written ``kind:id`` — for
example ``door:b1-gate-in/main``, ``person:p-3f2a``, ``room:b1-0412``,
``building:b1``, ``shift:s-2026-11-23-b1``, ``device:b1-room-0412``. Together
with the rule id it is the de-duplication key: a condition that persists
sends more ``RAISE`` signals for the same key, which update the open alert's
count and last-seen time instead of opening another.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, Protocol, get_args

from protocol.messages import Message

#: The fixed rule ids, in the order the engine runs them: the one list the API,
#: the scenarios, the dashboard's catalogues and rules.catalog are checked against.
RuleId = Literal[
    "door_forced",
    "door_held_open",
    "door_not_used",
    "tailgating",
    "denied_burst_gate",
    "denied_burst_credential",
    "qr_replay",
    "anti_passback",
    "late_return",
    "not_returned",
    "not_seen",
    "room_over_capacity",
    "activity_room_misuse",
    "power_over_limit",
    "appliance_step",
    "smoke",
    "temperature_high",
    "duty_missed_checkin",
    "duty_coverage_gap",
    "device_offline",
    "outbox_near_full",
    "clock_skew",
]
RULE_IDS: Final[tuple[str, ...]] = get_args(RuleId)


class Severity(enum.StrEnum):
    """How urgent; the dashboard orders by severity, then age."""

    INFO = "info"
    WARNING = "warning"
    MAJOR = "major"
    CRITICAL = "critical"


class Level(enum.StrEnum):
    """The four levels of the warning system (room → floor → building → campus)."""

    ROOM = "room"
    FLOOR = "floor"
    BUILDING = "building"
    CAMPUS = "campus"


class SignalKind(enum.StrEnum):
    RAISE = "raise"
    CLEAR = "clear"


class Action(enum.StrEnum):
    """Something the server must do when an alert opens, besides telling people."""

    #: Smoke: command every gate of the alert's building to fire-release.
    FIRE_RELEASE = "fire_release"


ParamValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AlertSignal:
    """One rule's verdict about one subject at one event time."""

    rule: str
    subject: str
    kind: SignalKind
    severity: Severity
    #: The level the alert starts at (where the incident lies).
    level: Level
    #: Event time of the incident (for CLEAR: of the event that cleared it).
    event_time: datetime
    building: str | None = None
    floor: str | None = None
    room: str | None = None
    #: The incident's event time was already behind the live edge when it was
    #: decided (a backlog replayed after an outage): shown as *delayed*.
    delayed: bool = False
    #: A one-line English summary; the dashboard translates by ``rule`` + ``params``.
    message: str = ""
    #: Details for display and translation (never a name or a student number).
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    #: Event ids that support the verdict (audit trail).
    evidence: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()


class SignalSink(Protocol):
    """Where signals go (the alert service, a backtest printer, a test list)."""

    def emit(self, signals: Sequence[AlertSignal]) -> None: ...


class RuleEngine(Protocol):
    """What the server's ingest needs from the engine.

    ``observe`` takes the valid messages of a committed batch, as the ingest
    observer hook (server.ingest.writer.Observer) passes them:
    ``(building, message)`` pairs, in arrival order, where a message delivered
    twice (QoS 1 is at-least-once) appears twice, so the engine must be
    idempotent by event id. ``advance`` moves idle sources on by processing
    time. Both return the signals they produced.
    """

    def observe(self, messages: Sequence[tuple[str, Message]]) -> list[AlertSignal]: ...

    def advance(self, now: datetime) -> list[AlertSignal]: ...
