"""Sequence numbers of a building's simulated agents, reserved in one file per building.

:class:`edge.events.SeqStore` keeps one small file per device and syncs it
to disk at every reservation: right for a Pi, 15,000 ``fsync`` calls (a
minute) when a campus of room sensors starts. Here the reservations of all
agents of a building live in one JSON file, written atomically; while the
campus is being built the writes are deferred and made once. The guarantee
is :class:`SeqStore`'s: a restarted simulation continues above every number
handed out before (it may leave a gap, never a repeat), so the gateway's
``(device, seq)`` de-duplication never drops a new event.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.allowlist import write_atomically
from edge.errors import StateError
from edge.events import SEQ_BLOCK, SeqStore


class SeqBook:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._reserved: dict[str, int] = {
                str(k): int(v) for k, v in json.loads(path.read_text()).items()
            }
        except FileNotFoundError:
            self._reserved = {}
        except (OSError, ValueError, AttributeError) as exc:
            raise StateError(f"cannot read sequence book {path}: {exc}") from exc
        self._deferred = False
        self._lock = threading.Lock()

    def start(self, device: str) -> int:
        return self._reserved.get(device, 0)

    def reserve(self, device: str, up_to: int) -> None:
        with self._lock:
            self._reserved[device] = up_to
            if not self._deferred:
                self._write()

    def _write(self) -> None:
        write_atomically(self.path, json.dumps(self._reserved, sort_keys=True).encode())

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Collect reservations and write them once at the end (before any is used)."""
        self._deferred = True
        try:
            yield
        finally:
            with self._lock:
                self._deferred = False
                self._write()

    def store(self, device: str, block: int = SEQ_BLOCK) -> SeqStore:
        return BookSeqStore(self, device, block)


class BookSeqStore(SeqStore):
    """A :class:`SeqStore` whose reservations go to a :class:`SeqBook`."""

    def __init__(self, book: SeqBook, device: str, block: int = SEQ_BLOCK) -> None:
        # SeqStore's own file is replaced by the book: its __init__ is not called.
        self.book = book
        self.device = device
        self.block = block
        self.path = book.path
        start = book.start(device)
        self._next = start
        self._reserved = start
        self._reserve()

    def _reserve(self) -> None:
        self._reserved = self._next + self.block
        self.book.reserve(self.device, self._reserved)
