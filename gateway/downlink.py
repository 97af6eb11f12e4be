"""Downlink: commands and allowlists from the central broker to the building's devices.

A worker thread takes what the central link received (the building's
``dev/+/cmd`` and ``allowlist/#`` topics), validates it with the contract,
and republishes it on the building broker under the same topic: commands
with QoS 1 (and tracked until acknowledged), the allowlist snapshot retained.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.allowlist import AllowlistState
from gateway.commands import CommandTracker
from gateway.counters import GatewayCounters, ThrottledLog
from gateway.links import Received
from protocol.codec import decode
from protocol.errors import InvalidMessageError
from protocol.messages import AllowlistDelta, AllowlistSnapshot, Command, encode
from protocol.topics import Family, building_topic, parse_topic

log = logging.getLogger(__name__)


class DownlinkRelay:
    def __init__(
        self,
        building: str,
        inbox: queue.Queue[Received],
        publish: Callable[[str, bytes, bool], bool],
        commands: CommandTracker,
        counters: GatewayCounters,
        known_devices: frozenset[str] | None = None,
    ) -> None:
        self.building = building
        self.inbox = inbox
        self._publish = publish
        self.commands = commands
        self.counters = counters
        self.known_devices = known_devices
        self.allowlist = AllowlistState()
        self._reject_log = ThrottledLog(log)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-downlink", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self.inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            self.relay(item)

    def relay(self, item: Received) -> None:
        try:
            message = decode(item.topic, item.payload)
        except InvalidMessageError as exc:
            self._reject(f"downlink_{exc.reason.value}", item.topic, exc.detail)
            return
        topic = parse_topic(item.topic)
        if topic.building != self.building:
            self._reject("downlink_wrong_building", item.topic, "not this building")
            return
        if isinstance(message, Command):
            if message.expires_at <= datetime.now(UTC):
                # Waited too long (in a session, across an outage): an unlock
                # hours late is worse than none.
                self._reject(
                    "downlink_expired_command", item.topic, f"expired {message.expires_at}"
                )
                return
            if self.known_devices is not None and message.device not in self.known_devices:
                self._reject("downlink_unknown_device", item.topic, "not in the site config")
                return
            self.commands.track(message)
            self._publish(item.topic, item.payload, False)
            self.counters.add("commands_relayed")
            log.info("relayed %s command %s to %s", message.action, message.id, message.device)
        elif isinstance(message, AllowlistSnapshot):
            self.allowlist.snapshot(message)
            self._publish(item.topic, item.payload, True)
            self.counters.add("allowlists_relayed")
            log.info("relayed allowlist snapshot version %d", message.version)
        elif isinstance(message, AllowlistDelta):
            self._publish(item.topic, item.payload, False)
            self.counters.add("allowlists_relayed")
            updated = self.allowlist.apply(message)
            # A signed delta is followed by the server's signed snapshot; one the
            # gateway assembled itself would carry no signature and be refused.
            if updated is not None and message.sig is None:
                snapshot_topic = building_topic(self.building, Family.ALLOWLIST_SNAPSHOT)
                self._publish(snapshot_topic, encode(updated), True)
            log.info("relayed allowlist delta %d->%d", message.from_version, message.version)
        else:
            self._reject("downlink_unauthorised_family", item.topic, "not a downlink message")

    def _reject(self, reason: str, topic: str, detail: str) -> None:
        self.counters.reject(reason)
        self._reject_log.warning(
            reason, "refused downlink on %.120r: %s: %.200s", topic, reason, detail
        )
