"""Recognise repeats by ``(device, seq)`` within a window below each device's highest seq.

Devices number every message they send (``seq``, monotonic per device); a
repeat happens when a device re-sends after a lost acknowledgement or a
restart, and when the building broker redelivers to a restarted gateway. A
message is a duplicate when its seq was already seen and lies within
``window`` of the highest seq seen from that device. Out-of-order arrivals
inside the window (a live heartbeat overtaking a device's backlog) are
accepted once each.

A seq more than ``window`` below the highest means the device started
counting again (replaced, storage wiped): its window restarts there, and the
reset is counted and logged rather than every later message being dropped.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    RESET = "reset"  # new, and the device's numbering restarted


@dataclass
class _DeviceWindow:
    high: int
    seen: set[int] = field(default_factory=set)


class SeqWindow:
    """In-memory dedupe state; the gateway persists what it admits (see :mod:`gateway.store`)."""

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self._devices: dict[str, _DeviceWindow] = {}

    def admit(self, device: str, seq: int) -> Verdict:
        """Record ``(device, seq)``; say whether it is new, a repeat, or a restart of numbering."""
        state = self._devices.get(device)
        if state is None:
            self._devices[device] = _DeviceWindow(high=seq, seen={seq})
            return Verdict.NEW
        if seq <= state.high - self.window:
            log.warning(
                "device %s restarted its sequence numbers (%d after %d)", device, seq, state.high
            )
            self._devices[device] = _DeviceWindow(high=seq, seen={seq})
            return Verdict.RESET
        if seq in state.seen:
            return Verdict.DUPLICATE
        state.seen.add(seq)
        if seq > state.high:
            state.high = seq
            if len(state.seen) > 2 * self.window:
                floor = state.high - self.window
                state.seen = {s for s in state.seen if s > floor}
        return Verdict.NEW

    def load(self, rows: Iterable[tuple[str, int]]) -> None:
        """Restore from persisted ``(device, seq)`` rows (replaces the current state)."""
        self._devices.clear()
        for device, seq in rows:
            state = self._devices.get(device)
            if state is None:
                self._devices[device] = _DeviceWindow(high=seq, seen={seq})
            else:
                state.seen.add(seq)
                state.high = max(state.high, seq)

    def high(self, device: str) -> int | None:
        state = self._devices.get(device)
        return None if state is None else state.high

    @property
    def devices(self) -> int:
        return len(self._devices)
