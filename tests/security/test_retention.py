"""Retention purge: exactly the expired raw rows go, the anonymous rollups stay, it is audited."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from protocol.ids import new_event_id
from protocol.messages import Direction, DutyAction, DutyCheck, RoomTelemetry
from server.db import (
    AccessEvent,
    AuditEntry,
    DutyCheckRow,
    GateFlowMinute,
    RoomMinute,
    TelemetrySample,
)
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from server.ingest import IngestStats
from server.ingest.writer import BatchWriter
from server.retention import RetentionPolicy, purge
from server.rollups import DirtyMinutes, minute_of, refresh
from tests.security.apiserver import any_database_url
from tests.server.factories import access_event, wire

__all__ = ["any_database_url"]

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = RetentionPolicy(access_events=timedelta(days=180), presence=timedelta(days=90))


@pytest.fixture
def engine(any_database_url: str) -> Iterator[Engine]:
    engine = make_engine(any_database_url)
    upgrade_to_head(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _sample(seq: int, at: datetime) -> RoomTelemetry:
    return RoomTelemetry(
        id=new_event_id(int(at.timestamp() * 1000)),
        device="b1-r101-sensor",
        seq=seq,
        ts=at,
        room="b1-r101",
        occupancy=2,
        power_w=100.0 + seq,
        temperature_c=22.0,
        smoke=False,
    )


def _duty(seq: int, at: datetime) -> DutyCheck:
    return DutyCheck(
        id=new_event_id(int(at.timestamp() * 1000)),
        device="b1-kiosk",
        seq=seq,
        ts=at,
        action=DutyAction.CHECK_IN,
        person="p-c001",
    )


def test_the_purge_removes_exactly_the_expired_rows_and_keeps_the_aggregates(
    engine: Engine,
) -> None:
    rng = random.Random(7)
    old = NOW - timedelta(days=200)  # past both windows
    middle = NOW - timedelta(days=120)  # past presence (90 d) only
    recent = NOW - timedelta(days=10)
    access = [
        access_event("b1-gate-in", i, rng, at=old + timedelta(seconds=20 * i)) for i in range(6)
    ]
    access += [
        access_event("b1-gate-in", 10 + i, rng, at=middle + timedelta(seconds=i)) for i in range(3)
    ]
    access += [
        access_event("b1-gate-out", 20 + i, rng, at=recent, direction=Direction.EXIT)
        for i in range(2)
    ]
    samples = [_sample(i, old + timedelta(minutes=i)) for i in range(3)]
    samples += [_sample(10 + i, middle + timedelta(minutes=i)) for i in range(2)]
    samples += [_sample(20, recent)]
    duties = [_duty(1, old), _duty(2, middle), _duty(3, recent)]

    dirty = DirtyMinutes()
    writer = BatchWriter(engine, IngestStats(), observer=dirty.observe)
    # Ingest marks minutes for rollup; the old gate minutes are then "forgotten"
    # by taking them off the list, so the purge must roll them up itself.
    writer.write([wire("b1", m) for m in [*access, *samples, *duties]])
    sessions = make_sessionmaker(engine)
    gates, rooms = dirty.take()
    old_gate_minutes = {k for k in gates if k[1] < NOW - timedelta(days=180)}
    dirty.put_back(gates - old_gate_minutes, rooms)
    refresh(sessions, dirty)

    with sessions() as session:
        flows_before = {
            (r.building_id, r.minute): (r.entries, r.exits, r.denied)
            for r in session.scalars(select(GateFlowMinute))
        }
        rooms_before = {
            (r.room_id, r.minute): (r.samples, r.power_w_max)
            for r in session.scalars(select(RoomMinute))
        }
    assert not any(minute < NOW - timedelta(days=180) for _, minute in flows_before)

    with sessions() as session, session.begin():
        deleted = purge(session, POLICY, NOW)
    assert deleted == {"access_event": 6, "duty_check": 2, "telemetry_sample": 5}

    with sessions() as session:
        kept_access = set(session.scalars(select(AccessEvent.event_id)))
        kept_samples = set(session.scalars(select(TelemetrySample.event_id)))
        kept_duties = set(session.scalars(select(DutyCheckRow.event_id)))
        flows_after = {
            (r.building_id, r.minute): (r.entries, r.exits, r.denied)
            for r in session.scalars(select(GateFlowMinute))
        }
        rooms_after = {
            (r.room_id, r.minute): (r.samples, r.power_w_max)
            for r in session.scalars(select(RoomMinute))
        }
        purges = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "purge")))
    assert kept_access == {e.id for e in access[6:]}
    assert kept_samples == {samples[5].id}
    assert kept_duties == {duties[2].id}
    # The aggregates: every earlier rollup kept as it was, and the old gate minutes
    # that had none were rolled up before their raw rows went.
    assert {k: v for k, v in flows_after.items() if k in flows_before} == flows_before
    old_minutes = {("b1", minute_of(e.ts)) for e in access[:6]}
    assert set(flows_after) - set(flows_before) == old_minutes
    assert sum(flows_after[k][0] for k in old_minutes) == 6
    assert rooms_after == rooms_before
    assert {(p.resource, p.actor_role) for p in purges} == {
        ("retention access_event", "system"),
        ("retention duty_check", "system"),
        ("retention telemetry_sample", "system"),
    }
    assert all(p.detail is not None and p.detail.startswith("deleted") for p in purges)

    # Nothing more to purge: nothing deleted, nothing logged.
    with sessions() as session, session.begin():
        assert purge(session, POLICY, NOW) == {}
    with sessions() as session:
        count = len(list(session.scalars(select(AuditEntry.id))))
    assert count == 3
