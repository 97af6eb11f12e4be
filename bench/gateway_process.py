"""Shared parts of the gateway benchmarks: the gateway process, publishers, a counter."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe, unique_client_id
from gateway.child import GatewayProcess
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    Direction,
    encode,
)
from protocol.topics import Family, device_topic

REPO: Final = Path(__file__).resolve().parents[1]
BUILDING: Final = "b1"
DEVICES: Final = [f"b1-bench-{n}" for n in range(5)]
TS: Final = datetime(2026, 9, 1, 7, 45, tzinfo=UTC)


def event(device: str, seq: int) -> bytes:
    return encode(
        AccessDecision(
            id=new_event_id(),
            device=device,
            seq=seq,
            ts=TS + timedelta(milliseconds=seq),
            direction=Direction.ENTRY,
            credential=CredentialKind.CARD,
            decision=Decision.DENIED,
            reason=AccessReason.UNKNOWN_CARD,
        )
    )


def topic(device: str) -> str:
    return device_topic(BUILDING, device, Family.ACCESS)


class BenchGateway(GatewayProcess):
    """``python -m gateway`` for building b1 of the example site, as a child process."""

    def __init__(
        self, building: MosquittoBroker, central: MosquittoBroker, state_dir: Path
    ) -> None:
        super().__init__(
            building, central, site=REPO / "firmware-config" / "site.yaml", state_dir=state_dir
        )

    def wait_forwarding(self, counter: CentralCounter, timeout_s: float = 30) -> None:
        """Publish warm-up events until one arrives at the central side."""
        with MqttProbe(*_address(self.args)) as probe:
            probe.connect()
            deadline = time.monotonic() + timeout_s
            seq = 0
            while counter.total == 0:
                if time.monotonic() > deadline:
                    raise TimeoutError("the gateway never forwarded a warm-up event")
                seq += 1
                probe.publish(topic("b1-warmup"), event("b1-warmup", seq))
                time.sleep(0.2)


def _address(args: list[str]) -> tuple[str, int]:
    return args[args.index("--building-host") + 1], int(args[args.index("--building-port") + 1])


def publish_events(
    broker: MosquittoBroker,
    total: int,
    *,
    first_seq: int = 1,
    rate_mps: float | None = None,
    stop: threading.Event | None = None,
) -> int:
    """``total`` events over :data:`DEVICES`, QoS 1, optionally paced; how many were sent.

    ``stop`` ends publishing early (after the current chunk).
    """
    sent = [0] * len(DEVICES)
    per_device = total // len(DEVICES)

    def run(index: int, device: str) -> None:
        with MqttProbe(broker.host, broker.port, max_inflight=200) as probe:
            probe.connect()
            started = time.monotonic()
            chunk = 200
            for start in range(first_seq, first_seq + per_device, chunk):
                end = min(start + chunk, first_seq + per_device)
                infos = [probe.publish(topic(device), event(device, s)) for s in range(start, end)]
                probe.wait_published(infos, timeout_s=60)
                sent[index] += len(infos)
                if stop is not None and stop.is_set():
                    return
                if rate_mps is not None:
                    due = started + (end - first_seq) / (rate_mps / len(DEVICES))
                    time.sleep(max(0.0, due - time.monotonic()))

    threads = [threading.Thread(target=run, args=(i, d)) for i, d in enumerate(DEVICES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sent)


class _Key(msgspec.Struct):
    device: str


_KEY: Final = msgspec.json.Decoder(_Key)


class CentralCounter:
    """Counts events at the central broker, with the time of the first and the last."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.total = 0
        self.by_device: dict[str, int] = {}
        self.last_by_device: dict[str, float] = {}
        self.first_s = 0.0
        self.last_s = 0.0
        self._lock = threading.Lock()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_client_id("bench"))
        client.max_inflight_messages_set(1000)
        client.on_connect = lambda c, *_a: c.subscribe(f"dorm/v1/{BUILDING}/dev/+/event/#", qos=1)
        client.on_message = self._on_message
        self.client = client
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        device = _KEY.decode(message.payload).device
        with self._lock:
            if self.total == 0:
                self.first_s = now
            self.total += 1
            self.last_s = now
            self.by_device[device] = self.by_device.get(device, 0) + 1
            self.last_by_device[device] = now

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_device.clear()
            self.last_by_device.clear()

    def wait(self, count: int, timeout_s: float, device: str | None = None) -> tuple[float, float]:
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                have = self.total if device is None else self.by_device.get(device, 0)
                if have >= count:
                    return self.first_s, self.last_s
            if time.monotonic() > deadline:
                raise TimeoutError(f"{have} of {count} events arrived within {timeout_s} s")
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def central_counter(broker: MosquittoBroker) -> Iterator[CentralCounter]:
    counter = CentralCounter(broker)
    time.sleep(0.3)  # subscribed
    try:
        yield counter
    finally:
        counter.close()
