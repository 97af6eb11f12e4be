"""The gate agent end to end against a real Mosquitto: outages, SIGKILL, commands."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from gpiozero.pins.mock import MockFactory
from paho.mqtt.enums import CallbackAPIVersion

from devservices import MosquittoBroker
from edge.gate import GateAgent
from edge.runtime import CARD_KEY_FILE, OUTBOX_FILE, EdgeOptions, EdgeRuntime, build
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AckResult,
    Command,
    CommandAck,
    CommandAction,
    DeviceEvent,
    DeviceState,
    DeviceStatus,
    encode,
)
from protocol.topics import Family, building_topic, device_topic
from tests.edge.helpers import CARD_KEY, REPO, SITE_FILE, card_number, snapshot, write_gate_device
from tests.edge.mqtt_helpers import Collector, first_arrivals

DEVICE = "b1-gate-in"
UPLINK = f"dorm/v1/b1/dev/{DEVICE}/#"


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    """A private broker that keeps sessions and queued messages across stop/start."""
    service = MosquittoBroker(persistence=True)
    try:
        yield service.start()
    finally:
        service.close()


def publish(broker: MosquittoBroker, topic: str, payload: bytes, *, retain: bool = False) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{new_event_id()}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def state_dir_with_key(tmp_path: Path) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(CARD_KEY)
    return state


def seqs(events: Sequence[DeviceEvent]) -> list[int]:
    return [e.seq for e in events]


def access(events: list[DeviceEvent]) -> list[AccessDecision]:
    return [e for e in events if isinstance(e, AccessDecision)]


@pytest.fixture
def gate_runtime(
    tmp_path: Path, broker: MosquittoBroker, mock_factory: MockFactory
) -> Iterator[EdgeRuntime]:
    # The mock door contact starts open (pulled up, nothing pressing it): shut it.
    mock_factory.pin(27).drive_low()
    publish(
        broker,
        building_topic("b1", Family.ALLOWLIST_SNAPSHOT),
        encode(snapshot(50, issued_at=datetime.now(UTC))),
        retain=True,
    )
    runtime = build(
        EdgeOptions(
            device_path=write_gate_device(tmp_path / "devices"),
            site_path=SITE_FILE,
            state_dir=state_dir_with_key(tmp_path),
            camera=False,
            first_connect_jitter_s=0,
            broker_override=(broker.host, broker.port),
        )
    )
    runtime.readers = []  # cards are presented directly
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()
        publish(broker, building_topic("b1", Family.ALLOWLIST_SNAPSHOT), b"", retain=True)


def test_broker_outage_mid_stream_loses_nothing(
    broker: MosquittoBroker, gate_runtime: EdgeRuntime
) -> None:
    gate = gate_runtime.agent
    assert isinstance(gate, GateAgent)
    collector = Collector(broker.host, broker.port, [UPLINK])
    try:
        assert gate_runtime.link.wait_connected(10)
        deadline = time.monotonic() + 10
        while gate.allowlist_version != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert gate.allowlist_version == 1  # the retained snapshot arrived
        for i in range(30):
            gate.present_card(card_number(i % 60))  # 50 known, 10 unknown
            time.sleep(0.005)
        broker.stop()
        deadline = time.monotonic() + 10
        while gate_runtime.link.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        offline = [gate.present_card(card_number(i)) for i in range(30, 60)]
        assert all(not v.granted for v in offline[20:])  # cards 50..59 are unknown
        assert gate_runtime.outbox.depth >= 30  # waiting in the outbox
        time.sleep(0.5)
        broker.start()
        for i in range(60, 90):
            gate.present_card(card_number(i % 50))
            time.sleep(0.005)
        collector.wait_until(lambda ev: len({e.seq for e in access(ev)}) >= 90, timeout_s=30)
    finally:
        collector.close()
    unique = first_arrivals(collector.events())
    decisions = access(unique)
    assert len(decisions) == 90
    order = seqs(unique)
    assert order == sorted(order), "events arrived out of sequence order"
    # Each decision exactly once after de-duplication, and the offline ones say so.
    decision_seqs = seqs(decisions)
    assert len(set(decision_seqs)) == 90
    replayed = [d for d in decisions if d.replayed]
    assert len(replayed) >= 30
    assert all(d.replayed for d in decisions[30:60])
    assert gate_runtime.outbox.depth == 0 or gate_runtime.link.publisher.flush(10)


def test_commands_are_acknowledged_with_their_outcome(
    broker: MosquittoBroker, gate_runtime: EdgeRuntime, mock_factory: MockFactory
) -> None:
    gate = gate_runtime.agent
    assert isinstance(gate, GateAgent)
    relay = mock_factory.pin(17)
    collector = Collector(broker.host, broker.port, [f"{UPLINK[:-2]}/cmd/ack"])
    now = datetime.now(UTC)

    def command(action: CommandAction, *, expired: bool = False) -> Command:
        issued = now - timedelta(minutes=10) if expired else now
        return Command(
            id=new_event_id(),
            device=DEVICE,
            action=action,
            issued_at=issued,
            expires_at=issued + timedelta(minutes=1),
            issuer="security-1",
        )

    sent = [
        command(CommandAction.FIRE_RELEASE),
        command(CommandAction.LOCK),  # refused during fire release
        command(CommandAction.RESET),
        command(CommandAction.LOCKDOWN),
        command(CommandAction.UNLOCK),
        command(CommandAction.RELOAD_CONFIG),
        command(CommandAction.UNLOCK, expired=True),
    ]
    try:
        assert gate_runtime.link.wait_connected(10)
        topic = device_topic("b1", DEVICE, Family.COMMAND)
        publish(broker, topic, encode(sent[0]))
        deadline = time.monotonic() + 10
        while not relay.state and time.monotonic() < deadline:
            time.sleep(0.01)
        assert relay.state  # fire release: the relay is released and stays so
        for cmd in sent[1:]:
            publish(broker, topic, encode(cmd))
        publish(broker, topic, encode(sent[2]))  # a duplicate is acknowledged, not redone
        collector.wait_until(lambda ev: len(ev) >= len(sent) + 1, timeout_s=20)
    finally:
        collector.close()
    acks = [e for e in collector.events() if isinstance(e, CommandAck)]
    results = {a.command_id: a.result for a in acks}
    expected = [
        AckResult.OK,
        AckResult.REJECTED,
        AckResult.OK,
        AckResult.OK,
        AckResult.OK,
        AckResult.OK,
        AckResult.EXPIRED,
    ]
    assert [results[c.id] for c in sent] == expected
    assert "duplicate" in acks[-1].detail
    assert gate.door.lockdown  # lockdown, then a remote unlock that does not end it
    assert gate.present_card(card_number(3)).reason.value == "lockdown"
    assert gate.present_card(card_number(0)).granted  # staff


def _agent_process(
    device: Path, state: Path, broker: MosquittoBroker, log_path: Path
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", PYTHONPATH=str(REPO))
    with open(log_path, "ab") as log_file:
        process = _spawn(device, state, broker, env, log_file)
    _wait_running(log_path)
    return process


def _spawn(
    device: Path, state: Path, broker: MosquittoBroker, env: dict[str, str], log_file: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.commands.edge",
            "--device",
            str(device),
            "--site",
            str(SITE_FILE),
            "--state-dir",
            str(state),
            "--broker",
            f"{broker.host}:{broker.port}",
            "--no-camera",
            "--stdin-cards",
            "--connect-jitter",
            "0",
        ],
        stdin=subprocess.PIPE,
        stderr=log_file,
        cwd=REPO,
        env=env,
    )


def _wait_running(log_path: Path, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if b"running" in log_path.read_bytes():
            return
        time.sleep(0.05)
    raise AssertionError(f"agent did not start: {log_path.read_text()}")


def _feed(process: subprocess.Popen[bytes], cards: range) -> None:
    assert process.stdin is not None
    for i in cards:
        process.stdin.write(f"{card_number(i)}\n".encode())
        process.stdin.flush()
        time.sleep(0.004)


def test_sigkill_mid_stream_loses_nothing(tmp_path: Path, broker: MosquittoBroker) -> None:
    """Three runs of one agent: killed while publishing, killed with a backlog, then clean."""
    device = write_gate_device(tmp_path / "devices")
    state = state_dir_with_key(tmp_path)
    collector = Collector(broker.host, broker.port, [UPLINK])
    processes: list[subprocess.Popen[bytes]] = []

    def kill(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    try:
        # Run 1: SIGKILL while cards are still coming in and being published.
        processes.append(_agent_process(device, state, broker, tmp_path / "run1.log"))
        _feed(processes[-1], range(0, 80))
        kill(processes[-1])
        # Run 2: the broker goes away mid-stream; SIGKILL with a backlog in the outbox.
        processes.append(_agent_process(device, state, broker, tmp_path / "run2.log"))
        _feed(processes[-1], range(80, 120))
        broker.stop()
        _feed(processes[-1], range(120, 160))
        waiting = _outbox_settled(state / OUTBOX_FILE, at_least=40)
        kill(processes[-1])
        assert waiting >= 40  # the killed agent left events behind
        broker.start()
        # Run 3: a clean run delivers the backlog, then its own events.
        processes.append(_agent_process(device, state, broker, tmp_path / "run3.log"))
        _feed(processes[-1], range(160, 190))
        collector.wait_until(
            lambda ev: len([e for e in access(ev) if e.seq >= 2000]) >= 30, timeout_s=40
        )
        collector.wait_until(lambda ev: _complete(ev, runs=3), timeout_s=20)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(10)
        collector.close()
    unique = first_arrivals(collector.events())
    assert _complete(unique, runs=3)
    per_run = [
        len([e for e in access(unique) if base <= e.seq < base + 1000]) for base in (0, 1000, 2000)
    ]
    assert per_run[1] == 80  # run 2 read every card before it was killed
    assert per_run[2] == 30
    assert per_run[0] > 0
    order = seqs(unique)
    assert order == sorted(order), "events arrived out of sequence order"
    # The broker published each killed run's last will, and each run said it was online.
    states = [r.message.status for r in collector.received if isinstance(r.message, DeviceState)]
    assert states.count(DeviceStatus.ONLINE) >= 3
    assert DeviceStatus.OFFLINE in states


def _outbox_settled(path: Path, at_least: int, timeout_s: float = 20.0) -> int:
    """Rows in the outbox once it has at least ``at_least`` and stopped growing."""
    deadline = time.monotonic() + timeout_s
    counts: list[int] = []
    while time.monotonic() < deadline:
        with sqlite3.connect(path) as db:
            (count,) = db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        counts.append(int(count))
        if count >= at_least and counts[-4:] == [count] * 4:
            return int(count)
        time.sleep(0.1)
    raise AssertionError(f"outbox did not settle: {counts[-10:]}")


def _complete(events: Sequence[DeviceEvent], runs: int) -> bool:
    """Every run's sequence numbers, from its block's start to its last event, arrived."""
    for run in range(runs):
        base = 1000 * run
        got = sorted({e.seq for e in events if base <= e.seq < base + 1000})
        if not got or got != list(range(base, got[-1] + 1)):
            return False
    return True
