"""Card readers: a serial reader on a real pty, the keyboard wedge from real evdev events."""

from __future__ import annotations

import os
import queue
import time

import serial
from evdev import InputEvent, ecodes

from edge.readers import KeyAssembler, LineCardReader, open_serial_reader


def key(code: int, value: int = 1) -> InputEvent:
    return InputEvent(1, 0, ecodes.EV_KEY, code, value)


def typed(text: str) -> list[InputEvent]:
    events: list[InputEvent] = []
    for char in text:
        code = getattr(ecodes, f"KEY_{char}")
        events += [key(ecodes.KEY_LEFTSHIFT), key(code), key(code, 0), key(ecodes.KEY_LEFTSHIFT, 0)]
    return [*events, key(ecodes.KEY_ENTER), key(ecodes.KEY_ENTER, 0)]


def test_keyboard_wedge_events_become_card_numbers() -> None:
    assembler = KeyAssembler()
    cards = [card for e in typed("0012345678") + typed("AB12") if (card := assembler.feed(e))]
    assert cards == ["0012345678", "AB12"]


def test_keypad_digits_repeats_and_other_event_types() -> None:
    assembler = KeyAssembler()
    events = [
        InputEvent(1, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 458782),  # scan codes are ignored
        key(ecodes.KEY_KP4),
        key(ecodes.KEY_KP2, 2),  # auto-repeat is not a new key
        key(ecodes.KEY_KP2),
        key(ecodes.KEY_KPENTER),
        key(ecodes.KEY_ENTER),  # an empty card is nothing
    ]
    assert [assembler.feed(e) for e in events] == [None, None, None, None, "42", None]


def test_an_over_long_run_of_keys_is_dropped() -> None:
    assembler = KeyAssembler()
    for _ in range(40):
        assert assembler.feed(key(ecodes.KEY_1)) is None
    assert assembler.dropped == 1
    assert assembler.feed(key(ecodes.KEY_ENTER)) == "1" * 7


def test_serial_reader_on_a_real_pty() -> None:
    controller, device = os.openpty()
    cards: queue.Queue[str] = queue.Queue()
    reader = open_serial_reader(os.ttyname(device), 9600, cards.put)
    reader.start()
    try:
        os.write(controller, b"00123\r\n0045")
        time.sleep(0.05)
        os.write(controller, b"67\r\n\r\nbad card!\r\n" + b"9" * 200 + b"\r\nAB99\n")
        got = [cards.get(timeout=5) for _ in range(3)]
        assert got == ["00123", "004567", "AB99"]
        assert reader.rejected == 2
    finally:
        reader.stop()
        os.close(controller)
        os.close(device)


def test_serial_url_loopback_reader() -> None:
    port = serial.serial_for_url("loop://", timeout=0.2)
    cards: queue.Queue[str] = queue.Queue()
    reader = LineCardReader(port, cards.put, name="loop")
    reader.start()
    try:
        port.write(b"7777\n")
        assert cards.get(timeout=5) == "7777"
    finally:
        reader.stop()
        port.close()


def test_stdin_style_reader_ends_at_end_of_input() -> None:
    read_fd, write_fd = os.pipe()
    cards: list[str] = []
    with os.fdopen(read_fd, "rb") as stream:
        reader = LineCardReader(stream, cards.append, name="pipe")
        reader.start()
        os.write(write_fd, b"111\n222\n")
        os.close(write_fd)
        reader._thread.join(5)
        assert not reader._thread.is_alive()
    assert cards == ["111", "222"]
