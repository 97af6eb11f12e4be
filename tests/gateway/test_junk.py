"""10,000 junk messages interleaved with valid traffic: all valid delivered, junk counted."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from gateway.service import Gateway
from tests.gateway.helpers import (
    BUILDING,
    Collector,
    access,
    event_key,
    gateway_config,
    wait_for,
    wire,
)
from tests.gateway.junk import junk

JUNK = 10_000
VALID = 5_000


def test_junk_is_counted_by_reason_and_valid_traffic_flows(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    rng = random.Random(20260901)
    config = gateway_config(tmp_path, building_broker, central_broker)
    collector = Collector(central_broker, f"dorm/v1/{BUILDING}/dev/+/event/#").start()
    expected_reasons: Counter[str] = Counter()
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(building_broker.host, building_broker.port) as good,
        MqttProbe(building_broker.host, building_broker.port) as bad,
    ):
        assert gateway.building_link.wait_connected(10)
        assert gateway.central_link.wait_connected(10)
        good.connect()
        bad.connect()
        infos = []
        seq = 0
        for n, (topic, payload, reason) in enumerate(junk(rng, JUNK)):
            expected_reasons[reason] += 1
            infos.append(bad.publish(topic, payload))
            if n % 2 == 0:
                seq += 1
                infos.append(good.publish(*wire(access("b1-gate-in", seq))))
            if len(infos) >= 500:
                bad.wait_published(infos[::2], 30)
                good.wait_published(infos[1::2], 30)
                infos = []
        bad.wait_published(infos[::2], 30)
        good.wait_published(infos[1::2], 30)
        received = collector.collect_until(lambda r: len(r) >= VALID, timeout_s=60)
        wait_for(lambda: gateway.counters.snapshot().received >= JUNK + VALID, 30)
        snapshot = gateway.counters.snapshot()
        assert gateway.uplink.running
    collector.close()
    assert {event_key(m.payload) for m in received} == {
        ("b1-gate-in", s) for s in range(1, VALID + 1)
    }
    assert snapshot.rejected == dict(expected_reasons)
    assert snapshot.received == JUNK + VALID
