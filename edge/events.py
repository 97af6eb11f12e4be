"""Turning what an agent observes into enveloped events in the durable outbox.

Every event gets a ULID, the device's next sequence number and the device's
time, and is written to the outbox *before* anything tries to publish it.
Sequence numbers stay monotonic across restarts: blocks of them are reserved
in a small state file (written atomically) before they are used, so a restart
(even after SIGKILL) continues above everything handed out before; it may
leave a gap, never a repeat. Receivers de-duplicate by ``(device, seq)``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from edge.allowlist import write_atomically
from edge.errors import StateError
from protocol.codec import family_of
from protocol.ids import new_event_id
from protocol.messages import DeviceEvent, encode
from protocol.topics import device_topic
from transport.outbox import Message, Outbox, Priority

log = logging.getLogger(__name__)

SEQ_FILE: Final = "seq"
SEQ_BLOCK: Final = 1000

E = TypeVar("E", bound=DeviceEvent)


class SeqStore:
    """Monotonic sequence numbers that survive restarts (reserved in blocks)."""

    def __init__(self, directory: Path, block: int = SEQ_BLOCK) -> None:
        self.path = directory / SEQ_FILE
        self.block = block
        try:
            text = self.path.read_text().strip()
            start = int(text) if text else 0
        except FileNotFoundError:
            start = 0
        except (OSError, ValueError) as exc:
            raise StateError(f"cannot read sequence file {self.path}: {exc}") from exc
        self._next = start
        self._reserved = start
        self._reserve()

    def _reserve(self) -> None:
        self._reserved = self._next + self.block
        write_atomically(self.path, f"{self._reserved}\n".encode())

    def next(self) -> int:
        if self._next >= self._reserved:
            self._reserve()
        value = self._next
        self._next += 1
        return value


class EventSink:
    """Envelopes events and puts them in the outbox; thread-safe."""

    def __init__(
        self,
        device: str,
        building: str,
        outbox: Outbox,
        seq: SeqStore,
        *,
        connected: Callable[[], bool] = lambda: True,
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.device = device
        self.building = building
        self.outbox = outbox
        self.seq = seq
        self.connected = connected
        self.wake = wake
        self.clock = clock
        self._lock = threading.Lock()
        self._warned_full = False
        self._last_losses = 0
        self.refused = 0
        self.failed = 0

    def emit(
        self,
        cls: type[E],
        *,
        priority: Priority = Priority.EVENT,
        event_id: str | None = None,
        **fields: Any,
    ) -> E | None:
        """Build, store and schedule one event; None if it could not be stored (counted).

        Never raises for a full or broken outbox: this runs in gpiozero and timer
        callbacks, where an exception would end the callback thread.
        """
        with self._lock:
            try:
                event, accepted = self._store(cls, priority, event_id, fields)
            except (sqlite3.Error, OSError) as exc:
                self.failed += 1
                log.error("could not store %s: %s", cls.__name__, exc)
                return None
            except ValueError as exc:
                # The contract refuses it, e.g. a clock not yet set by NTP (1970).
                self.failed += 1
                log.error("could not build %s: %s", cls.__name__, exc)
                return None
            self._report_pressure()
        if not accepted:
            self.refused += 1
            log.error("outbox refused %s seq %d (full)", cls.__name__, event.seq)
            return None
        self.wake()
        return event

    def _store(
        self, cls: type[E], priority: Priority, event_id: str | None, fields: dict[str, Any]
    ) -> tuple[E, bool]:
        event = cls(
            id=event_id or new_event_id(),
            device=self.device,
            seq=self.seq.next(),
            ts=self.clock(),
            # Created while the link is down: it will arrive late.
            replayed=not self.connected(),
            **fields,
        )
        topic = device_topic(self.building, self.device, family_of(event))
        return event, self.outbox.put(Message(topic, encode(event), priority))

    def _report_pressure(self) -> None:
        outbox = self.outbox
        if outbox.over_warning and not self._warned_full:
            self._warned_full = True
            log.warning(
                "outbox %s at %d of %d rows (≥ %.0f%%)",
                outbox.path,
                outbox.depth,
                outbox.max_rows,
                outbox.warn_ratio * 100,
            )
        elif not outbox.over_warning:
            self._warned_full = False
        losses = outbox.shed_telemetry + outbox.refused_telemetry + outbox.refused_events
        if losses != self._last_losses:
            self._last_losses = losses
            log.warning(
                "outbox full: shed %d telemetry, refused %d telemetry and %d events so far",
                outbox.shed_telemetry,
                outbox.refused_telemetry,
                outbox.refused_events,
            )
