"""Allowlists: versions, deltas on revocation, published for the gates through MQTT."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from protocol.cardhash import card_hash
from protocol.codec import decode
from protocol.keys import load_public_keys, public_key_b64
from protocol.messages import AllowlistDelta, AllowlistSnapshot
from tests.server.apiclient import SeededApi, make_settings, seeded_api


@pytest.fixture
def api(
    database_url: str, tmp_path: Path, mosquitto: MosquittoBroker, building_id: str
) -> Iterator[SeededApi]:
    settings = make_settings(
        database_url,
        tmp_path,
        mqtt_enabled=True,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_topic_filter=f"dorm/v1/{building_id}/#",
    )
    with seeded_api(settings) as seeded:
        yield seeded


def test_revocations_reach_the_gates_in_the_next_delta(
    api: SeededApi, mosquitto: MosquittoBroker
) -> None:
    client, admin = api.client, api.headers("admin")
    first = client.post("/api/v1/allowlists/b1/publish", headers=admin)
    assert first.status_code == 200
    base_version = first.json()["version"]
    card_key = api.runtime.settings.card_hash_key.encode()

    with MqttProbe(
        mosquitto.host, mosquitto.port, subscriptions=["dorm/v1/b1/allowlist/delta"]
    ) as probe:
        probe.connect()
        probe.wait_subscribed()
        credentials = client.get("/api/v1/people/p-s0002/credentials", headers=admin).json()
        [card] = [c for c in credentials if c["kind"] == "card"]
        assert card["card_hash"] == card_hash(card_key, "CARD000002")

        started = time.monotonic()
        revoked = client.post(f"/api/v1/credentials/{card['id']}/revoke", headers=admin)
        assert revoked.status_code == 200
        [message] = probe.expect(1, timeout_s=5)
        assert time.monotonic() - started < 2.0
        delta = decode(message.topic, message.payload)
        assert isinstance(delta, AllowlistDelta)
        assert (delta.from_version, delta.version) == (base_version, base_version + 1)
        assert [(e.person, e.card_hashes) for e in delta.upserts] == [("p-s0002", [])]
        assert delta.removals == []

        assert client.post("/api/v1/people/p-s0003/revoke", headers=admin).status_code == 200
        [message] = probe.expect(1, timeout_s=5)
        delta = decode(message.topic, message.payload)
        assert isinstance(delta, AllowlistDelta)
        assert delta.version == base_version + 2
        assert delta.removals == ["p-s0003"]
        assert delta.upserts == []

    # The retained snapshot is the newest version, with its token keys.
    with MqttProbe(
        mosquitto.host, mosquitto.port, subscriptions=["dorm/v1/b1/allowlist/snapshot"]
    ) as probe:
        probe.connect()
        [message] = probe.expect(1, timeout_s=5)
    snapshot = decode(message.topic, message.payload)
    assert isinstance(snapshot, AllowlistSnapshot)
    assert snapshot.version == base_version + 2
    people = {entry.person: entry for entry in snapshot.entries}
    assert "p-s0003" not in people
    assert people["p-s0002"].card_hashes == []
    assert people["p-s0001"].card_hashes == [card_hash(card_key, "CARD000001")]
    assert people["p-s0001"].schedule == "students"
    assert len(snapshot.schedules["students"]) == 7
    keys = load_public_keys(api.runtime.key_dir)
    assert {(k.kid, k.public_key) for k in snapshot.keys} == {
        (kid, public_key_b64(key)) for kid, key in keys.items()
    }
    # No person in b2's list is in b1's, and no name or number is anywhere in it.
    assert "p-s0025" not in people
    assert b"Student" not in msgspec.json.encode(snapshot)


def test_a_key_rotation_sends_the_new_public_key(
    api: SeededApi, mosquitto: MosquittoBroker
) -> None:
    client, admin = api.client, api.headers("admin")
    assert client.post("/api/v1/allowlists/b2/publish", headers=admin).status_code == 200
    with MqttProbe(
        mosquitto.host, mosquitto.port, subscriptions=["dorm/v1/b2/allowlist/delta"]
    ) as probe:
        probe.connect()
        probe.wait_subscribed()
        rotated = client.post("/api/v1/token-keys/rotate", headers=admin)
        assert rotated.json() == ["k1", "k2"]
        [message] = probe.expect(1, timeout_s=5)
    delta = decode(message.topic, message.payload)
    assert isinstance(delta, AllowlistDelta)
    assert delta.keys is not None
    assert [k.kid for k in delta.keys] == ["k1", "k2"]
    # The student's next QR is signed with the new key.
    assert client.get("/api/v1/me/qr", headers=api.headers("student")).json()["kid"] == "k2"
