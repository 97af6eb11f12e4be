"""Acknowledgement tracking of commands relayed to devices.

Every command the gateway relays waits for the device's ``CommandAck`` with
its id. One that is not acknowledged within ``ack_timeout_s`` is reported
upstream as a ``CommandAck`` from the gateway itself (its own id on the
topic, ``result=expired``, the silent device named in ``detail``), so the
server learns about it with the same message type it already handles.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from protocol.messages import Command, CommandAck, Message
from protocol.topics import Family

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingCommand:
    command: Command
    deadline_monotonic: float


class CommandTracker:
    """Commands waiting for their acknowledgement; bounded, oldest evicted (and counted)."""

    def __init__(self, ack_timeout_s: float, max_pending: int = 10_000) -> None:
        self.ack_timeout_s = ack_timeout_s
        self.max_pending = max_pending
        self.evicted = 0
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, PendingCommand] = OrderedDict()

    def track(self, command: Command) -> None:
        deadline = time.monotonic() + self.ack_timeout_s
        with self._lock:
            self._pending[command.id] = PendingCommand(command, deadline)
            while len(self._pending) > self.max_pending:
                evicted_id, _ = self._pending.popitem(last=False)
                self.evicted += 1
                log.warning(
                    "too many commands awaiting acknowledgement; stopped tracking %s", evicted_id
                )

    def observe(self, message: Message, family: Family) -> None:
        if isinstance(message, CommandAck):
            with self._lock:
                pending = self._pending.get(message.command_id)
                if pending is not None and pending.command.device == message.device:
                    del self._pending[message.command_id]

    def expired(self) -> list[Command]:
        """Commands whose time ran out, removed from tracking."""
        now = time.monotonic()
        with self._lock:
            due = [cid for cid, p in self._pending.items() if p.deadline_monotonic <= now]
            return [self._pending.pop(cid).command for cid in due]

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)
