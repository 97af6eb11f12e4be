"""The uplink pipeline without brokers: any bytes on any topic, counted once, never raising.

Also the disk quota: with the central side away, telemetry is shed before
events and the warning level is reported.
"""

from __future__ import annotations

import json
import queue
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import BrokerAddress, GatewayConfig
from gateway.counters import GatewayCounters
from gateway.health import HealthReporter
from gateway.links import Received
from gateway.store import GatewayOutbox
from gateway.uplink import UplinkPipeline
from protocol.codec import decode
from protocol.messages import AccessDecision, encode
from protocol.topics import Family
from tests.gateway.helpers import access, telemetry, wire

ADDRESS = BrokerAddress("127.0.0.1", 1)


class Harness:
    def __init__(self, state_dir: Path, **overrides: Any) -> None:
        self.config = GatewayConfig(
            building="b1",
            gateway_id="b1-gw",
            building_broker=ADDRESS,
            central_broker=ADDRESS,
            state_dir=state_dir,
            **overrides,
        )
        self.counters = GatewayCounters()
        self.outbox = GatewayOutbox(self.config.outbox_path, max_rows=self.config.outbox_max_rows)
        self.acked: list[int] = []
        self.pipeline = self._pipeline()

    def _pipeline(self) -> UplinkPipeline:
        import queue

        return UplinkPipeline(
            self.config,
            queue.Queue(),
            self.outbox,
            self.counters,
            ack=lambda mid, _qos: self.acked.append(mid),
            stored=lambda: None,
            uplink_connected=lambda: False,
        )

    def reopen(self) -> None:
        """As after a SIGKILL: the state comes back from the file alone."""
        self.outbox.close()
        self.outbox = GatewayOutbox(self.config.outbox_path, max_rows=self.config.outbox_max_rows)
        self.pipeline = self._pipeline()

    def feed(self, items: list[tuple[str, bytes]]) -> None:
        start = len(self.acked)
        batch = [Received(t, p, start + n + 1, 1, False) for n, (t, p) in enumerate(items)]
        self.pipeline.process(batch)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.outbox.close()


topics = st.sampled_from(
    [
        "dorm/v1/b1/dev/b1-gate-in/event/access",
        "dorm/v1/b1/dev/b1-gate-in/telemetry",
        "dorm/v1/b1/dev/b1-gate-in/cmd",
        "dorm/v1/b2/dev/b2-gate-in/event/access",
        "dorm/v1/b1/dev/B1/event/access",
        "dorm/v1/b1/allowlist/snapshot",
        "",
    ]
)
valid_json = json.loads(encode(access("b1-gate-in", 7)))
mutated = st.builds(
    lambda key, value: json.dumps({**valid_json, key: value}).encode(),
    st.sampled_from(sorted(valid_json)),
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.lists(st.integers()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.tuples(topics, st.binary(max_size=300) | mutated), max_size=30))
def test_any_input_is_stored_or_counted_and_always_acknowledged(
    items: list[tuple[str, bytes]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness(Path(tmp))
        try:
            valid = [wire(access("b1-gate-in", 1000 + n)) for n in range(3)]
            h.feed([*items, *valid])
            snapshot = h.counters.snapshot()
            stored = h.outbox.depth
            assert snapshot.received == len(items) + 3
            assert sum(snapshot.rejected.values()) + snapshot.duplicates + stored == len(items) + 3
            assert len(h.acked) == len(items) + 3  # even junk is acknowledged: it is counted
            seqs = [
                m.seq
                for row in h.outbox.next_batch(100)
                if isinstance(m := decode(row.topic, row.payload), AccessDecision)
            ]
            assert seqs[-3:] == [1000, 1001, 1002]
        finally:
            h.outbox.close()


def test_dedupe_marks_survive_a_restart(harness: Harness) -> None:
    harness.feed([wire(access("b1-gate-in", s)) for s in range(1, 101)])
    harness.reopen()
    # The building broker redelivers the tail it never got an acknowledgement for.
    harness.feed([wire(access("b1-gate-in", s)) for s in range(90, 111)])
    assert harness.outbox.depth == 110
    assert harness.counters.snapshot().duplicates == 11


def test_a_device_that_restarts_its_numbering_is_not_silenced(tmp_path: Path) -> None:
    h = Harness(tmp_path, dedupe_window=100)
    try:
        h.feed([wire(access("b1-gate-in", s)) for s in range(1000, 1010)])
        h.feed([wire(access("b1-gate-in", s)) for s in range(1, 4)])
        h.reopen()
        h.feed([wire(access("b1-gate-in", s)) for s in (3, 4)])  # 3 is a repeat, 4 is new
        assert h.outbox.depth == 14
        assert h.counters.snapshot().seq_resets == 1
    finally:
        h.outbox.close()


def test_quota_sheds_telemetry_before_events_and_warns(tmp_path: Path) -> None:
    h = Harness(tmp_path, outbox_max_rows=100)
    try:
        health = HealthReporter(
            "b1-gw",
            h.counters,
            h.outbox,
            forwarded=lambda: 0,
            uplink_connected=lambda: False,
            devices_offline=lambda: 0,
            next_seq=lambda: 1,
            interval_s=3600,
        )
        assert health.due()  # the first report
        health.build()
        h.feed([wire(telemetry("b1-r101-sensor", s), Family.TELEMETRY) for s in range(1, 61)])
        h.feed([wire(access("b1-gate-in", s)) for s in range(1, 31)])
        assert h.outbox.depth == 90
        assert health.due(), "crossing 90 % of the quota is reported at once"
        h.feed([wire(access("b1-gate-in", s)) for s in range(31, 81)])
        report = health.build()
        assert report.outbox_depth == 100
        assert report.outbox_warning
        assert report.shed_telemetry == 40  # events evicted the oldest telemetry
        rows = h.outbox.next_batch(200)
        events = [r for r in rows if r.topic.endswith("/event/access")]
        assert len(events) == 80
        assert all(isinstance(decode(r.topic, r.payload), AccessDecision) for r in events)
        replayed = [decode(r.topic, r.payload) for r in events]
        assert all(isinstance(m, AccessDecision) and m.replayed for m in replayed)
    finally:
        h.outbox.close()


def test_a_device_replay_mark_survives_a_live_gateway(tmp_path: Path) -> None:
    """The gateway stamps its own backlog as replayed and keeps the device's own mark."""
    h = Harness(tmp_path)
    h.pipeline = UplinkPipeline(
        h.config,
        queue.Queue(),
        h.outbox,
        h.counters,
        ack=lambda mid, _qos: h.acked.append(mid),
        stored=lambda: None,
        uplink_connected=lambda: True,
    )
    try:
        from_device_backlog = msgspec.structs.replace(access("b1-gate-in", 1), replayed=True)
        h.feed([wire(from_device_backlog), wire(access("b1-gate-in", 2))])
        rows = h.outbox.next_batch(10)
        marks = [
            m.replayed for r in rows if isinstance(m := decode(r.topic, r.payload), AccessDecision)
        ]
        assert marks == [True, False]
    finally:
        h.outbox.close()
