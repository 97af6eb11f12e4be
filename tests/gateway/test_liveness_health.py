"""Liveness (silent for three heartbeats → offline upstream) and the gateway's own health."""

from __future__ import annotations

import time
from pathlib import Path

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from gateway.service import Gateway
from protocol.messages import DeviceState, DeviceStatus, GatewayHealth
from protocol.topics import Family, device_topic
from tests.gateway.helpers import (
    BUILDING,
    GATEWAY_ID,
    SENSOR,
    access,
    decoded,
    gateway_config,
    heartbeat,
    wire,
)

INTERVAL_S = 0.4


def test_a_silent_device_is_reported_offline_then_online_again(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    config = gateway_config(
        tmp_path, building_broker, central_broker, known_devices=frozenset({SENSOR}), tick_s=0.05
    )
    state_topic = device_topic(BUILDING, SENSOR, Family.STATE)
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(central_broker.host, central_broker.port, subscriptions=[state_topic]) as server,
        MqttProbe(building_broker.host, building_broker.port) as sensor,
    ):
        assert gateway.building_link.wait_connected(10)
        assert gateway.central_link.wait_connected(10)
        server.connect()
        server.wait_subscribed()
        sensor.connect()
        sensor.publish(*wire(heartbeat(SENSOR, 1, INTERVAL_S), Family.HEARTBEAT))
        heard_at = time.monotonic()
        for seq in range(2, 5):  # still alive
            time.sleep(INTERVAL_S / 2)
            sensor.publish(*wire(heartbeat(SENSOR, seq, INTERVAL_S), Family.HEARTBEAT))
            heard_at = time.monotonic()
        (offline,) = server.expect(1, timeout_s=5)
        silent_s = time.monotonic() - heard_at
        state = decoded(offline)
        assert isinstance(state, DeviceState)
        assert state.status is DeviceStatus.OFFLINE
        assert 3 * INTERVAL_S <= silent_s < 3 * INTERVAL_S + 1.0
        assert gateway.liveness.offline == 1
        # Retained upstream: whoever connects later sees the device offline.
        with MqttProbe(
            central_broker.host, central_broker.port, subscriptions=[state_topic]
        ) as late:
            late.connect()
            (retained,) = late.expect(1, timeout_s=5)
        assert retained.retain
        assert decoded(retained) == state

        sensor.publish(*wire(heartbeat(SENSOR, 5, INTERVAL_S), Family.HEARTBEAT))
        (online,) = server.expect(1, timeout_s=5)
        state = decoded(online)
        assert isinstance(state, DeviceState)
        assert state.status is DeviceStatus.ONLINE
    assert gateway.counters.snapshot().offline_reported == 1


def test_health_is_published_upstream(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    config = gateway_config(tmp_path, building_broker, central_broker, health_interval_s=0.5)
    health_topic = device_topic(BUILDING, GATEWAY_ID, Family.GATEWAY_HEALTH)
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(central_broker.host, central_broker.port, subscriptions=[health_topic]) as server,
        MqttProbe(building_broker.host, building_broker.port) as device,
    ):
        assert gateway.building_link.wait_connected(10)
        server.connect()
        server.wait_subscribed()
        device.connect()
        infos = [device.publish(*wire(access("b1-gate-in", s))) for s in (1, 2, 2)]
        device.publish(device_topic(BUILDING, "b1-gate-in", Family.ACCESS), b"{oops")
        device.wait_published(infos, 5)
        deadline = time.monotonic() + 10
        report: GatewayHealth | None = None
        while report is None or report.received < 4:
            assert time.monotonic() < deadline, f"no complete health report: {report}"
            message = decoded(server.expect(1, timeout_s=5)[0])
            assert isinstance(message, GatewayHealth)
            report = message
    assert report.device == GATEWAY_ID
    assert report.duplicates == 1
    assert report.rejected == {"malformed": 1}
    assert report.uplink_connected
    assert report.outbox_max == config.outbox_max_rows
