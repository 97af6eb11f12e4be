"""The gateway's two MQTT connections, each a paho client with its own network loop.

Callbacks only hand messages to a bounded queue and return; a full queue is
counted and logged. Subscriptions are made in ``on_connect`` so a reconnect
re-subscribes; paho's own reconnect (with a capped delay) is the only retry loop.

Both links speak MQTT 3.1.1: paho parses a v5 property block for every
PUBLISH and PUBACK, which measured here cost the building link about 30 µs
a message (a third of its receive cost), and the gateway needs nothing from
v5. The building link uses a persistent session (``clean_session=False``,
a stable client id), so what devices send while the gateway is down or
restarting is queued by the broker and delivered when it returns.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gateway.config import BrokerAddress
from gateway.counters import GatewayCounters, ThrottledLog

log = logging.getLogger(__name__)

KEEPALIVE_S = 15


@dataclass(frozen=True, slots=True)
class Received:
    """One message as it came off the wire; ``mid`` is needed to acknowledge it."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class LinkSettings:
    name: str
    client_id: str
    address: BrokerAddress
    subscriptions: Sequence[str]
    #: acknowledge received QoS 1 messages only when told to (after they are stored)
    manual_ack: bool = False
    #: keep the broker-side session (subscriptions, unacknowledged messages) across restarts
    persistent_session: bool = False
    reconnect_min_s: int = 1
    reconnect_max_s: int = 10
    #: the gateway's provisioned broker credential (the same on both brokers)
    username: str | None = None
    password: str | None = field(default=None, repr=False)


class MqttLink:
    """One MQTT v5 connection; received messages go to ``inbox``."""

    def __init__(
        self,
        settings: LinkSettings,
        inbox: queue.Queue[Received] | None,
        counters: GatewayCounters,
    ) -> None:
        self.settings = settings
        self.inbox = inbox
        self._counters = counters
        self._drop_log = ThrottledLog(log)
        self._connected = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=not settings.persistent_session,
            manual_ack=settings.manual_ack,
        )
        client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client
        self._started = False

    # -- lifecycle -------------------------------------------------------------------

    def start(self, jitter_s: float = 0.0) -> None:
        """Connect in the background; paho retries until the broker answers."""
        if jitter_s > 0:
            time.sleep(random.uniform(0, jitter_s))
        self.client.connect_async(
            self.settings.address.host, self.settings.address.port, keepalive=KEEPALIVE_S
        )
        self.client.loop_start()
        self._started = True

    def stop(self) -> None:
        if not self._started:
            return
        self.client.disconnect()
        self.client.loop_stop()
        self._started = False

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    # -- use ---------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Hand one QoS 1 message to paho; False if paho refused it outright."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            # paho keeps QoS 1 messages while disconnected and sends them on reconnect.
            return True
        log.warning("%s: publish to %s failed: %s", self.settings.name, topic, info.rc)
        return False

    def ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self.client.ack(mid, qos)

    # -- callbacks (network thread): record, hand over, return --------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("%s: connection refused: %s", self.settings.name, reason_code)
            return
        log.info(
            "%s: connected to %s:%d (session present: %s)",
            self.settings.name,
            self.settings.address.host,
            self.settings.address.port,
            flags.session_present,
        )
        if self.settings.subscriptions:
            result, _mid = client.subscribe([(t, 1) for t in self.settings.subscriptions])
            if result != mqtt.MQTT_ERR_SUCCESS:
                log.warning("%s: subscribe failed: %s", self.settings.name, result)
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._connected.is_set():
            # Our own disconnect() (shutdown) is routine; anything else is not.
            level = logging.INFO if reason_code.value == 0 else logging.WARNING
            log.log(level, "%s: disconnected: %s", self.settings.name, reason_code)
        self._connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = ""  # rejected downstream as unknown_topic
        item = Received(topic, bytes(message.payload), message.mid, message.qos, message.retain)
        if self.inbox is None:
            return
        try:
            self.inbox.put_nowait(item)
        except queue.Full:
            self._counters.add("dropped_queue_full")
            self._drop_log.warning(
                "queue_full",
                "%s: receive queue full, dropped a message on %s",
                self.settings.name,
                topic,
            )
            if self.settings.manual_ack:
                self.ack(item.mid, item.qos)
