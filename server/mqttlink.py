"""The server's one MQTT connection: ingest subscription and downlink publishing.

paho-mqtt 2.x, callback API version 2. MQTT v5 by default (so
``$share/<group>/...`` shared subscriptions work, ``no_local`` keeps our own
publishes away, and the Receive Maximum bounds what the broker sends before
our acknowledgements). MQTT 3.1.1 on request (``protocol="3.1.1"``): paho
builds an MQTT v5 ``Properties`` object for every PUBLISH it receives, which
cost about 40 % of its network thread per message on the ingest benchmark;
3.1.1 has none. With 3.1.1 the broker's own in-flight limit replaces the
Receive Maximum, our own publishes come back (and are counted as ignored),
and a persistent session lasts until the broker expires it. Mosquitto and
EMQX accept ``$share/`` subscriptions from 3.1.1 clients too.

The subscription is made in ``on_connect``, so a reconnect re-subscribes;
paho's own reconnect (with a capped delay) is the only retry loop. Callbacks
hand messages to ``on_message`` and return.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

logger = logging.getLogger(__name__)

KEEPALIVE_S: Final = 30
RECONNECT_MIN_DELAY_S: Final = 1
RECONNECT_MAX_DELAY_S: Final = 30

#: ``(connection generation, message id)`` of a message to acknowledge after it is stored.
AckToken = tuple[int, int]
MessageHandler = Callable[[str, bytes, AckToken | None], None]
Protocol = Literal["5", "3.1.1"]


class MqttLinkError(RuntimeError):
    """A publish the broker connection could not take."""


class MqttLink:
    """Owns one paho client; :meth:`publish` is thread-safe (paho's own locking)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        topic_filter: str | None,
        on_message: MessageHandler | None,
        client_id: str = "dorm-server",
        username: str | None = None,
        password: str | None = None,
        session_expiry_s: int | None = None,
        ack_after_store: bool = False,
        receive_maximum: int = 1_000,
        protocol: Protocol = "5",
    ) -> None:
        self._ack_after_store = ack_after_store
        self._v5 = protocol == "5"
        # MQTT v5 Receive Maximum: how many QoS 1 messages the broker may send before
        # our acknowledgements (paho announces none, which means 65,535). Mosquitto
        # 2.0 honours it for live traffic, not for a backlog queued while offline.
        self._receive_maximum = receive_maximum
        # Message ids are only meaningful on the connection that delivered them:
        # an acknowledgement from an older connection is never sent.
        self._generation = 0
        self._topic_filter = topic_filter
        self._handler = on_message
        self._host = host
        self._port = port
        # A persistent session needs a stable id (unique per worker, chosen by the
        # operator); otherwise unique per process so workers never kick each other off.
        self._session_expiry_s = session_expiry_s
        self.client_id = (
            client_id if session_expiry_s is not None else f"{client_id}-{uuid.uuid4().hex[:8]}"
        )
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            # MQTT 3.1.1 only: a persistent session is clean_session=False.
            clean_session=None if self._v5 else session_expiry_s is None,
            manual_ack=ack_after_store,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(RECONNECT_MIN_DELAY_S, RECONNECT_MAX_DELAY_S)
        self._client.max_queued_messages_set(100_000)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self.subscribed = threading.Event()
        self.connected = threading.Event()

    def start(self) -> None:
        """Connect in the background (paho retries until the broker answers)."""
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.ReceiveMaximum = self._receive_maximum
            if self._session_expiry_s is not None:
                properties.SessionExpiryInterval = self._session_expiry_s
            self._client.connect_async(
                self._host,
                self._port,
                keepalive=KEEPALIVE_S,
                clean_start=self._session_expiry_s is None,
                properties=properties,
            )
        else:
            self._client.connect_async(self._host, self._port, keepalive=KEEPALIVE_S)
        self._client.loop_start()

    def stop_intake(self) -> None:
        """Stop handing messages over (and acknowledging them), before a shutdown."""
        self._handler = None

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Publish with QoS 1; raise :class:`MqttLinkError` if paho refuses it."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            # NO_CONN: paho keeps the message and sends it once reconnected.
            raise MqttLinkError(f"publish to {topic} refused: {mqtt.error_string(info.rc)}")
        return info

    def ack(self, tokens: Iterable[AckToken]) -> None:
        """Acknowledge stored messages (QoS 1) received on the current connection."""
        generation = self._generation
        for token_generation, mid in tokens:
            if token_generation == generation:
                self._client.ack(mid, 1)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.error("broker refused the connection: %s", reason_code)
            return
        self._generation += 1
        self.connected.set()
        logger.info("connected to %s:%d as %s", self._host, self._port, self.client_id)
        if self._topic_filter is not None:
            if self._v5:
                # no_local: never receive what this client published (commands, allowlists).
                options = SubscribeOptions(qos=1, noLocal=True)
                client.subscribe(self._topic_filter, options=options)
            else:
                client.subscribe(self._topic_filter, qos=1)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(code.is_failure for code in reason_codes):
            logger.error("subscription to %s refused: %s", self._topic_filter, reason_codes)
            return
        self.subscribed.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if reason_code.is_failure:
            logger.warning("disconnected from the broker: %s (paho reconnects)", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._handler is None:
            return
        try:
            topic = message.topic
        except UnicodeDecodeError:
            logger.warning("dropped a message whose topic is not UTF-8")
            if self._ack_after_store and message.qos > 0:
                client.ack(message.mid, message.qos)
            return
        token = None
        if self._ack_after_store and message.qos > 0:
            token = (self._generation, message.mid)
        # The handler only enqueues (IngestPipeline.enqueue) and never raises.
        self._handler(topic, bytes(message.payload), token)
