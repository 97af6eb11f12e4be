"""Helpers of the gateway tests: configs, contract messages, a central-side collector."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devservices import MosquittoBroker
from devservices.mqttprobe import ReceivedMessage, unique_client_id
from gateway.config import BrokerAddress, GatewayConfig
from protocol.codec import decode
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    DeviceEvent,
    Direction,
    Heartbeat,
    Message,
    RoomTelemetry,
    encode,
)
from protocol.topics import Family, device_topic

BUILDING: Final = "b1"
GATEWAY_ID: Final = "b1-gw"
GATES: Final = ("b1-gate-in", "b1-gate-out")
SENSOR: Final = "b1-r101-sensor"
TS: Final = datetime(2026, 9, 1, 7, 45, tzinfo=UTC)


def address(broker: MosquittoBroker) -> BrokerAddress:
    return BrokerAddress(broker.host, broker.port)


def gateway_config(
    state_dir: Path, building: MosquittoBroker, central: MosquittoBroker, **overrides: Any
) -> GatewayConfig:
    config = GatewayConfig(
        building=BUILDING,
        gateway_id=GATEWAY_ID,
        building_broker=address(building),
        central_broker=address(central),
        state_dir=state_dir,
        gate_ids=GATES,
        reconnect_min_s=1,
        reconnect_max_s=2,
    )
    return replace(config, **overrides)


def access(device: str, seq: int) -> AccessDecision:
    return AccessDecision(
        id=new_event_id(),
        device=device,
        seq=seq,
        ts=TS + timedelta(milliseconds=seq),
        direction=Direction.ENTRY,
        credential=CredentialKind.CARD,
        decision=Decision.DENIED,
        reason=AccessReason.UNKNOWN_CARD,
    )


def telemetry(device: str, seq: int, *, smoke: bool = False) -> RoomTelemetry:
    return RoomTelemetry(
        id=new_event_id(),
        device=device,
        seq=seq,
        ts=TS,
        room="b1-r101",
        occupancy=2,
        power_w=100.0,
        temperature_c=22.0,
        smoke=smoke,
    )


def heartbeat(device: str, seq: int, interval_s: float) -> Heartbeat:
    return Heartbeat(
        id=new_event_id(),
        device=device,
        seq=seq,
        ts=TS,
        software_version="0.1.0",
        config_version="c1",
        allowlist_version=1,
        outbox_depth=0,
        clock_offset_ms=0,
        uptime_s=1.0,
        interval_s=interval_s,
    )


def wire(message: DeviceEvent, family: Family = Family.ACCESS) -> tuple[str, bytes]:
    return device_topic(BUILDING, message.device, family), encode(message)


def decoded(received: ReceivedMessage) -> Message:
    return decode(received.topic, received.payload)


class _Key(msgspec.Struct):
    device: str
    seq: int


_KEY_DECODER: Final = msgspec.json.Decoder(_Key)


def event_key(payload: bytes) -> tuple[str, int]:
    key = _KEY_DECODER.decode(payload)
    return key.device, key.seq


class Collector:
    """The central side in the outage tests: an MQTT 3.1.1 persistent session.

    Its subscription and what is queued for it survive a restart of a broker
    started with ``persistence=True``, so nothing the gateway forwards while
    the collector reconnects is missed (the broker has PUBACKed it already).
    """

    def __init__(self, broker: MosquittoBroker, topic_filter: str) -> None:
        self.messages: queue.Queue[ReceivedMessage] = queue.Queue()
        self._filter = topic_filter
        self._subscribed = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=unique_client_id("central"),
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        client.max_inflight_messages_set(1000)
        client.reconnect_delay_set(1, 1)
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *_args: self._subscribed.set()
        client.on_message = self._on_message
        self.client = client
        self._broker = broker

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        client.subscribe(self._filter, qos=1)

    def _on_message(
        self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        self.messages.put(
            ReceivedMessage(message.topic, bytes(message.payload), message.qos, message.retain)
        )

    def start(self) -> Collector:
        self.client.connect(self._broker.host, self._broker.port, keepalive=10)
        self.client.loop_start()
        assert self._subscribed.wait(10), "collector did not subscribe"
        return self

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def collect_until(
        self, done: Callable[[list[ReceivedMessage]], bool], timeout_s: float
    ) -> list[ReceivedMessage]:
        """Everything received until ``done(received)`` holds; fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        received: list[ReceivedMessage] = []
        while not done(received):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"collected {len(received)} messages before the timeout"
            try:
                received.append(self.messages.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                continue
            while True:
                try:
                    received.append(self.messages.get_nowait())
                except queue.Empty:
                    break
        return received

    def quiet(self, quiet_s: float) -> list[ReceivedMessage]:
        """What arrives until nothing came for ``quiet_s``."""
        received: list[ReceivedMessage] = []
        while True:
            try:
                received.append(self.messages.get(timeout=quiet_s))
            except queue.Empty:
                return received


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached within {timeout_s} s"
        time.sleep(0.01)
