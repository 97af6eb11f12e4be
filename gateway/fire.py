"""Fire release on the gateway's own authority.

Smoke reported by any device of the building (``RoomTelemetry.smoke``) opens
an incident: every gate of the building at once gets a ``fire_release``
command on the building broker, directly, not through the uplink outbox, so
it works whether or not the central side is reachable. The release is logged,
counted and reported in the gateway's health. Further smoky samples during
the incident send nothing new; a gate that has not acknowledged is sent a new
command every ``resend_s``. The incident ends when every device that reported
smoke reports clear air; the doors stay released until staff reset them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from protocol.ids import new_event_id
from protocol.messages import (
    AckResult,
    Command,
    CommandAck,
    CommandAction,
    Message,
    RoomTelemetry,
    encode,
)
from protocol.signing import DownlinkSigner
from protocol.topics import Family, device_topic

log = logging.getLogger(__name__)


class FireRelease:
    """Watches uplink messages for smoke; releases every gate once per incident."""

    def __init__(
        self,
        building: str,
        gateway_id: str,
        gate_ids: tuple[str, ...],
        send: Callable[[str, bytes], bool],
        *,
        on_release: Callable[[], None],
        resend_s: float = 2.0,
        command_ttl_s: float = 600.0,
        signer: DownlinkSigner | None = None,
    ) -> None:
        self.building = building
        self.gateway_id = gateway_id
        self.gate_ids = gate_ids
        self._send = send
        self._on_release = on_release
        self.resend_s = resend_s
        self.command_ttl_s = command_ttl_s
        #: the gateway's own downlink key; the building's devices trust it for
        #: fire_release only (protocol.signing), so this works with the server away
        self.signer = signer
        self._lock = threading.Lock()
        self._smoky: set[str] = set()
        #: gate -> (command id, monotonic time sent) of gates that have not acknowledged
        self._unacked: dict[str, tuple[str, float]] = {}
        self.releases = 0
        if not gate_ids:
            log.warning(
                "building %s has no gates configured: fire release has nothing to open", building
            )

    @property
    def active(self) -> bool:
        with self._lock:
            return bool(self._smoky)

    def observe(self, message: Message, family: Family) -> None:
        if isinstance(message, RoomTelemetry):
            self._telemetry(message)
        elif isinstance(message, CommandAck) and message.action is CommandAction.FIRE_RELEASE:
            with self._lock:
                pending = self._unacked.get(message.device)
                acked = pending is not None and pending[0] == message.command_id
                if acked and message.result is AckResult.OK:
                    del self._unacked[message.device]

    def _telemetry(self, sample: RoomTelemetry) -> None:
        with self._lock:
            if not sample.smoke:
                if sample.device in self._smoky:
                    self._smoky.discard(sample.device)
                    if not self._smoky:
                        log.warning("fire incident in %s: smoke cleared", self.building)
                return
            starting = not self._smoky
            self._smoky.add(sample.device)
            if not starting:
                return
            self.releases += 1
            gates = self.gate_ids
        log.critical(
            "SMOKE reported by %s in room %s: sending fire_release to %d gates of %s",
            sample.device,
            sample.room,
            len(gates),
            self.building,
        )
        self._release(gates)
        self._on_release()

    def _release(self, gates: tuple[str, ...]) -> None:
        issued = datetime.now(UTC)
        expires = issued + timedelta(seconds=self.command_ttl_s)
        now = time.monotonic()
        for gate in gates:
            command = Command(
                id=new_event_id(),
                device=gate,
                action=CommandAction.FIRE_RELEASE,
                issued_at=issued,
                expires_at=expires,
                issuer=self.gateway_id,
            )
            topic = device_topic(self.building, gate, Family.COMMAND)
            payload = encode(command)
            if self.signer is not None:
                payload = self.signer.sign(topic, payload)
            if not self._send(topic, payload):
                log.error("fire_release to %s could not be handed to the building broker", gate)
            with self._lock:
                self._unacked[gate] = (command.id, now)

    def tick(self) -> None:
        """Re-send to gates that have not acknowledged within ``resend_s``."""
        now = time.monotonic()
        with self._lock:
            if not self._smoky:
                return
            due = tuple(
                g for g, (_id, sent) in self._unacked.items() if now - sent >= self.resend_s
            )
        if due:
            log.warning("fire_release not acknowledged by %s; sending again", ", ".join(due))
            self._release(due)
