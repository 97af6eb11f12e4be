"""Messages the gateway itself sends upstream (health, offline reports, timed-out commands).

They go through the same durable outbox as forwarded messages, under the
gateway's own id, with a sequence number of its own: microseconds since the
epoch, forced to increase, so it keeps increasing across restarts without
state as long as the clock does not jump back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from protocol.messages import DeviceState, Message, encode
from protocol.topics import Family, device_topic
from transport.outbox import Message as OutboxMessage
from transport.outbox import Outbox, Priority


class GatewaySeq:
    """Strictly increasing sequence numbers for the gateway's own messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last


class Upstream:
    """Puts the gateway's own messages into the uplink outbox."""

    def __init__(self, building: str, outbox: Outbox, wake: Callable[[], None]) -> None:
        self.building = building
        self._outbox = outbox
        self._wake = wake
        self.seq = GatewaySeq()

    def send(self, device: str, family: Family, message: Message, priority: Priority) -> bool:
        topic = device_topic(self.building, device, family)
        retain = family.retained or isinstance(message, DeviceState)
        stored = self._outbox.put(OutboxMessage(topic, encode(message), priority, retain))
        self._wake()
        return stored
