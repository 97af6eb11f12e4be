"""No name, student number or card number in clear in what leaves the SQL database.

A real run: the server (seeded with the example campus's people: names,
numbers, card numbers), a private Mosquitto, VictoriaMetrics, and a real
gate agent on MockFactory pins with the server's card-hash key. The server
publishes the b1 allowlist (signed; the gate verifies it), cards are
presented at the gate, the server ingests the decisions into SQL and the
time series. Then everything is scanned for every seeded person's name,
number and card number:

- every MQTT message on the broker (``dorm/#``, from the start of the run);
- the time series in VictoriaMetrics (all series, labels and values);
- the gate's storage: the raw bytes of every file in its state directory
  (outbox SQLite database and its WAL, allowlist cache, sequence store),
  so deleted-but-not-overwritten rows count too.

This is a gate-only run: the simulated day (issue 7) is being built
elsewhere; kiosks and room sensors are not part of it (their messages carry
room and device ids and pseudonymous person ids by the same contract).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
from sqlalchemy import func, select

from devservices import MosquittoBroker, VictoriaMetrics
from devservices.mqttprobe import MqttProbe
from edge.gate import GateAgent
from edge.runtime import CARD_KEY_FILE, EdgeOptions, build
from protocol.downlink import KeyScope
from protocol.signing import DownlinkSigner
from provisioning.writer import trust_file_json
from server.db import AccessEvent
from tests.edge.helpers import SITE_FILE, write_gate_device
from tests.server.apiclient import EXAMPLES, make_settings, seeded_api

PEOPLE_PRESENTED = 12
#: A card nobody holds: it must not appear in clear either (only its hash prefix).
UNKNOWN_CARD = "UNKNOWN-CARD-0001"


def _forbidden() -> list[str]:
    """Every seeded person's name, number and card number."""
    values: list[str] = []
    with (EXAMPLES / "people.csv").open() as handle:
        for row in csv.DictReader(handle):
            values += [row["full_name"], row["number"], row["card_number"]]
    return [v for v in values if v]


def _cards() -> list[str]:
    with (EXAMPLES / "people.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["card_number"] and "b1" in r["access"]]
    return [r["card_number"] for r in rows][:PEOPLE_PRESENTED]


def wait_for(predicate: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


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


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    service = MosquittoBroker()
    try:
        yield service.start()
    finally:
        service.close()


def test_no_personal_data_in_clear_on_mqtt_time_series_or_edge_storage(
    broker: MosquittoBroker,
    victoria: VictoriaMetrics,
    sqlite_url: str,
    tmp_path: Path,
    mock_factory: MockFactory,
) -> None:
    signer = DownlinkSigner.generate("server")
    key_file = tmp_path / "downlink.key"
    key_file.write_bytes(signer.private_pem())
    trust_file = tmp_path / "downlink-keys.json"
    trust_file.write_bytes(trust_file_json([signer.trusted(KeyScope.ALL)]))
    settings = make_settings(
        sqlite_url,
        tmp_path,
        mqtt_enabled=True,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        influx_url=victoria.url,
        influx_org="o",
        influx_bucket="b",
        influx_token="token",
        influx_flush_interval_ms=100,
        downlink_key_file=key_file,
    )
    state = tmp_path / "gate-state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(settings.card_hash_key.encode())
    mock_factory.pin(27).drive_low()

    with (
        MqttProbe(broker.host, broker.port, subscriptions=["dorm/#"]) as wire,
        seeded_api(settings) as api,
    ):
        assert not wire.connect().is_failure
        wire.wait_subscribed()
        gate = build(
            EdgeOptions(
                device_path=write_gate_device(tmp_path / "devices"),
                site_path=SITE_FILE,
                state_dir=state,
                camera=False,
                first_connect_jitter_s=0,
                broker_override=(broker.host, broker.port),
                downlink_keys_path=trust_file,
            )
        )
        gate.readers = []
        gate.start()
        try:
            agent = gate.agent
            assert isinstance(agent, GateAgent)
            assert gate.link.wait_connected(10)
            published = api.client.post(
                "/api/v1/allowlists/b1/publish", headers=api.headers("admin")
            )
            assert published.status_code == 200, published.text
            assert wait_for(lambda: agent.allowlist_version >= 1), "signed allowlist not taken"
            assert agent.downlink_refused == 0
            verdicts = [agent.present_card(card) for card in _cards()]
            verdicts.append(agent.present_card(UNKNOWN_CARD))
            assert sum(v.person is not None for v in verdicts) == PEOPLE_PRESENTED
            agent.heartbeat()

            def ingested() -> int:
                with api.runtime.sessions() as session:
                    return int(session.scalar(select(func.count()).select_from(AccessEvent)) or 0)

            assert wait_for(lambda: ingested() >= PEOPLE_PRESENTED + 1), "not ingested"
            assert api.runtime.timeseries is not None  # written every 100 ms
            series = victoria.wait_for_export(
                '{__name__=~"gate_.*",device="b1-gate-in"}', min_series=1, timeout_s=15
            )
            assert series
        finally:
            gate.stop()
        messages = wire.drain(quiet_s=0.5, max_s=5)

    everything = victoria.export('{__name__=~".+"}')
    haystacks: dict[str, bytes] = {
        "mqtt": b"\n".join(m.topic.encode() + b" " + m.payload for m in messages),
        "timeseries": repr(everything).encode(),
    }
    for path in sorted(state.rglob("*")):
        if path.is_file():
            haystacks[f"edge:{path.name}"] = path.read_bytes()

    # The scan sees real data: pseudonymous ids and keyed card hashes are there.
    assert b"p-s0001" in haystacks["mqtt"]
    assert b"event/access" in haystacks["mqtt"]
    assert any(name.startswith("edge:outbox") for name in haystacks)
    assert any(b"p-s0001" in data for name, data in haystacks.items() if name != "mqtt")
    forbidden = [*_forbidden(), UNKNOWN_CARD]
    assert len(forbidden) > 100
    leaks = [
        (where, value)
        for where, data in haystacks.items()
        for value in forbidden
        if value.encode() in data
    ]
    assert leaks == []
