"""The batch writer: idempotent by event id, counted rejections, newest state wins."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from protocol.examples import example
from protocol.messages import DeviceEvent, Direction, encode
from protocol.topics import Family, device_topic
from server.db import AccessEvent, Building, Campus, Device, Presence, TelemetrySample
from server.ingest import BatchWriter, IngestStats
from tests.server.factories import BASE_TS, access_event, heartbeat, telemetry, wire


def _count(engine: Engine, model: type[AccessEvent] | type[TelemetrySample]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_duplicates_change_nothing(engine: Engine, building_id: str) -> None:
    rng = random.Random(1)
    events = [access_event("g1", seq, rng) for seq in range(500)]
    samples = [telemetry("s1", "r1", seq, rng) for seq in range(100)]
    messages = [wire(building_id, m) for m in [*events, *samples]]
    stats = IngestStats()
    writer = BatchWriter(engine, stats)

    writer.write(messages)
    # The same events again, one duplicate inside a batch, and a batch of only duplicates.
    writer.write([*messages[:250], messages[0]])
    writer.write(messages)

    assert _count(engine, AccessEvent) == 500
    assert _count(engine, TelemetrySample) == 100
    view = stats.view(queue_depth=0, timeseries_dropped=0)
    assert view.stored == 600
    assert view.duplicates == 251 + 600  # the repeat inside the second batch counts too
    assert view.rejected == {}
    with Session(engine) as session:
        stored = session.get(AccessEvent, events[7].id)
        assert stored is not None
        assert stored.ts == events[7].ts
        assert stored.person_id == events[7].person
        assert stored.building_id == building_id


def test_rejections_are_counted_by_reason_and_spare_the_rest(
    engine: Engine, building_id: str
) -> None:
    rng = random.Random(2)
    good = [wire(building_id, access_event("g1", seq, rng)) for seq in range(3)]
    topic = good[0][0]
    bad = [
        (topic, b"{not json"),
        (topic, good[1][1].replace(b'"seq":1', b'"seq":-1')),
        (topic, good[1][1][:-1] + b',"name":"Zhang San"}'),
        ("dorm/v2/b1/dev/g1/event/access", good[2][1]),
        (topic.replace("/g1/", "/g2/"), good[2][1]),
    ]
    stats = IngestStats()
    BatchWriter(engine, stats).write([bad[0], good[0], *bad[1:], good[1], good[2]])

    assert _count(engine, AccessEvent) == 3
    assert stats.view(queue_depth=0, timeseries_dropped=0).rejected == {
        "malformed": 1,
        "out_of_range": 1,
        "unknown_field": 1,
        "unknown_topic": 1,
        "topic_mismatch": 1,
    }


def test_presence_and_device_state_follow_the_newest_event(
    engine: Engine, building_id: str
) -> None:
    rng = random.Random(3)
    with Session(engine) as session, session.begin():
        session.add(Campus(id="c", name="C", timezone="UTC"))
        session.flush()
        session.add(Building(id=building_id, campus_id="c", name="B", gateway_id="gw"))
        session.flush()
        session.add(Device(id="g1", building_id=building_id, kind="gate"))
    t0 = BASE_TS
    entry = access_event("g1", 1, rng, person="p-1", at=t0)
    exit_ = access_event("g1", 2, rng, person="p-1", direction=Direction.EXIT, at=t0 + timedelta(1))
    late = heartbeat("g1", 3, rng, at=t0 + timedelta(hours=2))
    early = heartbeat("g1", 4, rng, at=t0 + timedelta(hours=1))
    writer = BatchWriter(engine, IngestStats())
    # Out of order, across batches: the newest event time wins.
    writer.write([wire(building_id, exit_), wire(building_id, late)])
    writer.write([wire(building_id, entry), wire(building_id, early)])

    with Session(engine) as session:
        presence = session.get(Presence, ("p-1", building_id))
        assert presence is not None
        assert (presence.state, presence.event_id) == ("out", exit_.id)
        device = session.get(Device, "g1")
        assert device is not None
        assert device.last_seen_at == late.ts
        assert device.outbox_depth == late.outbox_depth
        assert device.status == "online"


def test_event_times_in_any_zone_compare_as_instants(engine: Engine, building_id: str) -> None:
    rng = random.Random(4)
    shanghai = timezone(timedelta(hours=8))
    early = access_event("g1", 1, rng, at=datetime(2026, 9, 1, 22, 0, tzinfo=shanghai))  # 14:00Z
    late = access_event("g1", 2, rng, at=datetime(2026, 9, 1, 15, 30, tzinfo=UTC))
    BatchWriter(engine, IngestStats()).write([wire(building_id, early), wire(building_id, late)])
    with Session(engine) as session:
        after = session.scalars(
            select(AccessEvent.event_id).where(
                AccessEvent.ts >= datetime(2026, 9, 1, 15, 0, tzinfo=UTC)
            )
        ).all()
        stored = session.get(AccessEvent, early.id)
    assert after == [late.id]
    assert stored is not None
    assert stored.ts == early.ts
    assert stored.ts.tzinfo is not None


def test_valid_messages_without_a_table_are_counted_as_ignored(
    engine: Engine, building_id: str
) -> None:
    """A gateway's health report decodes but is not an SQL event: counted, never a crash."""
    health = example(Family.GATEWAY_HEALTH)
    assert isinstance(health, DeviceEvent)
    topic = device_topic(building_id, health.device, Family.GATEWAY_HEALTH)
    rng = random.Random(3)
    good = wire(building_id, access_event("g1", 1, rng))
    stats = IngestStats()
    BatchWriter(engine, stats).write([(topic, encode(health)), good])

    assert _count(engine, AccessEvent) == 1
    view = stats.view(queue_depth=0, timeseries_dropped=0)
    assert view.ignored == 1
    assert view.rejected == {}
