"""A forged allowlist and a forged command are refused by a real gate agent.

The gate agent runs as in production: built from its device file, connected
with its provisioned credential to the b1 broker started from the generated
files, checking downlink signatures against its provisioned
``downlink-keys.json``. The attacker holds the building gateway's broker
credential (which may write commands and allowlists on the building broker):
a compromised gateway or broker. Only what the server's downlink key signed,
and a fire_release signed by the gateway's own key, gets through.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from devservices.mqttprobe import MqttProbe
from edge.gate import GateAgent
from edge.runtime import CARD_KEY_FILE, EdgeOptions, EdgeRuntime, build
from gateway.config import BrokerAddress, from_campus
from gateway.service import Gateway
from protocol.codec import decode
from protocol.ids import new_event_id
from protocol.messages import (
    AckResult,
    AllowlistDelta,
    Command,
    CommandAck,
    CommandAction,
    Heartbeat,
    PersonKind,
    RoomTelemetry,
    encode,
)
from protocol.signing import DownlinkSigner, load_signer
from protocol.topics import Family, building_topic, device_topic
from tests.edge.helpers import CARD_KEY, SITE_FILE, card_number, entry, snapshot, write_gate_device
from tests.security.brokers import free_port_pair
from tests.security.conftest import Provisioned

DEVICE = "b1-gate-in"
CMD_TOPIC = device_topic("b1", DEVICE, Family.COMMAND)
SNAPSHOT_TOPIC = building_topic("b1", Family.ALLOWLIST_SNAPSHOT)
DELTA_TOPIC = building_topic("b1", Family.ALLOWLIST_DELTA)


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.reset()
        Device.pin_factory = previous


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def attacker(provisioned: Provisioned) -> Iterator[MqttProbe]:
    """A client with the building gateway's credential, watching the gate's uplink."""
    broker = provisioned.brokers["b1"]
    probe = MqttProbe(
        broker.host,
        broker.port,
        username="b1-gw",
        password=provisioned.password("b1-gw"),
        subscriptions=[f"dorm/v1/b1/dev/{DEVICE}/#"],
    )
    with probe:
        assert not probe.connect().is_failure
        probe.wait_subscribed()
        yield probe
        # Leave no retained snapshot behind for other tests.
        probe.wait_published([probe.publish(SNAPSHOT_TOPIC, b"", retain=True)], timeout_s=5)


@pytest.fixture
def server_key(provisioned: Provisioned) -> DownlinkSigner:
    return load_signer(provisioned.out / "server" / "downlink.key", "server")


@pytest.fixture
def gateway_key(provisioned: Provisioned) -> DownlinkSigner:
    return load_signer(provisioned.out / "gateways" / "b1-gw" / "downlink.key", "b1-gw")


@pytest.fixture
def gate(
    provisioned: Provisioned,
    tmp_path: Path,
    mock_factory: MockFactory,
    attacker: MqttProbe,
    server_key: DownlinkSigner,
) -> Iterator[EdgeRuntime]:
    mock_factory.pin(27).drive_low()  # door shut
    genuine = snapshot(5, issued_at=datetime.now(UTC))
    attacker.wait_published(
        [
            attacker.publish(
                SNAPSHOT_TOPIC, server_key.sign(SNAPSHOT_TOPIC, encode(genuine)), retain=True
            )
        ],
        timeout_s=5,
    )
    state = tmp_path / "state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(CARD_KEY)
    broker = provisioned.brokers["b1"]
    runtime = build(
        EdgeOptions(
            device_path=write_gate_device(tmp_path / "devices"),
            site_path=SITE_FILE,
            state_dir=state,
            camera=False,
            first_connect_jitter_s=0,
            broker_override=(broker.host, broker.port),
            mqtt_username=DEVICE,
            mqtt_password=provisioned.password(DEVICE),
            downlink_keys_path=provisioned.out / "devices" / DEVICE / "downlink-keys.json",
        )
    )
    runtime.readers = []
    runtime.start()
    try:
        assert runtime.link.wait_connected(10)
        agent = runtime.agent
        assert isinstance(agent, GateAgent)
        assert wait_for(lambda: agent.allowlist_version == 1), "signed snapshot not taken"
        yield runtime
    finally:
        runtime.stop()


def _command(action: CommandAction) -> Command:
    now = datetime.now(UTC)
    return Command(
        id=new_event_id(),
        device=DEVICE,
        action=action,
        issued_at=now,
        expires_at=now + timedelta(minutes=1),
    )


def _acks(probe: MqttProbe) -> dict[str, CommandAck]:
    acks = {}
    for message in probe.drain(quiet_s=0.5, max_s=5):
        if message.topic.endswith("/cmd/ack"):
            ack = decode(message.topic, message.payload)
            assert isinstance(ack, CommandAck)
            acks[ack.command_id] = ack
    return acks


def test_forged_and_unsigned_allowlists_are_refused(
    gate: EdgeRuntime, attacker: MqttProbe, server_key: DownlinkSigner
) -> None:
    agent = gate.agent
    assert isinstance(agent, GateAgent)
    intruder = 99
    assert not agent.present_card(card_number(intruder)).granted
    forger = DownlinkSigner.generate("server")  # claims the server's key id
    forged_snapshot = snapshot(100, version=2, issued_at=datetime.now(UTC))
    forged_delta = AllowlistDelta(
        building="b1",
        from_version=1,
        version=2,
        issued_at=datetime.now(UTC),
        upserts=[entry(intruder, PersonKind.STAFF)],  # staff: no curfew
    )
    infos = [
        attacker.publish(SNAPSHOT_TOPIC, forger.sign(SNAPSHOT_TOPIC, encode(forged_snapshot))),
        attacker.publish(SNAPSHOT_TOPIC, encode(forged_snapshot)),
        attacker.publish(DELTA_TOPIC, encode(forged_delta)),
        # genuinely signed, but for building b2's topic: replayed here, refused
        attacker.publish(
            DELTA_TOPIC,
            server_key.sign(building_topic("b2", Family.ALLOWLIST_DELTA), encode(forged_delta)),
        ),
    ]
    attacker.wait_published(infos, timeout_s=5)
    assert wait_for(lambda: agent.downlink_refused >= 4)
    assert agent.downlink_refused == 4
    assert agent.rejected["downlink_bad_signature"] == 2
    assert agent.rejected["downlink_unsigned"] == 2
    assert agent.allowlist_version == 1
    assert not agent.present_card(card_number(intruder)).granted

    # A genuinely signed delta is applied.
    genuine = server_key.sign(DELTA_TOPIC, encode(forged_delta))
    attacker.wait_published([attacker.publish(DELTA_TOPIC, genuine)], timeout_s=5)
    assert wait_for(lambda: agent.allowlist_version == 2)
    assert agent.present_card(card_number(intruder)).granted

    # The refusals are reported upstream in a heartbeat.
    beats = [
        decode(m.topic, m.payload)
        for m in attacker.drain(quiet_s=0.5, max_s=5)
        if m.topic.endswith("/heartbeat")
    ]
    assert any(isinstance(b, Heartbeat) and b.downlink_refused >= 1 for b in beats)


def test_forged_commands_are_refused_and_signed_ones_obeyed(
    gate: EdgeRuntime,
    attacker: MqttProbe,
    server_key: DownlinkSigner,
    gateway_key: DownlinkSigner,
    mock_factory: MockFactory,
) -> None:
    agent = gate.agent
    relay = mock_factory.pin(17)
    unsigned = _command(CommandAction.UNLOCK)
    forged = _command(CommandAction.UNLOCK)
    by_gateway = _command(CommandAction.UNLOCK)  # the gateway's key may not unlock
    attacker.drain(quiet_s=0.3, max_s=2)
    infos = [
        attacker.publish(CMD_TOPIC, encode(unsigned)),
        attacker.publish(
            CMD_TOPIC, DownlinkSigner.generate("server").sign(CMD_TOPIC, encode(forged))
        ),
        attacker.publish(CMD_TOPIC, gateway_key.sign(CMD_TOPIC, encode(by_gateway))),
    ]
    attacker.wait_published(infos, timeout_s=5)
    assert wait_for(lambda: agent.downlink_refused >= 3)
    assert agent.rejected["downlink_unsigned"] == 1
    assert agent.rejected["downlink_bad_signature"] == 1
    assert agent.rejected["downlink_key_out_of_scope"] == 1
    assert not relay.state  # the door never opened
    refused_acks = _acks(attacker)
    assert not {unsigned.id, forged.id, by_gateway.id} & set(refused_acks)

    genuine = _command(CommandAction.UNLOCK)
    fire = _command(CommandAction.FIRE_RELEASE)
    attacker.wait_published(
        [attacker.publish(CMD_TOPIC, server_key.sign(CMD_TOPIC, encode(genuine)))], timeout_s=5
    )
    assert wait_for(lambda: relay.state)
    attacker.wait_published(
        [attacker.publish(CMD_TOPIC, gateway_key.sign(CMD_TOPIC, encode(fire)))], timeout_s=5
    )
    acks = _acks(attacker)
    assert acks[genuine.id].result is AckResult.OK
    assert acks[fire.id].result is AckResult.OK
    assert agent.downlink_refused == 3


def test_the_gateway_releases_the_doors_on_its_own_key_with_the_server_away(
    provisioned: Provisioned,
    gate: EdgeRuntime,
    attacker: MqttProbe,
    tmp_path: Path,
    mock_factory: MockFactory,
) -> None:
    """Smoke in b1 with the central broker unreachable: the gateway's signed release opens."""
    agent = gate.agent
    relay = mock_factory.pin(17)
    b1 = provisioned.brokers["b1"]
    closed_port = free_port_pair()[0]  # nothing listens there: the central side is away
    config = from_campus(
        provisioned.campus,
        "b1",
        central=BrokerAddress(b1.host, closed_port),
        building_broker=BrokerAddress(b1.host, b1.port),
        state_dir=tmp_path / "gateway",
        mqtt_username="b1-gw",
        mqtt_password=provisioned.password("b1-gw"),
        downlink_key_path=provisioned.out / "gateways" / "b1-gw" / "downlink.key",
    )
    sensor = MqttProbe(
        b1.host, b1.port, username="b1-r101-sensor", password=provisioned.password("b1-r101-sensor")
    )
    with Gateway(config, connect_jitter_s=0) as gateway, sensor:
        assert gateway.building_link.wait_connected(10)
        assert not gateway.central_link.connected
        assert not sensor.connect().is_failure
        smoke = RoomTelemetry(
            id=new_event_id(),
            device="b1-r101-sensor",
            seq=1,
            ts=datetime.now(UTC),
            room="b1-r101",
            occupancy=2,
            power_w=120.0,
            temperature_c=48.0,
            smoke=True,
        )
        topic = device_topic("b1", "b1-r101-sensor", Family.TELEMETRY)
        sensor.wait_published([sensor.publish(topic, encode(smoke))], timeout_s=5)
        assert wait_for(lambda: relay.state), "the gate did not release"
        acks = _acks(attacker)
    assert [a.action for a in acks.values()] == [CommandAction.FIRE_RELEASE]
    assert all(a.result is AckResult.OK for a in acks.values())
    assert agent.downlink_refused == 0
