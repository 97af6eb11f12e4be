"""Durable outbox → QoS 1 publish → a subscriber, through a real local Mosquitto.

Each run puts N typical events into a fresh outbox one at a time (as an agent
does: each ``put`` is its own durable transaction), while the publisher drains
it with QoS 1 and a subscriber counts what arrives. The figure is events per
second from the first put to the last one received. Goal (edge issue):
≥ 5,000 events/s.

    python -m bench.outbox_publish [--runs 5] [--events 20000] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import Figure, Report
from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe, unique_client_id
from protocol.examples import typical_event
from protocol.messages import encode
from transport.outbox import Message, Outbox
from transport.publisher import OutboxPublisher

TOPIC = "dorm/v1/b1/dev/b1-gate-in/event/access"


def one_run(broker: MosquittoBroker, events: int, workdir: Path) -> float:
    payload = encode(typical_event())
    with (
        MqttProbe(broker.host, broker.port, subscriptions=[TOPIC]) as probe,
        Outbox(workdir / f"outbox-{time.monotonic_ns()}.db", max_rows=events + 1) as outbox,
    ):
        probe.connect()
        probe.wait_subscribed()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_client_id("bench"))
        publisher = OutboxPublisher(client, outbox)
        client.connect(broker.host, broker.port)
        client.loop_start()
        while not client.is_connected():
            time.sleep(0.01)
        publisher.start()
        start = time.perf_counter()
        for _ in range(events):
            outbox.put(Message(TOPIC, payload))
            publisher.wake()
        probe.expect(events, timeout_s=120)
        elapsed = time.perf_counter() - start
        publisher.stop()
        client.loop_stop()
        client.disconnect()
    return events / elapsed


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="3 runs of 3,000 events")
    args = parser.parse_args(argv)
    runs, events = (3, 3_000) if args.quick else (args.runs, args.events)
    rates: list[float] = []
    with MosquittoBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            rates.append(one_run(broker, events, Path(tmp)))
    report = Report("outbox_publish")
    report.figures.append(
        Figure("outbox put + QoS 1 publish + receive", "events/s", rates, "≥ 5,000 events/s")
    )
    report.print()
    print(f"saved {report.save()}")
    return report


if __name__ == "__main__":
    main()
