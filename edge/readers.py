"""Card readers: a USB keyboard-wedge reader (Linux input events) and line readers.

Both hand each card number to ``on_card`` and forget it; the gate hashes it
at once. Nothing here logs a card number.

- :class:`KeyAssembler` turns ``evdev`` key events into card numbers: digits
  and letters on key-down, Enter (or keypad Enter) ends a card, anything else
  is ignored; an over-long run is dropped (a stuck key, not a card).
- :class:`EvdevCardReader` reads an input device, grabbing it so the numbers
  do not also go to a console, and reopens it when it is unplugged.
- :class:`LineCardReader` reads lines from a serial port (pyserial) or any
  binary stream (stdin for demos).
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from typing import Any, BinaryIO, Final, Protocol

from evdev import InputEvent, ecodes

log = logging.getLogger(__name__)

MAX_CARD_CHARS: Final = 32
KEY_DOWN: Final = 1
REOPEN_DELAY_S: Final = 2.0

OnCard = Callable[[str], None]

_KEY_CHARS: Final[dict[int, str]] = {
    **{getattr(ecodes, f"KEY_{d}"): str(d) for d in range(10)},
    **{getattr(ecodes, f"KEY_KP{d}"): str(d) for d in range(10)},
    **{getattr(ecodes, f"KEY_{c}"): c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
}
_END_KEYS: Final = frozenset({ecodes.KEY_ENTER, ecodes.KEY_KPENTER})


def valid_card_text(text: str) -> bool:
    return 0 < len(text) <= MAX_CARD_CHARS and text.isascii() and text.isalnum()


class KeyAssembler:
    """Collects key-down events into a card number; Enter completes it."""

    def __init__(self) -> None:
        self._chars: list[str] = []
        self.dropped = 0

    def feed(self, event: InputEvent) -> str | None:
        if event.type != ecodes.EV_KEY or event.value != KEY_DOWN:
            return None
        if event.code in _END_KEYS:
            text = "".join(self._chars)
            self._chars.clear()
            return text or None
        char = _KEY_CHARS.get(event.code)
        if char is None:
            return None
        if len(self._chars) >= MAX_CARD_CHARS:
            self._chars.clear()
            self.dropped += 1
            log.warning("card reader sent an over-long run of keys; dropped")
            return None
        self._chars.append(char)
        return None


def _deliver(on_card: OnCard, card: str, source: str) -> None:
    """Hand a card over; a failure is logged (without the number) and the reader goes on."""
    try:
        on_card(card)
    except (OSError, ValueError, RuntimeError) as exc:
        log.error("handling a card from %s failed: %s", source, exc)


class Reader(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class EvdevCardReader:
    def __init__(self, path: str, on_card: OnCard, *, grab: bool = True) -> None:
        self.path = path
        self.on_card = on_card
        self.grab = grab
        self.errors = 0
        self._stopping = threading.Event()
        self._device: Any | None = None
        self._thread = threading.Thread(target=self._run, name="evdev-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        device = self._device
        if device is not None:
            device.close()
        if self._thread.is_alive():
            self._thread.join(2.0)

    def _run(self) -> None:
        from evdev import InputDevice

        while not self._stopping.is_set():
            assembler = KeyAssembler()
            try:
                device = InputDevice(self.path)
                self._device = device
                if self.grab:
                    device.grab()
                for event in device.read_loop():
                    card = assembler.feed(event)
                    if card is not None:
                        _deliver(self.on_card, card, self.path)
            except OSError as exc:
                if self._stopping.is_set():
                    return
                self.errors += 1
                log.error("card reader %s: %s; retrying in %.0f s", self.path, exc, REOPEN_DELAY_S)
                self._stopping.wait(REOPEN_DELAY_S)


class LineCardReader:
    """One card per line from a binary stream (a pyserial ``Serial`` or stdin)."""

    def __init__(self, stream: BinaryIO | Any, on_card: OnCard, *, name: str = "line") -> None:
        self.stream = stream
        self.on_card = on_card
        self.name = name
        self.rejected = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(2.0)

    def _run(self) -> None:
        if getattr(self.stream, "timeout", None) is not None:
            self._run_timed()
        else:
            self._run_fd()

    def _run_timed(self) -> None:
        """A serial port opened with a timeout: ``readline`` returns when idle."""
        pending = b""
        while not self._stopping.is_set():
            try:
                chunk = self.stream.readline()
            except OSError as exc:
                log.error("%s card reader failed: %s", self.name, exc)
                return
            pending = self._take_lines(pending + chunk)

    def _run_fd(self) -> None:
        """A pipe or terminal (stdin): wait with select, so ``stop`` is seen in time
        and no thread is left blocked inside a buffered read at exit."""
        try:
            fd = self.stream.fileno()
        except OSError as exc:  # io.UnsupportedOperation: not a real file
            log.error("%s card reader cannot read its stream: %s", self.name, exc)
            return
        pending = b""
        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if not ready:
                    continue
                chunk = os.read(fd, 4096)
            except OSError as exc:
                log.error("%s card reader failed: %s", self.name, exc)
                return
            if not chunk:
                return  # end of input
            pending = self._take_lines(pending + chunk)

    def _take_lines(self, data: bytes) -> bytes:
        *lines, rest = data.split(b"\n")
        for line in lines:
            self.handle_line(line)
        if len(rest) > 4 * MAX_CARD_CHARS:
            self.rejected += 1
            return b""
        return rest

    def handle_line(self, line: bytes) -> None:
        text = line.decode("ascii", errors="replace").strip()
        if not text:
            return
        if not valid_card_text(text):
            self.rejected += 1
            log.warning("%s card reader sent an unreadable line (%d chars)", self.name, len(text))
            return
        _deliver(self.on_card, text, self.name)


def open_serial_reader(port: str, baud: int, on_card: OnCard) -> LineCardReader:
    import serial

    stream = serial.Serial(port=port, baudrate=baud, timeout=0.5)
    return LineCardReader(stream, on_card, name=f"serial {port}")
