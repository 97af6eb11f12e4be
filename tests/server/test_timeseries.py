"""Telemetry, gate events and device health land in VictoriaMetrics point for point."""

from __future__ import annotations

import random
import socket
import time
from datetime import timedelta

from sqlalchemy import Engine

from devservices import VictoriaMetrics
from protocol.messages import RoomTelemetry
from server.ingest import BatchWriter, IngestStats
from server.timeseries import TimeSeriesWriter
from tests.server.factories import BASE_TS, access_event, heartbeat, telemetry, wire

ALLOWED_LABELS = {"__name__", "building", "room", "device", "kind"}


def _ms(message: RoomTelemetry) -> int:
    return int(message.ts.timestamp() * 1000)


def test_ingested_telemetry_is_read_back_point_for_point(
    engine: Engine, victoria: VictoriaMetrics, building_id: str
) -> None:
    rng = random.Random(21)
    room = f"{building_id}-r1"
    samples = [telemetry(f"{building_id}-s", room, seq, rng) for seq in range(300)]
    gate_events = [
        access_event(f"{building_id}-g", seq, rng, person=f"p-{seq:05d}", granted=seq % 4 != 0)
        for seq in range(40)
    ]
    beats = [
        heartbeat(f"{building_id}-g", 100 + i, rng, at=BASE_TS + timedelta(minutes=i))
        for i in range(5)
    ]
    messages = [wire(building_id, m) for m in [*samples, *gate_events, *beats]]
    with TimeSeriesWriter(
        victoria.url, "o", "b", "token", batch_size=100, flush_interval_ms=100
    ) as writer:
        ingest = BatchWriter(engine, IngestStats(), sink=writer)
        # Duplicates inside one batch, and in a later batch.
        ingest.write([*messages[:200], *messages[150:160]])
        ingest.write(messages[100:])
    assert writer.lost == 0
    # Duplicates are not written again (VictoriaMetrics would keep both samples).
    assert writer.written == len(messages)

    selector = f'{{building="{building_id}"}}'
    series = victoria.wait_for_export(selector, min_series=4 + 2 + 3, timeout_s=10)
    by_name = {s["metric"]["__name__"]: s for s in series if s["metric"].get("room") == room}
    expected_ts = [_ms(s) for s in samples]
    for field in ("occupancy", "power_w", "temperature_c", "smoke"):
        exported = by_name[f"room_{field}"]
        assert exported["timestamps"] == expected_ts, field
        values = [float(getattr(s, field)) for s in samples]
        assert exported["values"] == values, field
    granted = next(s for s in series if s["metric"]["__name__"] == "gate_granted")
    assert sum(granted["values"]) == sum(1 for e in gate_events if e.reason == "ok")
    assert len(granted["values"]) == len(gate_events)
    outbox = next(s for s in series if s["metric"]["__name__"] == "device_outbox_depth")
    assert outbox["values"] == [float(b.outbox_depth) for b in beats]
    # Only ids of places and devices, never a person, in what landed.
    for exported in series:
        assert set(exported["metric"]) <= ALLOWED_LABELS
        assert not any(v.startswith("p-") for v in exported["metric"].values())


def test_an_outage_never_blocks_and_every_loss_is_counted() -> None:
    rng = random.Random(22)
    samples = [telemetry("s", "r", seq, rng) for seq in range(1_000)]
    # A time-series server that takes connections and never answers: every write
    # hangs until the client's timeout, so lines pile up as in an outage.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        writer = TimeSeriesWriter(
            f"http://127.0.0.1:{silent.getsockname()[1]}",
            "o",
            "b",
            "t",
            batch_size=100,
            flush_interval_ms=50,
            max_pending=300,
            max_retries=0,
            timeout_ms=1_500,
        )
        try:
            started = time.monotonic()
            for sample in samples:
                writer.offer([("b", sample)])
            assert time.monotonic() - started < 1.0  # generous: the machine is shared
            # 300 lines wait (one chunk hangs in a write, two more queued behind it).
            assert writer.dropped == 700
        finally:
            writer.close()
    # Everything handed over failed (nobody answers): nothing vanished uncounted.
    assert writer.written == 0
    assert writer.failed == 300
    assert writer.lost == 1_000


def test_a_partial_chunk_is_written_once_it_waited_the_flush_interval(
    victoria: VictoriaMetrics,
) -> None:
    rng = random.Random(23)
    samples = [telemetry("s", "r", seq, rng) for seq in range(5)]
    with TimeSeriesWriter(
        victoria.url, "o", "b", "t", batch_size=10_000, flush_interval_ms=100
    ) as writer:
        writer.offer([("b", sample) for sample in samples])
        writer.flush_due()  # too early: kept for a fuller chunk
        time.sleep(0.15)
        assert writer.written == 0
        writer.flush_due()  # what the idle ingest writer calls
        deadline = time.monotonic() + 10
        while writer.written < len(samples) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.written == len(samples)
