"""Every door path on gpiozero MockFactory pins, with a hand-driven clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from edge.door import (
    DoorController,
    DoorHardware,
    DoorMode,
    DoorReport,
    DoorTimings,
    PassageReport,
)
from edge.timers import ManualScheduler
from protocol.messages import AckResult, Direction, DoorEventKind

GRANT = "01J0000000000000000000GRNT"
TIMINGS = DoorTimings(unlock_s=5, held_open_s=30, relock_on_close=True, feedback_s=1, beep_s=0.1)


@dataclass
class Rig:
    hw: DoorHardware
    clock: ManualScheduler
    door: DoorController
    reports: list[DoorReport | PassageReport] = field(default_factory=list)

    def kinds(self) -> list[DoorEventKind]:
        return [r.kind for r in self.reports if isinstance(r, DoorReport)]

    def passages(self) -> list[PassageReport]:
        return [r for r in self.reports if isinstance(r, PassageReport)]

    @property
    def relay(self) -> bool:
        return bool(self.hw.relay.pin.state)

    def open_door(self) -> None:
        self.hw.door_contact.pin.drive_high()  # contact opens: released

    def close_door(self) -> None:
        self.hw.door_contact.pin.drive_low()

    def press_exit(self) -> None:
        self.hw.exit_button.pin.drive_low()
        self.hw.exit_button.pin.drive_high()

    def break_beam(self) -> None:
        assert self.hw.beam is not None
        self.hw.beam.pin.drive_low()
        self.hw.beam.pin.drive_high()


@pytest.fixture
def rig(door_hw: DoorHardware) -> Rig:
    clock = ManualScheduler()
    reports: list[DoorReport | PassageReport] = []
    door = DoorController(door_hw, clock, reports.append, timings=TIMINGS)
    return Rig(door_hw, clock, door, reports)


def test_grant_open_close_relocks_on_close(rig: Rig) -> None:
    assert not rig.relay
    rig.door.grant(GRANT, "p-000001")
    assert rig.relay  # relay pin high: unlocked
    assert rig.hw.green_led.pin.state
    assert not rig.hw.red_led.pin.state
    assert rig.hw.buzzer.pin.state
    rig.clock.advance(0.2)
    assert not rig.hw.buzzer.pin.state  # a short beep
    rig.clock.advance(1.0)
    assert not rig.hw.green_led.pin.state
    rig.open_door()
    rig.break_beam()
    rig.clock.advance(2.5)
    assert rig.relay  # still unlocked while open within unlock time
    rig.close_door()
    assert not rig.relay  # relocked on close, before the unlock time ran out
    assert rig.kinds() == [DoorEventKind.OPENED, DoorEventKind.CLOSED]
    opened, closed = (r for r in rig.reports if isinstance(r, DoorReport))
    assert opened.grant_id == GRANT
    assert opened.person == "p-000001"
    assert closed.open_s == pytest.approx(2.5)
    assert rig.passages() == [PassageReport(Direction.ENTRY, 1, GRANT)]
    rig.clock.advance(10)
    assert rig.kinds() == [DoorEventKind.OPENED, DoorEventKind.CLOSED]  # nothing more
    assert [s.state for s in rig.hw.relay.pin.states] == [False, True, False]


def test_tailgating_is_counted_on_the_grant(rig: Rig) -> None:
    rig.door.grant(GRANT, "p-000001")
    rig.open_door()
    for _ in range(3):
        rig.break_beam()
    rig.close_door()
    assert rig.passages() == [PassageReport(Direction.ENTRY, 3, GRANT)]


def test_granted_but_not_used_relocks_after_unlock_time(rig: Rig) -> None:
    rig.door.grant(GRANT, "p-000001")
    rig.clock.advance(4.9)
    assert rig.relay
    assert rig.kinds() == []
    rig.clock.advance(0.2)
    assert not rig.relay
    assert rig.reports == [DoorReport(DoorEventKind.GRANTED_NOT_USED, GRANT, "p-000001")]


def test_relock_at_unlock_time_when_not_relocking_on_close(door_hw: DoorHardware) -> None:
    clock = ManualScheduler()
    reports: list[DoorReport | PassageReport] = []
    timings = DoorTimings(unlock_s=5, held_open_s=30, relock_on_close=False)
    door = DoorController(door_hw, clock, reports.append, timings=timings)
    door.grant(GRANT, None)
    door_hw.door_contact.pin.drive_high()
    clock.advance(1)
    door_hw.door_contact.pin.drive_low()
    assert door_hw.relay.pin.state  # stays released until the unlock time ends
    clock.advance(4.1)
    assert not door_hw.relay.pin.state
    assert [r.kind for r in reports if isinstance(r, DoorReport)] == [
        DoorEventKind.OPENED,
        DoorEventKind.CLOSED,
    ]


def test_forced_open(rig: Rig) -> None:
    rig.open_door()
    assert rig.kinds() == [DoorEventKind.FORCED]
    assert not rig.relay
    rig.close_door()
    assert rig.kinds() == [DoorEventKind.FORCED, DoorEventKind.CLOSED]
    assert rig.reports[1] == DoorReport(DoorEventKind.CLOSED, None, None, 0.0)


def test_opening_after_the_unlock_time_is_forced(rig: Rig) -> None:
    rig.door.grant(GRANT, "p-000001")
    rig.clock.advance(6)
    rig.open_door()
    assert rig.kinds() == [DoorEventKind.GRANTED_NOT_USED, DoorEventKind.FORCED]


def test_held_open_names_who_opened_it_and_sounds_until_closed(rig: Rig) -> None:
    rig.door.grant(GRANT, "p-000001")
    rig.open_door()
    rig.clock.advance(29.9)
    assert DoorEventKind.HELD_OPEN not in rig.kinds()
    assert not rig.relay  # the unlock time ended; the lock re-engages when the door shuts
    rig.clock.advance(0.2)
    held = rig.reports[-1]
    assert isinstance(held, DoorReport)
    assert (held.kind, held.grant_id, held.person) == (DoorEventKind.HELD_OPEN, GRANT, "p-000001")
    assert held.open_s == pytest.approx(30.0)
    assert rig.hw.buzzer.pin.state
    rig.clock.advance(100)
    assert rig.hw.buzzer.pin.state  # still sounding
    rig.close_door()
    assert not rig.hw.buzzer.pin.state
    assert rig.kinds()[-1] is DoorEventKind.CLOSED


def test_exit_button_releases_the_door_and_is_not_forced(rig: Rig) -> None:
    rig.press_exit()
    assert rig.relay
    rig.open_door()
    rig.break_beam()
    rig.close_door()
    assert not rig.relay
    assert rig.kinds() == [DoorEventKind.EXIT_REQUEST, DoorEventKind.OPENED, DoorEventKind.CLOSED]
    assert rig.passages() == [PassageReport(Direction.EXIT, 1, None)]


def test_exit_button_not_used_is_quiet(rig: Rig) -> None:
    rig.press_exit()
    rig.clock.advance(6)
    assert not rig.relay
    assert rig.kinds() == [DoorEventKind.EXIT_REQUEST]


def test_deny_shows_red_and_buzzes(rig: Rig) -> None:
    rig.door.deny()
    assert rig.hw.red_led.pin.state
    assert not rig.hw.green_led.pin.state
    assert rig.hw.buzzer.pin.state
    assert not rig.relay
    rig.clock.advance(1.01)
    assert not rig.hw.red_led.pin.state
    assert not rig.hw.buzzer.pin.state


def test_lockdown_then_reset(rig: Rig) -> None:
    rig.door.grant(GRANT, "p-000001")
    outcome = rig.door.enter_lockdown()
    assert outcome.result is AckResult.OK
    assert rig.door.lockdown
    assert not rig.relay
    rig.press_exit()  # leaving is always possible
    assert rig.relay
    rig.clock.advance(6)
    assert rig.door.reset().result is AckResult.OK
    assert rig.door.mode is DoorMode.NORMAL


def test_fire_release_holds_the_door_released_until_reset(rig: Rig) -> None:
    assert rig.door.fire_release().result is AckResult.OK
    assert rig.relay
    rig.clock.advance(3600)
    assert rig.relay
    assert rig.door.lock().result is AckResult.REJECTED
    assert rig.door.enter_lockdown().result is AckResult.REJECTED
    rig.door.grant(GRANT, "p-000001")
    rig.press_exit()
    rig.open_door()
    rig.clock.advance(600)  # no held-open alarm while evacuating
    assert rig.relay
    assert not rig.hw.buzzer.pin.state
    assert DoorEventKind.FORCED not in rig.kinds()
    assert DoorEventKind.HELD_OPEN not in rig.kinds()
    rig.close_door()
    assert rig.relay  # still released: only a reset ends it
    assert rig.door.reset().result is AckResult.OK
    assert not rig.relay


def test_reset_while_open_restarts_the_held_open_timer(rig: Rig) -> None:
    rig.door.fire_release()
    rig.open_door()
    rig.door.reset()
    rig.clock.advance(31)
    assert rig.kinds()[-1] is DoorEventKind.HELD_OPEN


def test_remote_unlock_once_and_lock(rig: Rig) -> None:
    assert rig.door.unlock_once(duration_s=10).result is AckResult.OK
    rig.clock.advance(9)
    assert rig.relay
    assert rig.door.lock().result is AckResult.OK
    assert not rig.relay
    rig.door.unlock_once()
    rig.open_door()
    assert rig.kinds() == [DoorEventKind.OPENED]  # authorised, not forced
    rig.close_door()
    assert not rig.relay


def test_a_second_grant_supersedes_an_unused_one(rig: Rig) -> None:
    rig.door.grant(GRANT, "p-000001")
    second = GRANT[:-1] + "2"
    rig.door.grant(second, "p-000002")
    assert rig.reports == [DoorReport(DoorEventKind.GRANTED_NOT_USED, GRANT, "p-000001")]
    rig.clock.advance(4)
    rig.open_door()
    assert rig.reports[-1] == DoorReport(DoorEventKind.OPENED, second, "p-000002")


def test_a_door_open_at_start_is_watched(door_hw: DoorHardware) -> None:
    door_hw.door_contact.pin.drive_high()  # someone propped it open before the agent started
    clock = ManualScheduler()
    reports: list[DoorReport | PassageReport] = []
    door = DoorController(door_hw, clock, reports.append, timings=TIMINGS)
    assert door.door_open
    assert reports == []  # not forced: nobody saw it open
    clock.advance(30.1)
    assert [r.kind for r in reports if isinstance(r, DoorReport)] == [DoorEventKind.HELD_OPEN]
    door_hw.door_contact.pin.drive_low()
    assert not door_hw.buzzer.pin.state
