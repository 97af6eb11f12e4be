"""The hand-off queue: drops counted when acknowledged on receipt, waits when not."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from server.ingest import IngestPipeline, IngestStats


def test_a_full_queue_drops_messages_already_acknowledged(engine: Engine) -> None:
    pipeline = IngestPipeline(engine, IngestStats(), queue_size=2)
    started = time.monotonic()
    for _ in range(5):
        pipeline.enqueue("dorm/v1/b/dev/d/telemetry", b"{}", None)
    assert time.monotonic() - started < 0.5
    view = pipeline.stats.view(queue_depth=pipeline.queue_depth, timeseries_dropped=0)
    assert (view.received, view.queue_dropped, view.queue_depth) == (5, 3, 2)


def test_a_full_queue_waits_for_the_writer_when_not_yet_acknowledged(engine: Engine) -> None:
    pipeline = IngestPipeline(engine, IngestStats(), queue_size=2, batch_interval_s=0.01)
    acknowledged: list[tuple[int, int]] = []
    pipeline.acknowledge = acknowledged.extend
    for mid in range(2):
        pipeline.enqueue("dorm/v1/b/dev/d/telemetry", b"{}", (1, mid))
    third = threading.Thread(
        target=pipeline.enqueue, args=("dorm/v1/b/dev/d/telemetry", b"{}", (1, 2))
    )
    third.start()
    third.join(0.3)
    assert third.is_alive()  # waiting for room, not dropping
    pipeline.start()  # the writer makes room (the messages are rejected, and acknowledged)
    try:
        third.join(5)
        assert not third.is_alive()
        assert pipeline.wait_idle(5)
    finally:
        pipeline.stop()
    view = pipeline.stats.view(queue_depth=pipeline.queue_depth, timeseries_dropped=0)
    assert view.queue_dropped == 0
    assert view.rejected == {"missing_field": 3}
    assert sorted(acknowledged) == [(1, 0), (1, 1), (1, 2)]


def test_a_backlog_is_written_in_bigger_batches(engine: Engine) -> None:
    pipeline = IngestPipeline(
        engine, IngestStats(), batch_size=5, backlog_batch_size=20, batch_interval_s=0.01
    )
    # 25 waiting: more than two batches, as when a broker sends a whole backlog.
    for _ in range(25):
        pipeline.enqueue("dorm/v1/b/dev/d/telemetry", b"{}", None)
    pipeline.start()
    try:
        assert pipeline.wait_idle(5)
    finally:
        pipeline.stop()
    view = pipeline.stats.view(queue_depth=pipeline.queue_depth, timeseries_dropped=0)
    assert view.rejected == {"missing_field": 25}
    # 20 while more than two batches waited, then the 5 left as one normal batch.
    assert view.batches == 2
