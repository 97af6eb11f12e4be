"""Replaying stored events through the engine: "what would these rules have raised?"

The event tables (``access_event``, ``door_event``, ``passage_count``,
``duty_check``, ``telemetry_sample``) are read between two times, merged in
event-time order (ties by event id) and fed to an engine without a clock, so
only the events' own ``replayed`` flag makes a signal *delayed*. At the end
every stream is moved to the end time, so due timers fire.

Not stored, so not replayed: heartbeats, gateway health and device state
(``device_offline``, ``outbox_near_full``, ``clock_skew`` cannot be
backtested), and the gate's soft anti-passback flag (``anti_passback``).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    Direction,
    DoorEvent,
    DoorEventKind,
    DutyAction,
    DutyCheck,
    Message,
    PassageCount,
    RoomTelemetry,
)
from rules.config import RulesConfig
from rules.context import load_context
from rules.engine import Engine
from rules.signals import AlertSignal
from server.db import AccessEvent, DoorEventRow, DutyCheckRow, PassageCountRow, TelemetrySample

logger = logging.getLogger(__name__)

BATCH: Final = 500
NOT_BACKTESTABLE: Final = ("anti_passback", "device_offline", "outbox_near_full", "clock_skew")


def _envelope(row: Any) -> dict[str, Any]:
    return {
        "id": row.event_id,
        "device": row.device_id,
        "seq": row.seq,
        "ts": row.ts,
        "received_at": row.received_at,
        "replayed": row.replayed,
    }


def _access(row: AccessEvent) -> AccessDecision:
    return AccessDecision(
        **_envelope(row),
        direction=Direction(row.direction),
        credential=CredentialKind(row.credential),
        decision=Decision(row.decision),
        reason=AccessReason(row.reason),
        person=row.person_id,
        card_ref=row.card_ref,
        nonce=row.nonce,
        door=row.door,
    )


def _door(row: DoorEventRow) -> DoorEvent:
    return DoorEvent(
        **_envelope(row),
        kind=DoorEventKind(row.kind),
        door=row.door,
        grant_id=row.grant_id,
        person=row.person_id,
        open_s=row.open_s,
    )


def _passage(row: PassageCountRow) -> PassageCount:
    return PassageCount(
        **_envelope(row),
        direction=Direction(row.direction),
        count=row.count,
        grant_id=row.grant_id,
        door=row.door,
    )


def _duty(row: DutyCheckRow) -> DutyCheck:
    return DutyCheck(
        **_envelope(row),
        action=DutyAction(row.action),
        person=row.person_id,
        room=row.room_id,
        nonce=row.nonce,
    )


def _telemetry(row: TelemetrySample) -> RoomTelemetry:
    return RoomTelemetry(
        **_envelope(row),
        room=row.room_id,
        occupancy=row.occupancy,
        power_w=row.power_w,
        temperature_c=row.temperature_c,
        smoke=row.smoke,
    )


_TABLES: Final[tuple[tuple[Any, Callable[[Any], Message]], ...]] = (
    (AccessEvent, _access),
    (DoorEventRow, _door),
    (PassageCountRow, _passage),
    (DutyCheckRow, _duty),
    (TelemetrySample, _telemetry),
)


def stored_events(
    session: Session, start: datetime, end: datetime, counters: dict[str, int]
) -> Iterator[tuple[str, Message]]:
    """Every stored event with ``start <= ts < end``, in (ts, event id) order."""

    def rows(model: Any, convert: Callable[[Any], Message]) -> Iterator[tuple[Any, ...]]:
        query = (
            select(model)
            .where(model.ts >= start, model.ts < end)
            .order_by(model.ts, model.event_id)
            .execution_options(yield_per=2000)
        )
        for row in session.scalars(query):
            try:
                message = convert(row)
            except ValueError as exc:
                counters["bad_rows"] = counters.get("bad_rows", 0) + 1
                logger.warning("stored event %s cannot be replayed: %s", row.event_id, exc)
                continue
            yield row.ts, row.event_id, row.building_id, message

    merged = heapq.merge(*(rows(model, convert) for model, convert in _TABLES))
    for _ts, _event_id, building, message in merged:
        yield building, message


def backtest(
    database: SqlEngine, start: datetime, end: datetime, config: RulesConfig
) -> tuple[list[AlertSignal], dict[str, int]]:
    """The signals the rules would have produced between ``start`` and ``end``."""
    counters: dict[str, int] = {}
    with Session(database) as session:
        engine = Engine(load_context(session), config, clock=None)
        # Start every building's streams at `start`: calendar timers (night
        # checks, shifts) are set from there even where no event comes.
        signals: list[AlertSignal] = engine.advance_event_time(start)
        batch: list[tuple[str, Message]] = []
        for item in stored_events(session, start, end, counters):
            batch.append(item)
            if len(batch) >= BATCH:
                signals.extend(engine.observe(batch))
                batch = []
        signals.extend(engine.observe(batch))
    signals.extend(engine.advance_event_time(end))
    counters.update(engine.counters)
    return signals, counters


def ordered(signals: Sequence[AlertSignal]) -> list[AlertSignal]:
    return sorted(signals, key=lambda s: (s.event_time, s.rule, s.subject, s.kind.value))
