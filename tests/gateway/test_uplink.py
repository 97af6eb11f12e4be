"""Uplink through two real brokers: stamped, de-duplicated, rejected by reason, in order."""

from __future__ import annotations

from pathlib import Path

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from gateway.service import Gateway
from protocol.messages import AccessDecision, DeviceState, DeviceStatus, encode
from protocol.topics import Family, device_topic
from tests.gateway.helpers import (
    BUILDING,
    TS,
    Collector,
    access,
    decoded,
    event_key,
    gateway_config,
    wait_for,
    wire,
)


def test_valid_events_are_stamped_and_forwarded_once_in_order(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    config = gateway_config(tmp_path, building_broker, central_broker)
    collector = Collector(central_broker, f"dorm/v1/{BUILDING}/dev/+/event/#").start()
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(building_broker.host, building_broker.port) as device,
    ):
        assert gateway.building_link.wait_connected(10)
        assert gateway.central_link.wait_connected(10)
        device.connect()
        infos = []
        for seq in range(1, 1001):
            infos.append(device.publish(*wire(access("b1-gate-in", seq))))
        # The same events again (a device re-sending after lost PUBACKs): dropped.
        for seq in range(990, 1001):
            infos.append(device.publish(*wire(access("b1-gate-in", seq))))
        device.wait_published(infos, timeout_s=20)
        received = collector.collect_until(lambda r: len(r) >= 1000, timeout_s=20)
        assert collector.quiet(1.0) == []  # nothing more: the repeats were not forwarded
        messages = [decoded(m) for m in received]
        assert [m.seq for m in messages if isinstance(m, AccessDecision)] == list(range(1, 1001))
        assert all(isinstance(m, AccessDecision) and m.received_at is not None for m in messages)
        assert not any(isinstance(m, AccessDecision) and m.replayed for m in messages)
        snapshot = gateway.counters.snapshot()
        assert snapshot.duplicates == 11
        assert snapshot.received == 1011
    collector.close()
    assert {event_key(m.payload) for m in received} == {("b1-gate-in", s) for s in range(1, 1001)}


def test_device_state_is_forwarded_retained(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    config = gateway_config(tmp_path, building_broker, central_broker)
    topic = device_topic(BUILDING, "b1-gate-in", Family.STATE)
    state = DeviceState(device="b1-gate-in", status=DeviceStatus.ONLINE, ts=TS)
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(building_broker.host, building_broker.port) as device,
    ):
        assert gateway.central_link.wait_connected(10)
        device.connect()
        device.wait_published([device.publish(topic, encode(state), retain=True)], 10)
        wait_for(lambda: gateway.publisher.stats.acknowledged >= 1, timeout_s=10)
        # A subscriber that comes later still gets it: it is retained upstream.
        with MqttProbe(central_broker.host, central_broker.port, subscriptions=[topic]) as late:
            late.connect()
            (message,) = late.expect(1, timeout_s=10)
        assert message.retain
        assert decoded(message) == state
