"""Simulated time: the loop's clock, its pacing, and door timers that follow it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.door import DoorController, DoorReport, DoorTimings, PassageReport
from protocol.messages import DoorEventKind
from simulators.clock import SimLoop
from simulators.hardware import PinAllocator, gate_hardware
from tests.simulators.helpers import MONDAY_6AM


def test_events_run_in_time_order_at_their_simulated_time() -> None:
    loop = SimLoop(MONDAY_6AM, speed=None)
    seen: list[tuple[str, float]] = []
    loop.call_later(30, lambda: seen.append(("b", loop.elapsed_s())))
    loop.call_later(10, lambda: seen.append(("a", loop.elapsed_s())))
    loop.call_at(MONDAY_6AM + timedelta(minutes=5), lambda: seen.append(("c", loop.elapsed_s())))
    loop.run_until(MONDAY_6AM + timedelta(minutes=10))
    assert seen == [("a", 10.0), ("b", 30.0), ("c", 300.0)]
    assert loop.now() == MONDAY_6AM + timedelta(minutes=10)


def test_speed_paces_simulated_time_against_the_wall() -> None:
    loop = SimLoop(MONDAY_6AM, speed=600.0)
    loop.call_later(60, lambda: None)
    wall = time.monotonic()
    loop.run_until(MONDAY_6AM + timedelta(seconds=120))
    # 120 simulated seconds at 600x take at least 0.2 s of wall time.
    assert time.monotonic() - wall >= 0.19


def test_stop_ends_a_run_early_and_handoff_runs_on_the_loop() -> None:
    loop = SimLoop(MONDAY_6AM, speed=60.0)
    stop = threading.Event()
    ran: list[str] = []
    loop.call_soon_threadsafe(lambda: ran.append(threading.current_thread().name))
    threading.Timer(0.2, stop.set).start()
    loop.run_until(MONDAY_6AM + timedelta(days=1), stop)
    assert ran == [threading.current_thread().name]
    assert loop.now() < MONDAY_6AM + timedelta(hours=1)


def test_a_failing_step_is_counted_and_the_loop_goes_on() -> None:
    loop = SimLoop(MONDAY_6AM, speed=None)
    ran: list[int] = []

    def broken() -> None:
        raise ValueError("bad stimulus")

    loop.call_later(1, broken)
    loop.call_later(2, lambda: ran.append(1))
    loop.run_until(MONDAY_6AM + timedelta(seconds=5))
    assert loop.errors == 1
    assert ran == [1]


def test_held_open_alarm_follows_simulated_time(tmp_path: Path) -> None:
    loop = SimLoop(MONDAY_6AM, speed=None)
    reports: list[tuple[float, DoorReport | PassageReport]] = []
    hardware = gate_hardware(PinAllocator())
    assert isinstance(hardware.door_contact.pin_factory, MockFactory)
    door = DoorController(
        hardware,
        loop,
        lambda r: reports.append((loop.elapsed_s(), r)),
        timings=DoorTimings(unlock_s=5, held_open_s=30),
    )
    loop.call_later(100, hardware.door_contact.pin.drive_high)  # forced open
    loop.call_later(200, hardware.door_contact.pin.drive_low)
    loop.run_until(MONDAY_6AM + timedelta(minutes=5))
    kinds = [(at, r.kind) for at, r in reports if isinstance(r, DoorReport)]
    assert kinds == [
        (100.0, DoorEventKind.FORCED),
        (130.0, DoorEventKind.HELD_OPEN),
        (200.0, DoorEventKind.CLOSED),
    ]
    door.close()
    hardware.close()
