"""Fire release on the gateway's own: central broker down, smoke → every gate within 1 s."""

from __future__ import annotations

import time
from pathlib import Path

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from gateway.service import Gateway
from protocol.codec import decode
from protocol.ids import new_event_id
from protocol.messages import AckResult, Command, CommandAck, CommandAction, GatewayHealth, encode
from protocol.topics import Family, device_topic
from tests.gateway.helpers import (
    BUILDING,
    GATES,
    SENSOR,
    TS,
    decoded,
    gateway_config,
    telemetry,
    wait_for,
    wire,
)


def test_smoke_releases_every_gate_within_a_second_with_central_down(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    central_broker.stop()
    config = gateway_config(tmp_path, building_broker, central_broker, fire_resend_s=0.5)
    cmd_topics = [device_topic(BUILDING, gate, Family.COMMAND) for gate in GATES]
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(building_broker.host, building_broker.port, subscriptions=cmd_topics) as gates,
        MqttProbe(building_broker.host, building_broker.port) as sensor,
    ):
        assert gateway.building_link.wait_connected(10)
        assert not gateway.central_link.connected
        gates.connect()
        gates.wait_subscribed()
        sensor.connect()
        sensor.wait_published([sensor.publish(*wire(telemetry(SENSOR, 1), Family.TELEMETRY))], 5)
        time.sleep(0.3)
        assert gates.messages.empty(), "clear air releases nothing"

        started = time.monotonic()
        sensor.publish(*wire(telemetry(SENSOR, 2, smoke=True), Family.TELEMETRY))
        first = gates.expect(len(GATES), timeout_s=1.0)
        elapsed_s = time.monotonic() - started
        commands = [decoded(m) for m in first]
        assert all(isinstance(c, Command) for c in commands)
        assert {c.device for c in commands if isinstance(c, Command)} == set(GATES)
        assert all(
            isinstance(c, Command) and c.action is CommandAction.FIRE_RELEASE for c in commands
        )
        assert elapsed_s < 1.0

        # The first gate acknowledges; more smoke sends nothing new to it, but the
        # silent second gate is sent the release again.
        acked = next(c for c in commands if isinstance(c, Command) and c.device == GATES[0])
        ack = CommandAck(
            id=new_event_id(),
            device=GATES[0],
            seq=1,
            ts=TS,
            command_id=acked.id,
            action=CommandAction.FIRE_RELEASE,
            result=AckResult.OK,
        )
        sensor.publish(device_topic(BUILDING, GATES[0], Family.COMMAND_ACK), encode(ack))
        for seq in range(3, 8):
            sensor.publish(*wire(telemetry(SENSOR, seq, smoke=True), Family.TELEMETRY))
        again = [decoded(m) for m in gates.expect(1, timeout_s=2.0)]
        assert [c.device for c in again if isinstance(c, Command)] == [GATES[1]]

        snapshot = gateway.counters.snapshot()
        assert snapshot.fire_releases == 1
        # Recorded upstream: a health report with the release waits in the outbox.
        wait_for(lambda: gateway.outbox.depth > 0, 5)
        health = [
            decode(row.topic, row.payload)
            for row in gateway.outbox.next_batch(1000)
            if row.topic.endswith("/gateway/health")
        ]
        assert any(isinstance(h, GatewayHealth) and h.fire_releases == 1 for h in health)
        assert all(isinstance(h, GatewayHealth) and not h.uplink_connected for h in health)
