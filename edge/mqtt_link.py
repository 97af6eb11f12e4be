"""The agent's MQTT connection: one paho-mqtt 2.x client, callbacks that only hand over.

- client id = device id (stable, unique per device), MQTT 3.1.1 with a
  persistent session, so QoS 1 commands and deltas sent while the device was
  away are delivered when it comes back;
- last will: ``DeviceState`` offline, retained, on the device's state topic;
  on every connect the online state is published (retained) and the device's
  subscriptions are (re)made;
- paho's own reconnect with a capped delay, after a random first-connect
  jitter so a building's devices do not all connect in the same instant;
- received messages are put, raw, on a bounded queue (the agent thread
  decodes them); a full queue drops and counts;
- events leave through :class:`transport.publisher.OutboxPublisher`, which
  deletes an outbox row only after the broker's PUBACK.
"""

from __future__ import annotations

import logging
import queue
import random
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from protocol.messages import DeviceState, DeviceStatus, encode
from protocol.topics import Family, device_topic
from transport.outbox import Outbox
from transport.publisher import OutboxPublisher

log = logging.getLogger(__name__)

KEEPALIVE_S: Final = 30
INBOX_SIZE: Final = 10_000


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None


class MqttLink:
    def __init__(
        self,
        device: str,
        building: str,
        broker: BrokerAddress,
        outbox: Outbox,
        *,
        software_version: str,
        subscriptions: Sequence[str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        first_connect_jitter_s: float = 2.0,
        reconnect_max_delay_s: int = 30,
        inbox_size: int = INBOX_SIZE,
    ) -> None:
        self.device = device
        self.building = building
        self.broker = broker
        self.software_version = software_version
        self.subscriptions = list(subscriptions)
        self.clock = clock
        self.first_connect_jitter_s = first_connect_jitter_s
        self.inbox: queue.Queue[Inbound] = queue.Queue(maxsize=inbox_size)
        self.dropped = 0
        self.connects = 0
        self._connected = threading.Event()
        self.state_topic = device_topic(building, device, Family.STATE)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=device,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(min_delay=1, max_delay=reconnect_max_delay_s)
        client.will_set(self.state_topic, self._state(DeviceStatus.OFFLINE), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client
        # Created before connecting: it sets paho's in-flight window.
        self.publisher = OutboxPublisher(client, outbox, name=f"{device}-outbox")

    def _state(self, status: DeviceStatus) -> bytes:
        return encode(
            DeviceState(
                device=self.device,
                status=status,
                ts=self.clock(),
                software_version=self.software_version,
            )
        )

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def start(self) -> None:
        if self.first_connect_jitter_s > 0:
            time.sleep(random.uniform(0, self.first_connect_jitter_s))
        self.publisher.start()
        # connect_async: if the broker is down at boot, paho's loop keeps trying.
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()

    def stop(self, flush_s: float = 2.0) -> None:
        """Flush what we can, say goodbye (offline, retained) and stop the loop."""
        if self.connected:
            self.publisher.flush(flush_s)
            info = self.client.publish(
                self.state_topic, self._state(DeviceStatus.OFFLINE), qos=1, retain=True
            )
            try:
                info.wait_for_publish(flush_s)
            except (ValueError, RuntimeError) as exc:
                log.debug("offline state not confirmed: %s", exc)
            self.client.disconnect()
        self.publisher.stop()
        self.client.loop_stop()

    def wake(self) -> None:
        self.publisher.wake()

    # -- callbacks: record, hand over, return ------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("%s: broker refused the connection: %s", self.device, reason_code)
            return
        self.connects += 1
        self._connected.set()
        log.info("%s: connected to %s:%d", self.device, self.broker.host, self.broker.port)
        client.publish(self.state_topic, self._state(DeviceStatus.ONLINE), qos=1, retain=True)
        if self.subscriptions:
            result, _mid = client.subscribe([(topic, 1) for topic in self.subscriptions])
            if result != mqtt.MQTT_ERR_SUCCESS:
                log.error("%s: subscribe failed: %s", self.device, mqtt.error_string(result))
        self.publisher.wake()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()
        log.warning("%s: disconnected (%s); paho reconnects", self.device, reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self.inbox.put_nowait(Inbound(message.topic, bytes(message.payload)))
        except queue.Full:
            self.dropped += 1
            log.error("%s: inbox full, dropped a message on %s", self.device, message.topic)
