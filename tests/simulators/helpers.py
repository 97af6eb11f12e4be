"""A small campus and a message capture shared by the simulator tests."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devservices import MosquittoBroker
from edge.mqtt_link import BrokerAddress
from protocol.codec import decode
from protocol.token_issuer import SigningKey
from simulators import campus as campus_mod
from simulators import population as population_mod
from simulators.runner import SimOptions, Simulation

TZ: Final = ZoneInfo("Asia/Shanghai")
#: A Monday, 06:00 local: the curfew has just ended.
MONDAY_6AM: Final = datetime(2026, 3, 2, 6, 0, tzinfo=TZ)
CARD_KEY: Final = b"sim-test-card-hash-key-0123456789"
#: Fixed private key bytes, so two runs sign QR codes alike.
KEY_SEED: Final = bytes(range(32))


def signing_key() -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return SigningKey("k1", Ed25519PrivateKey.from_private_bytes(KEY_SEED))


def small_sim(
    broker: MosquittoBroker,
    state_dir: Path,
    *,
    seed: int = 7,
    buildings: int = 2,
    rooms: int = 8,
    students: int = 24,
    prefix: str = "sim",
    start: datetime = MONDAY_6AM,
) -> Simulation:
    campus = campus_mod.generate(buildings, rooms)
    population = population_mod.generate(campus, students, seed=seed, start=start.date())
    options = SimOptions(
        brokers=(BrokerAddress(broker.host, broker.port),),
        state_dir=state_dir,
        card_key=CARD_KEY,
        signing_key=signing_key(),
        start=start,
        speed=None,
        seed=seed,
        client_prefix=prefix,
    )
    return Simulation(campus, population, options)


@dataclass
class Capture:
    """Every message under ``dorm/v1/#`` of one broker, in arrival order."""

    broker: MosquittoBroker
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    _inbox: queue.SimpleQueue[tuple[str, bytes]] = field(default_factory=queue.SimpleQueue)
    _ready: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"capture-{id(self)}")
        client.on_connect = lambda c, *_: c.subscribe("dorm/v1/#", qos=1)
        client.on_subscribe = lambda *_: self._ready.set()
        client.on_message = lambda _c, _u, m: self._inbox.put((m.topic, bytes(m.payload)))
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        self.client = client
        if not self._ready.wait(10):
            raise TimeoutError("capture could not subscribe")

    def close(self) -> list[tuple[str, bytes]]:
        self.client.disconnect()
        self.client.loop_stop()
        while not self._inbox.empty():
            self.messages.append(self._inbox.get())
        return self.messages

    def decoded(self) -> list[tuple[str, Any]]:
        return [(t, decode(t, p)) for t, p in self.messages]


#: What may differ between two equal runs: the gate's grant ids are random (edge.gate),
#: uptime is wall time, and a heartbeat's outbox depth depends on how fast the broker
#: acknowledged while the simulation ran ahead of it.
VOLATILE: Final = frozenset({"id", "grant_id", "uptime_s", "received_at", "outbox_depth"})


def comparable(topic: str, payload: bytes) -> tuple[str, dict[str, Any]]:
    """A message without what may differ between two equal runs (random ids, uptime)."""
    data = msgspec.json.decode(payload)
    return topic, {k: v for k, v in data.items() if k not in VOLATILE}
