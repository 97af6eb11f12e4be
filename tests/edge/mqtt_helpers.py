"""A subscriber for the edge end-to-end tests that keeps its session across broker restarts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol.codec import decode
from protocol.messages import DeviceEvent, Message


@dataclass(frozen=True)
class Received:
    topic: str
    message: Message


class Collector:
    """MQTT 3.1.1, persistent session (clean_session=False), QoS 1: with a broker that
    keeps its data, nothing published while this client was away is missed."""

    def __init__(self, host: str, port: int, topics: list[str]) -> None:
        self.topics = topics
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"collector-{uuid.uuid4().hex[:8]}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("collector did not subscribe")

    def _on_connect(self, client: mqtt.Client, *_args: Any) -> None:
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        message = decode(msg.topic, bytes(msg.payload))  # strict: a bad one fails the test
        with self._cond:
            self.received.append(Received(msg.topic, message))
            self._cond.notify_all()

    def events(self) -> list[DeviceEvent]:
        with self._cond:
            return [r.message for r in self.received if isinstance(r.message, DeviceEvent)]

    def wait_until(self, predicate: Callable[[list[DeviceEvent]], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                events = [r.message for r in self.received if isinstance(r.message, DeviceEvent)]
                if predicate(events):
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met; {len(events)} events received")
                self._cond.wait(remaining)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def first_arrivals(events: list[DeviceEvent]) -> list[DeviceEvent]:
    """De-duplicate by (device, seq), keeping the first arrival, in arrival order."""
    seen: set[tuple[str, int]] = set()
    unique: list[DeviceEvent] = []
    for event in events:
        key = (event.device, event.seq)
        if key not in seen:
            seen.add(key)
            unique.append(event)
    return unique
