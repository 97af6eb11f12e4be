"""Device liveness from last wills and heartbeats.

A device is online while it sends; its own retained ``DeviceState`` (online
at connect, the ``offline`` last will when its connection dies) is forwarded
as it is. A device silent for ``offline_after_intervals`` heartbeat intervals
(its last Heartbeat's ``interval_s``, else its device file's ``heartbeat_s``)
without a last will is reported offline upstream by the gateway: a retained
``DeviceState(status=offline)`` on that device's state topic. When it is
heard again the gateway reports it online.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from protocol.messages import DeviceEvent, DeviceState, DeviceStatus, Heartbeat, Message
from protocol.topics import Family

log = logging.getLogger(__name__)


class LivenessTracker:
    def __init__(
        self,
        report: Callable[[DeviceState], None],
        *,
        known_devices: Iterable[str] = (),
        heartbeat_s: Mapping[str, float] | None = None,
        default_heartbeat_s: float = 30.0,
        offline_after_intervals: float = 3.0,
    ) -> None:
        self._report = report
        self._interval_s = dict(heartbeat_s or {})
        self._default_s = default_heartbeat_s
        self._factor = offline_after_intervals
        self._lock = threading.Lock()
        start = time.monotonic()
        self._last_heard: dict[str, float] = dict.fromkeys(known_devices, start)
        self._offline: set[str] = set()

    def observe(self, message: Message, family: Family) -> None:
        report_online = False
        with self._lock:
            if isinstance(message, DeviceState):
                if message.status is DeviceStatus.OFFLINE:
                    self._offline.add(message.device)  # its own last will says so
                    self._last_heard.pop(message.device, None)
                    return
                self._offline.discard(message.device)
                self._last_heard[message.device] = time.monotonic()
                return
            if not isinstance(message, DeviceEvent):
                return
            if isinstance(message, Heartbeat):
                self._interval_s[message.device] = message.interval_s
            self._last_heard[message.device] = time.monotonic()
            if message.device in self._offline:
                self._offline.discard(message.device)
                report_online = True
        if report_online:
            log.info("device %s is heard again: reporting it online", message.device)
            self._report(_state(message.device, DeviceStatus.ONLINE))

    def check(self) -> list[str]:
        """Report devices silent for too long; return their ids."""
        now = time.monotonic()
        silent: list[str] = []
        with self._lock:
            for device, heard in list(self._last_heard.items()):
                limit_s = self._factor * self._interval_s.get(device, self._default_s)
                if now - heard > limit_s:
                    silent.append(device)
                    del self._last_heard[device]
                    self._offline.add(device)
        for device in silent:
            log.warning(
                "device %s silent for %.0f heartbeat intervals: offline", device, self._factor
            )
            self._report(_state(device, DeviceStatus.OFFLINE))
        return silent

    @property
    def offline(self) -> int:
        with self._lock:
            return len(self._offline)


def _state(device: str, status: DeviceStatus) -> DeviceState:
    return DeviceState(device=device, status=status, ts=datetime.now(UTC))
