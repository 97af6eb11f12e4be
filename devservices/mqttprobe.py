"""A small paho-mqtt 2.x client for tests and benchmarks that talk to a real broker.

It follows the project's MQTT rules: MQTT v5, a stable unique client id, one
network loop thread, subscriptions made in ``on_connect`` so a reconnect
re-subscribes, the library's own reconnect with a capped delay, callbacks
that only hand messages over to a bounded queue and count what they drop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from devservices.errors import DevServiceError

logger = logging.getLogger(__name__)

KEEPALIVE_S: Final = 30
DEFAULT_QUEUE_SIZE: Final = 1_000_000


class MqttProbeError(DevServiceError):
    """A probe could not connect, subscribe or publish."""


class MqttProbeTimeoutError(MqttProbeError, TimeoutError):
    """What a probe waited for did not happen in time."""


@dataclass(frozen=True)
class ReceivedMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool


MessageHook = Callable[[ReceivedMessage], None]


def unique_client_id(prefix: str = "probe") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class MqttProbe:
    """One MQTT v5 client with its network loop in a background thread.

    ``subscriptions`` are (re)made on every successful connect with ``qos``.
    ``receive_maximum`` caps the QoS 1 messages the broker sends before our
    PUBACKs. ``message_hook`` runs in the network thread before a message is
    queued; tests use it to play a slow consumer, nothing else should block there.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        subscriptions: Sequence[str] = (),
        qos: int = 1,
        receive_maximum: int | None = None,
        max_inflight: int = 100,
        reconnect_max_delay_s: int = 2,
        message_hook: MessageHook | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id or unique_client_id()
        self.subscriptions = list(subscriptions)
        self.qos = qos
        self.messages: queue.Queue[ReceivedMessage] = queue.Queue(maxsize=queue_size)
        self.dropped = 0
        self._receive_maximum = receive_maximum
        self._message_hook = message_hook
        self._state = threading.Condition()
        self._connacks: list[ReasonCode] = []
        self._connected = False
        self._suback_codes: list[list[ReasonCode]] = []
        self._pending_suback_mid: int | None = None
        self._puback_codes: dict[int, ReasonCode] = {}
        self._loop_running = False

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        if username is not None:
            client.username_pw_set(username, password)
        client.max_inflight_messages_set(max_inflight)
        client.reconnect_delay_set(min_delay=1, max_delay=reconnect_max_delay_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self.client = client

    # -- callbacks (network thread): record and return -----------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._state:
            self._connacks.append(reason_code)
            self._connected = not reason_code.is_failure
            self._state.notify_all()
        if reason_code.is_failure or not self.subscriptions:
            return
        result, mid = client.subscribe(
            [(topic, SubscribeOptions(qos=self.qos)) for topic in self.subscriptions]
        )
        if result != mqtt.MQTT_ERR_SUCCESS:
            logger.warning("%s: subscribe failed: %s", self.client_id, mqtt.error_string(result))
            return
        with self._state:
            self._pending_suback_mid = mid

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._state:
            self._connected = False
            self._state.notify_all()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._state:
            if mid == self._pending_suback_mid:
                self._suback_codes.append(list(reason_codes))
                self._state.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        received = ReceivedMessage(
            topic=message.topic,
            payload=bytes(message.payload),
            qos=message.qos,
            retain=message.retain,
        )
        if self._message_hook is not None:
            self._message_hook(received)
        try:
            self.messages.put_nowait(received)
        except queue.Full:
            self.dropped += 1
            logger.warning("%s: receive queue full, dropped %s", self.client_id, received.topic)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        with self._state:
            self._puback_codes[mid] = reason_code

    # -- waiting ----------------------------------------------------------------------

    def _wait_for(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        with self._state:
            if not self._state.wait_for(predicate, timeout=timeout_s):
                raise MqttProbeTimeoutError(
                    f"{self.client_id}: {what} did not happen within {timeout_s:.1f} s"
                )

    @property
    def connected(self) -> bool:
        with self._state:
            return self._connected

    @property
    def connect_count(self) -> int:
        """How many CONNACKs accepted the connection so far."""
        with self._state:
            return sum(1 for code in self._connacks if not code.is_failure)

    def connect(self, timeout_s: float = 5.0) -> ReasonCode:
        """Connect, start the network loop, and return the broker's CONNACK reason code.

        On a refusal the loop is stopped (no retry) and the failure code returned.
        """
        properties: Properties | None = None
        if self._receive_maximum is not None:
            # paho's Properties.__init__ has no annotations.
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.ReceiveMaximum = self._receive_maximum
        try:
            self.client.connect(
                self.host, self.port, keepalive=KEEPALIVE_S, clean_start=True, properties=properties
            )
        except OSError as exc:
            raise MqttProbeError(
                f"{self.client_id}: cannot reach {self.host}:{self.port}: {exc}"
            ) from exc
        self.client.loop_start()
        self._loop_running = True
        self._wait_for(lambda: bool(self._connacks), timeout_s, "CONNACK")
        with self._state:
            first = self._connacks[0]
        if first.is_failure:
            self.close()
        return first

    def wait_connected(self, min_connects: int = 1, timeout_s: float = 10.0) -> None:
        """Wait until connected after at least ``min_connects`` accepted CONNACKs."""
        self._wait_for(
            lambda: (
                self._connected
                and sum(1 for c in self._connacks if not c.is_failure) >= min_connects
            ),
            timeout_s,
            f"connection #{min_connects}",
        )

    def wait_subscribed(self, min_subacks: int = 1, timeout_s: float = 10.0) -> list[ReasonCode]:
        """Wait for the SUBACK of connection #``min_subacks``; return its reason codes."""
        self._wait_for(
            lambda: len(self._suback_codes) >= min_subacks, timeout_s, f"SUBACK #{min_subacks}"
        )
        with self._state:
            return list(self._suback_codes[min_subacks - 1])

    # -- publishing -------------------------------------------------------------------

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        """Queue one message; raise if paho refused it outright."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise MqttProbeError(
                f"{self.client_id}: publish to {topic} failed: {mqtt.error_string(info.rc)}"
            )
        return info

    def wait_published(self, infos: Iterable[mqtt.MQTTMessageInfo], timeout_s: float) -> None:
        """Wait until the broker acknowledged every message of ``infos``."""
        deadline = time.monotonic() + timeout_s
        for info in infos:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (ValueError, RuntimeError) as exc:
                raise MqttProbeError(f"{self.client_id}: message {info.mid}: {exc}") from exc
            if not info.is_published():
                raise MqttProbeTimeoutError(
                    f"{self.client_id}: message {info.mid} not acknowledged within {timeout_s} s"
                )

    def puback_code(self, mid: int) -> ReasonCode | None:
        """The PUBACK reason code the broker gave message ``mid`` (None before it came)."""
        with self._state:
            return self._puback_codes.get(mid)

    # -- receiving --------------------------------------------------------------------

    def expect(self, count: int, timeout_s: float) -> list[ReceivedMessage]:
        """The next ``count`` messages, in arrival order; raise if they don't all come."""
        deadline = time.monotonic() + timeout_s
        received: list[ReceivedMessage] = []
        while len(received) < count:
            remaining = deadline - time.monotonic()
            try:
                received.append(self.messages.get(timeout=max(0.0, remaining)))
            except queue.Empty:
                raise MqttProbeTimeoutError(
                    f"{self.client_id}: got {len(received)} of {count} messages "
                    f"within {timeout_s:.1f} s"
                ) from None
        return received

    def drain(self, quiet_s: float, max_s: float) -> list[ReceivedMessage]:
        """Every message that arrives until none came for ``quiet_s`` (at most ``max_s``)."""
        deadline = time.monotonic() + max_s
        received: list[ReceivedMessage] = []
        while True:
            wait_s = min(quiet_s, deadline - time.monotonic())
            if wait_s <= 0:
                return received
            try:
                received.append(self.messages.get(timeout=wait_s))
            except queue.Empty:
                return received

    # -- closing ----------------------------------------------------------------------

    def close(self) -> None:
        """Disconnect and stop the network loop. Safe to call more than once."""
        if self.connected:
            self.client.disconnect()
        if self._loop_running:
            self.client.loop_stop()
            self._loop_running = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
