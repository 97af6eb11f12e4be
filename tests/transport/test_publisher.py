"""OutboxPublisher against a real Mosquitto: delivery, order, and a broker outage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe, unique_client_id
from transport.outbox import Message, Outbox
from transport.publisher import OutboxPublisher


def new_client(reconnect_min_s: int = 1) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_client_id("pub"))
    client.reconnect_delay_set(min_delay=reconnect_min_s, max_delay=reconnect_min_s)
    return client


def connect(client: mqtt.Client, broker: MosquittoBroker) -> mqtt.Client:
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    deadline = time.monotonic() + 10
    while not client.is_connected():
        assert time.monotonic() < deadline, "publisher did not connect"
        time.sleep(0.01)
    return client


@pytest.fixture
def private_broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as broker:
        yield broker


def payloads(count: int, start: int = 0) -> list[bytes]:
    return [f"{n:06d}".encode() for n in range(start, start + count)]


def test_everything_put_arrives_in_order(
    mosquitto: MosquittoBroker, topic_prefix: str, tmp_path: Path
) -> None:
    topic = f"{topic_prefix}/events"
    with (
        MqttProbe(mosquitto.host, mosquitto.port, subscriptions=[topic]) as probe,
        Outbox(tmp_path / "outbox.db") as outbox,
    ):
        probe.connect()
        probe.wait_subscribed()
        client = new_client()
        publisher = OutboxPublisher(client, outbox)
        connect(client, mosquitto)
        publisher.start()
        try:
            for payload in payloads(3000):
                outbox.put(Message(topic, payload))
                publisher.wake()
            assert publisher.flush(timeout_s=30)
            received = [m.payload for m in probe.expect(3000, timeout_s=30)]
        finally:
            publisher.stop()
            client.loop_stop()
            client.disconnect()
        assert received == payloads(3000)
        assert outbox.depth == 0
        assert publisher.stats.acknowledged == 3000


def test_rows_wait_out_a_broker_outage(private_broker: MosquittoBroker, tmp_path: Path) -> None:
    topic = "dorm/v1/b1/dev/b1-gate-in/event/access"
    with (
        # The probe comes back after 1 s, the publisher after 3 s, so the probe is
        # subscribed again before anything is re-sent (Mosquitto keeps no sessions here).
        MqttProbe(private_broker.host, private_broker.port, subscriptions=[topic]) as probe,
        Outbox(tmp_path / "outbox.db") as outbox,
    ):
        probe.connect()
        probe.wait_subscribed()
        client = new_client(reconnect_min_s=3)
        publisher = OutboxPublisher(client, outbox)
        connect(client, private_broker)
        publisher.start()
        try:
            for payload in payloads(500):
                outbox.put(Message(topic, payload))
            publisher.wake()
            assert publisher.flush(timeout_s=20)
            assert [m.payload for m in probe.expect(500, timeout_s=20)] == payloads(500)

            private_broker.stop()
            for payload in payloads(700, start=500):
                outbox.put(Message(topic, payload))
                publisher.wake()
            time.sleep(0.5)
            assert outbox.depth == 700  # nothing is lost or dropped while the broker is gone

            private_broker.start()
            probe.wait_connected(min_connects=2, timeout_s=15)
            probe.wait_subscribed(min_subacks=2, timeout_s=15)
            assert publisher.flush(timeout_s=30)
            after = [m.payload for m in probe.drain(quiet_s=1.0, max_s=30)]
        finally:
            publisher.stop()
            client.loop_stop()
            client.disconnect()
        # At-least-once: every message arrives, in order once duplicates are removed.
        assert list(dict.fromkeys(after)) == payloads(700, start=500)
