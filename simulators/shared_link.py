"""One MQTT connection per building, shared by every simulated agent of that building.

At campus scale one connection (and paho thread, and publisher thread) per
device is too costly: 15,000 room sensors would be 30,000 threads. Here the
agents of one building share one paho client and one durable outbox, and
still each publish on their own topics with their own sequence numbers
(every agent has its own :class:`edge.events.EventSink` and
:class:`edge.events.SeqStore`); the building's outbox keeps what
:class:`edge.mqtt_link.MqttLink` does for one agent:

- events are written to the SQLite outbox before anything publishes them and
  deleted only after the broker's PUBACK (:class:`transport.publisher.OutboxPublisher`);
  one FIFO per building keeps every agent's sequence order on the wire;
- when the outbox is full telemetry is shed before events, counted;
- on every connect each agent's ``online`` state is published (retained)
  and the subscriptions are made again; a clean stop publishes ``offline``;
- what arrives (commands, allowlists) is put on the simulation loop and
  routed to the agents it is for. The building's gates share one anti-passback
  tracker in memory, so they need not read each other's decisions back.

The difference from a real device: one last will per connection, so an
abrupt loss of the shared connection leaves the per-device states as they
were (the gateway's heartbeat watch still sees the devices go quiet).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.mqtt_link import BrokerAddress, Inbound
from protocol.messages import DeviceState, DeviceStatus, encode
from protocol.topics import Family, building_topic, device_topic
from transport.outbox import Outbox
from transport.publisher import OutboxPublisher

log = logging.getLogger(__name__)

KEEPALIVE_S = 30

OnInbound = Callable[[Inbound], None]


class SharedLink:
    def __init__(
        self,
        building: str,
        broker: BrokerAddress,
        outbox: Outbox,
        *,
        client_id: str,
        devices: Iterable[str],
        on_inbound: OnInbound,
        clock: Callable[[], Any],
        software_version: str,
    ) -> None:
        self.building = building
        self.broker = broker
        self.outbox = outbox
        self.devices = list(devices)
        self.on_inbound = on_inbound
        self.clock = clock
        self.software_version = software_version
        self.connects = 0
        self.offline_devices: set[str] = set()
        self._connected = threading.Event()
        self._cut = False
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client
        self.publisher = OutboxPublisher(client, outbox, name=f"{building}-shared-outbox")
        self.subscriptions = [
            f"dorm/v1/{building}/dev/+/{Family.COMMAND.value}",
            building_topic(building, Family.ALLOWLIST_SNAPSHOT),
            building_topic(building, Family.ALLOWLIST_DELTA),
        ]

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def wake(self) -> None:
        self.publisher.wake()

    def start(self) -> None:
        self.publisher.start()
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()

    def stop(self, flush_s: float = 5.0) -> None:
        if self.connected:
            self.publisher.flush(flush_s)
            for device in self.devices:
                self._publish_state(device, DeviceStatus.OFFLINE)
            self.client.disconnect()
        self.publisher.stop()
        self.client.loop_stop()

    # -- what scenarios do to the link --------------------------------------------

    def cut(self) -> None:
        """The building's network goes down: no reconnecting until :meth:`restore`."""
        self._cut = True
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()
        log.warning("%s: link cut", self.building)

    def restore(self) -> None:
        self._cut = False
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()
        log.warning("%s: link restored", self.building)

    def set_device_online(self, device: str, online: bool) -> None:
        """A device switched off (``online=False``) says nothing more until switched on."""
        if online:
            self.offline_devices.discard(device)
        else:
            self.offline_devices.add(device)
        if self.connected:
            self._publish_state(device, DeviceStatus.ONLINE if online else DeviceStatus.OFFLINE)

    # -- callbacks: record, hand over, return ------------------------------------

    def _publish_state(self, device: str, status: DeviceStatus) -> None:
        payload = encode(
            DeviceState(
                device=device,
                status=status,
                ts=self.clock(),
                software_version=self.software_version,
            )
        )
        self.client.publish(
            device_topic(self.building, device, Family.STATE), payload, qos=1, retain=True
        )

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("%s: broker refused the connection: %s", self.building, reason_code)
            return
        self.connects += 1
        self._connected.set()
        for device in self.devices:
            if device not in self.offline_devices:
                self._publish_state(device, DeviceStatus.ONLINE)
        result, _mid = client.subscribe([(topic, 1) for topic in self.subscriptions])
        if result != mqtt.MQTT_ERR_SUCCESS:
            log.error("%s: subscribe failed: %s", self.building, mqtt.error_string(result))
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
        if not self._cut:
            log.info("%s: disconnected (%s); paho reconnects", self.building, reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.on_inbound(Inbound(message.topic, bytes(message.payload)))
