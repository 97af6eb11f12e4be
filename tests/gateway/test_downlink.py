"""Downlink: commands and allowlists relayed to the building; unacknowledged commands reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from gateway.service import Gateway
from protocol.examples import example
from protocol.ids import new_event_id
from protocol.messages import (
    AckResult,
    AllowlistDelta,
    AllowlistSnapshot,
    Command,
    CommandAck,
    CommandAction,
    encode,
)
from protocol.topics import Family, building_topic, device_topic
from tests.gateway.helpers import BUILDING, GATES, GATEWAY_ID, TS, decoded, gateway_config


def command(device: str) -> Command:
    now = datetime.now(UTC)
    return Command(
        id=new_event_id(),
        device=device,
        action=CommandAction.UNLOCK,
        issued_at=now,
        expires_at=now + timedelta(seconds=30),
        issuer="s-0a1b",
        duration_s=5.0,
    )


def test_a_command_never_acknowledged_is_reported_timed_out(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    config = gateway_config(tmp_path, building_broker, central_broker, command_ack_timeout_s=1.0)
    silent, answering = GATES
    report_topic = device_topic(BUILDING, GATEWAY_ID, Family.COMMAND_ACK)
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(
            building_broker.host,
            building_broker.port,
            subscriptions=[device_topic(BUILDING, g, Family.COMMAND) for g in GATES],
        ) as gates,
        MqttProbe(central_broker.host, central_broker.port, subscriptions=[report_topic]) as server,
    ):
        assert gateway.central_link.wait_connected(10)
        assert gateway.building_link.wait_connected(10)
        gates.connect()
        gates.wait_subscribed()
        server.connect()
        server.wait_subscribed()
        to_silent, to_answering = command(silent), command(answering)
        for cmd in (to_silent, to_answering):
            server.publish(device_topic(BUILDING, cmd.device, Family.COMMAND), encode(cmd))
        relayed = {m.topic: decoded(m) for m in gates.expect(2, timeout_s=5)}
        assert relayed == {
            device_topic(BUILDING, silent, Family.COMMAND): to_silent,
            device_topic(BUILDING, answering, Family.COMMAND): to_answering,
        }
        ack = CommandAck(
            id=new_event_id(),
            device=answering,
            seq=1,
            ts=TS,
            command_id=to_answering.id,
            action=CommandAction.UNLOCK,
            result=AckResult.OK,
        )
        gates.publish(device_topic(BUILDING, answering, Family.COMMAND_ACK), encode(ack))

        (report,) = [decoded(m) for m in server.expect(1, timeout_s=5)]
        assert isinstance(report, CommandAck)
        assert report.device == GATEWAY_ID
        assert report.command_id == to_silent.id
        assert report.result is AckResult.EXPIRED
        assert silent in report.detail
        assert server.drain(quiet_s=1.5, max_s=3) == []  # the acknowledged one is not reported
        assert gateway.counters.snapshot().commands_timed_out == 1


def test_allowlists_are_relayed_and_the_current_version_kept_retained(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    config = gateway_config(tmp_path, building_broker, central_broker)
    snapshot = example(Family.ALLOWLIST_SNAPSHOT)
    delta = example(Family.ALLOWLIST_DELTA)
    assert isinstance(snapshot, AllowlistSnapshot)
    assert isinstance(delta, AllowlistDelta)
    snapshot_topic = building_topic(BUILDING, Family.ALLOWLIST_SNAPSHOT)
    delta_topic = building_topic(BUILDING, Family.ALLOWLIST_DELTA)
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(
            building_broker.host, building_broker.port, subscriptions=[delta_topic, snapshot_topic]
        ) as gate,
        MqttProbe(central_broker.host, central_broker.port) as server,
    ):
        assert gateway.central_link.wait_connected(10)
        gate.connect()
        gate.wait_subscribed()
        server.connect()
        server.wait_published([server.publish(snapshot_topic, encode(snapshot), retain=True)], 5)
        assert [decoded(m) for m in gate.expect(1, timeout_s=5)] == [snapshot]
        server.wait_published([server.publish(delta_topic, encode(delta))], 5)
        # The delta as it came, then the snapshot the gateway made from it.
        relayed = [decoded(m) for m in gate.expect(2, timeout_s=5)]
        assert relayed[0] == delta
        assert isinstance(relayed[1], AllowlistSnapshot)
        assert relayed[1].version == 43
        # A gate connecting now gets the current version (43) at once, retained.
        with MqttProbe(
            building_broker.host, building_broker.port, subscriptions=[snapshot_topic]
        ) as late:
            late.connect()
            late_messages = late.drain(quiet_s=1.0, max_s=5)
    assert late_messages
    assert late_messages[-1].retain
    current = decoded(late_messages[-1])
    assert isinstance(current, AllowlistSnapshot)
    assert current.version == 43
    assert {e.person for e in current.entries} == {e.person for e in delta.upserts}
    assert current.keys == snapshot.keys


def test_an_expired_command_is_not_relayed(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    config = gateway_config(tmp_path, building_broker, central_broker)
    gate = GATES[0]
    stale = Command(
        id=new_event_id(),
        device=gate,
        action=CommandAction.UNLOCK,
        issued_at=TS,
        expires_at=TS + timedelta(seconds=30),
    )
    fresh = command(gate)
    with (
        Gateway(config, connect_jitter_s=0) as gateway,
        MqttProbe(
            building_broker.host,
            building_broker.port,
            subscriptions=[device_topic(BUILDING, gate, Family.COMMAND)],
        ) as device,
        MqttProbe(central_broker.host, central_broker.port) as server,
    ):
        assert gateway.central_link.wait_connected(10)
        device.connect()
        device.wait_subscribed()
        server.connect()
        for cmd in (stale, fresh):
            server.publish(device_topic(BUILDING, gate, Family.COMMAND), encode(cmd))
        assert [decoded(m) for m in device.drain(quiet_s=1.0, max_s=5)] == [fresh]
        assert gateway.counters.snapshot().rejected == {"downlink_expired_command": 1}
