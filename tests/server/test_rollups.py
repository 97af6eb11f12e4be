"""Per-minute rollups: recomputed from stored events, so duplicates never double-count."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from protocol.messages import DeviceEvent, Direction
from server.ingest import BatchWriter, IngestStats
from server.rollups import DirtyMinutes, refresh
from tests.server.apiclient import SeededApi, make_settings, seeded_api
from tests.server.factories import access_event, telemetry, wire

T0 = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[SeededApi]:
    with seeded_api(make_settings(database_url, tmp_path)) as seeded:
        yield seeded


def test_gate_flows_and_room_minutes(api: SeededApi) -> None:
    rng = random.Random(41)
    events: list[DeviceEvent] = []
    # Minute 0: 3 entries, 1 exit, 2 refusals; minute 2: 1 entry.
    for i in range(3):
        events.append(access_event("b1-gate-in", i, rng, at=T0 + timedelta(seconds=10 * i)))
    events.append(
        access_event("b1-gate-out", 3, rng, direction=Direction.EXIT, at=T0 + timedelta(seconds=40))
    )
    for i in range(2):
        events.append(
            access_event("b1-gate-in", 4 + i, rng, granted=False, at=T0 + timedelta(seconds=50))
        )
    events.append(access_event("b1-gate-in", 6, rng, at=T0 + timedelta(minutes=2, seconds=1)))
    samples = [telemetry("b1-r101-sensor", "b1-r101", seq, rng) for seq in range(90)]
    dirty = DirtyMinutes()
    writer = BatchWriter(api.runtime.engine, IngestStats(), observer=dirty.observe)
    messages = [wire("b1", e) for e in [*events, *samples]]
    writer.write(messages)
    refresh(api.runtime.sessions, dirty)
    writer.write(messages[:5])  # duplicates, and the minutes recomputed again
    refresh(api.runtime.sessions, dirty)

    params = {"building": "b1", "since": "2026-09-01T00:00:00Z", "until": "2026-09-01T01:00:00Z"}
    flows = api.client.get(
        "/api/v1/charts/gate-flows", params=params, headers=api.headers("counselor")
    ).json()
    assert [(f["minute"][11:16], f["entries"], f["exits"], f["denied"]) for f in flows] == [
        ("00:00", 3, 1, 2),
        ("00:02", 1, 0, 0),
    ]
    rooms = api.client.get(
        "/api/v1/charts/rooms",
        params={**params, "since": "2026-09-01T08:00:00Z", "until": "2026-09-01T09:00:00Z"},
        headers=api.headers("security"),
    ).json()
    # 90 samples a second apart from 08:00:00: 60 in the first minute, 30 in the next.
    assert [(r["minute"][11:16], r["samples"]) for r in rooms] == [("08:00", 60), ("08:01", 30)]
    first = samples[:60]
    assert rooms[0]["occupancy_max"] == max(s.occupancy for s in first)
    assert rooms[0]["power_w_max"] == max(s.power_w for s in first)
    assert rooms[0]["power_w_avg"] == pytest.approx(sum(s.power_w for s in first) / 60)
    wrong_building = api.client.get(
        "/api/v1/charts/gate-flows",
        params={**params, "building": "b2"},
        headers=api.headers("counselor"),
    )
    assert wrong_building.status_code == 403
