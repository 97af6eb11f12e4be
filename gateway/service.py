"""One building gateway: wires the links, the workers and the timers together.

Threads: the two paho network loops, the uplink worker
(:mod:`gateway.uplink`), the outbox publisher (:mod:`transport.publisher`),
the downlink worker (:mod:`gateway.downlink`) and a ticker for what runs on
time (liveness, command timeouts, fire-release re-sends, health reports).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from datetime import UTC, datetime

from gateway.commands import CommandTracker
from gateway.config import GatewayConfig
from gateway.counters import GatewayCounters
from gateway.downlink import DownlinkRelay
from gateway.fire import FireRelease
from gateway.health import HealthReporter
from gateway.links import LinkSettings, MqttLink, Received
from gateway.liveness import LivenessTracker
from gateway.store import GatewayOutbox
from gateway.uplink import UplinkPipeline, uplink_filters
from gateway.upstream import Upstream
from protocol.ids import new_event_id
from protocol.messages import AckResult, Command, CommandAck, DeviceState, DeviceStatus
from protocol.signing import load_signer
from protocol.topics import PREFIX, Family
from transport.outbox import Priority
from transport.publisher import OutboxPublisher

log = logging.getLogger(__name__)


class Gateway:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager)."""

    def __init__(self, config: GatewayConfig, *, connect_jitter_s: float = 0.5) -> None:
        self.config = config
        self.connect_jitter_s = connect_jitter_s
        self.counters = GatewayCounters()
        self.outbox = GatewayOutbox(
            config.outbox_path, max_rows=config.outbox_max_rows, warn_ratio=config.outbox_warn_ratio
        )
        self._uplink_inbox: queue.Queue[Received] = queue.Queue(config.receive_queue_max)
        self._downlink_inbox: queue.Queue[Received] = queue.Queue(10_000)
        b = config.building
        self.building_link = MqttLink(
            LinkSettings(
                name="building",
                client_id=f"{config.gateway_id}-building",
                address=config.building_broker,
                subscriptions=uplink_filters(b),
                manual_ack=True,
                persistent_session=True,
                reconnect_min_s=config.reconnect_min_s,
                reconnect_max_s=config.reconnect_max_s,
                username=config.mqtt_username,
                password=config.mqtt_password,
            ),
            self._uplink_inbox,
            self.counters,
        )
        self.central_link = MqttLink(
            LinkSettings(
                name="central",
                client_id=f"{config.gateway_id}-central",
                address=config.central_broker,
                subscriptions=[f"{PREFIX}/{b}/dev/+/cmd", f"{PREFIX}/{b}/allowlist/+"],
                # Deltas and commands sent while the uplink is down wait for us;
                # commands that expired meanwhile are dropped by the relay.
                persistent_session=True,
                reconnect_min_s=config.reconnect_min_s,
                reconnect_max_s=config.reconnect_max_s,
                username=config.mqtt_username,
                password=config.mqtt_password,
            ),
            self._downlink_inbox,
            self.counters,
        )
        self.publisher = OutboxPublisher(
            self.central_link.client,
            self.outbox,
            max_inflight=config.uplink_max_inflight,
            name="gateway-uplink-publisher",
        )
        self.upstream = Upstream(b, self.outbox, self.publisher.wake)
        self.commands = CommandTracker(config.command_ack_timeout_s)
        self.fire = FireRelease(
            b,
            config.gateway_id,
            config.gate_ids,
            self._publish_down_command,
            on_release=self._on_fire_release,
            resend_s=config.fire_resend_s,
            command_ttl_s=config.fire_command_ttl_s,
            signer=(
                None
                if config.downlink_key_path is None
                else load_signer(config.downlink_key_path, config.gateway_id)
            ),
        )
        self.liveness = LivenessTracker(
            self._report_state,
            known_devices=config.known_devices or (),
            heartbeat_s=config.heartbeat_s,
            default_heartbeat_s=config.default_heartbeat_s,
            offline_after_intervals=config.offline_after_intervals,
        )
        self.uplink = UplinkPipeline(
            config,
            self._uplink_inbox,
            self.outbox,
            self.counters,
            ack=self.building_link.ack,
            stored=self.publisher.wake,
            uplink_connected=lambda: self.central_link.connected,
            observers=[self.fire, self.liveness, self.commands],
        )
        self.downlink = DownlinkRelay(
            b,
            self._downlink_inbox,
            lambda topic, payload, retain: self.building_link.publish(
                topic, payload, retain=retain
            ),
            self.commands,
            self.counters,
            known_devices=config.known_devices,
        )
        self.health = HealthReporter(
            config.gateway_id,
            self.counters,
            self.outbox,
            forwarded=lambda: self.publisher.stats.acknowledged,
            uplink_connected=lambda: self.central_link.connected,
            devices_offline=lambda: self.liveness.offline,
            next_seq=self.upstream.seq.next,
            interval_s=config.health_interval_s,
        )
        self._report_now = threading.Event()
        self._stopping = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="gateway-ticker", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Gateway:
        log.info(
            "gateway %s of building %s: building broker %s:%d, central broker %s:%d, "
            "outbox %s (%d waiting)",
            self.config.gateway_id,
            self.config.building,
            self.config.building_broker.host,
            self.config.building_broker.port,
            self.config.central_broker.host,
            self.config.central_broker.port,
            self.config.outbox_path,
            self.outbox.depth,
        )
        self.uplink.start()
        self.downlink.start()
        self.publisher.start()
        self.building_link.start(self.connect_jitter_s)
        self.central_link.start(self.connect_jitter_s)
        self._ticker.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._ticker.is_alive():
            self._ticker.join(5)
        self.building_link.stop()  # first: nothing new comes in
        self.uplink.stop()
        self.downlink.stop()
        self.publisher.stop()
        self.central_link.stop()
        self.outbox.close()

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- timers --------------------------------------------------------------------------

    def _tick_loop(self) -> None:
        while not self._stopping.wait(self.config.tick_s):
            try:
                self.tick()
            except (sqlite3.Error, OSError):
                # The outbox cannot take the gateway's own reports just now (disk
                # full, I/O error); forwarding reports its own errors. Try again.
                log.exception("gateway timers: could not store a report")

    def tick(self) -> None:
        self.fire.tick()
        self.liveness.check()
        for command in self.commands.expired():
            self._report_timeout(command)
        if self._report_now.is_set() or self.health.due():
            self._report_now.clear()
            report = self.health.build()
            self.upstream.send(
                self.config.gateway_id, Family.GATEWAY_HEALTH, report, Priority.TELEMETRY
            )

    # -- what the parts ask of the gateway -------------------------------------------------

    def _publish_down_command(self, topic: str, payload: bytes) -> bool:
        return self.building_link.publish(topic, payload)

    def _on_fire_release(self) -> None:
        self.counters.add("fire_releases")
        self._report_now.set()

    def _report_state(self, state: DeviceState) -> None:
        if state.status is DeviceStatus.OFFLINE:
            self.counters.add("offline_reported")
        self.upstream.send(state.device, Family.STATE, state, Priority.EVENT)

    def _report_timeout(self, command: Command) -> None:
        self.counters.add("commands_timed_out")
        timeout_s = self.config.command_ack_timeout_s
        log.warning(
            "command %s (%s) to %s not acknowledged within %.1f s",
            command.id,
            command.action,
            command.device,
            timeout_s,
        )
        now = datetime.now(UTC)
        ack = CommandAck(
            id=new_event_id(),
            device=self.config.gateway_id,
            seq=self.upstream.seq.next(),
            ts=now,
            received_at=now,
            command_id=command.id,
            action=command.action,
            result=AckResult.EXPIRED,
            detail=f"{command.device} did not acknowledge within {timeout_s:g} s",
        )
        self.upstream.send(self.config.gateway_id, Family.COMMAND_ACK, ack, Priority.EVENT)
