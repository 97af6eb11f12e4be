"""The door, as commercial access panels run it, on gpiozero devices passed in.

::

    grant ──> relay on (unlocked) for unlock_s ──> door opens ──> door closes ──> relock
                  │                                   │
                  └─ no opening within unlock_s:      └─ still open after held_open_s:
                     granted_not_used, relock            held_open (buzzer until closed)

    contact opens with no grant and no exit request ──> forced

- The door contact is a gpiozero input (``DigitalInputDevice(pull_up=True)``
  or a ``Button``) that is *active while the door is shut* (contact closed);
  inactive means open. (A ``Button`` works too, but its hold thread makes
  closing it wait ``hold_time`` while the door is shut.)
- The relay is "on" when the lock is released. Whether that energises or
  de-energises the coil (fail-secure strike or fail-safe maglock) is wiring,
  set with gpiozero's ``active_high`` when the device is made, not here.
- The people-counter beam (optional) counts passages during each opening;
  the count is reported with the grant that opened the door, so more people
  than grants (tailgating) is visible on the server.
- Modes: ``normal``; ``lockdown`` (the gate admits only staff, the decision
  reads it from here); ``fire_release`` (relay released and held until
  ``reset``, whatever else happens; no held-open alarm while evacuating).
- The exit button always releases the door, also in lockdown: people must be
  able to leave.

Every method takes the controller's lock; gpiozero callbacks and timers come
from other threads. What the door observes is handed to ``emit`` as a
:class:`DoorReport` or :class:`PassageReport`; the agent adds the envelope.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from edge.timers import Handle, Scheduler
from protocol.messages import AckResult, Direction, DoorEventKind

log = logging.getLogger(__name__)

MAX_PASSAGES: Final = 100  # the contract's limit per report


class DoorMode(enum.StrEnum):
    NORMAL = "normal"
    LOCKDOWN = "lockdown"
    FIRE_RELEASE = "fire_release"


@dataclass(frozen=True, slots=True)
class DoorTimings:
    unlock_s: float = 5.0
    held_open_s: float = 30.0
    relock_on_close: bool = True
    #: how long the green/red LED stays lit after a decision
    feedback_s: float = 1.0
    #: buzzer beep on a grant (a denial buzzes for feedback_s)
    beep_s: float = 0.1


@dataclass(frozen=True, slots=True)
class DoorHardware:
    """gpiozero devices; tests pass them on MockFactory pins."""

    relay: Any  # gpiozero.OutputDevice
    green_led: Any  # gpiozero.LED
    red_led: Any  # gpiozero.LED
    buzzer: Any  # gpiozero.Buzzer or OutputDevice
    door_contact: Any  # gpiozero.DigitalInputDevice/Button, active while the door is shut
    exit_button: Any  # gpiozero.Button
    beam: Any | None = None  # gpiozero.Button / DigitalInputDevice, active when broken

    def close(self) -> None:
        for device in (
            self.relay,
            self.green_led,
            self.red_led,
            self.buzzer,
            self.door_contact,
            self.exit_button,
            self.beam,
        ):
            if device is not None:
                device.close()


@dataclass(frozen=True, slots=True)
class DoorReport:
    kind: DoorEventKind
    grant_id: str | None = None
    person: str | None = None
    open_s: float | None = None


@dataclass(frozen=True, slots=True)
class PassageReport:
    direction: Direction
    count: int
    grant_id: str | None = None


Report = DoorReport | PassageReport
Emit = Callable[[Report], None]


@dataclass(slots=True)
class _Cycle:
    """One authorised release of the lock: a grant, an exit request or a remote unlock."""

    grant_id: str | None
    person: str | None
    direction: Direction
    opened: bool = False
    passages: int = 0
    timer: Handle | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    result: AckResult
    detail: str = ""


class DoorController:
    def __init__(
        self,
        hardware: DoorHardware,
        scheduler: Scheduler,
        emit: Emit,
        *,
        timings: DoorTimings = DoorTimings(),
        direction: Direction = Direction.ENTRY,
    ) -> None:
        self.hw = hardware
        self.scheduler = scheduler
        self.emit = emit
        self.timings = timings
        self.direction = direction
        self.mode = DoorMode.NORMAL
        self._lock = threading.RLock()
        self._cycle: _Cycle | None = None  # the lock is released for this
        self._open_cycle: _Cycle | None = None  # the current opening belongs to this
        self._open_since_s: float | None = None
        self._held_timer: Handle | None = None
        self._held_alarm = False
        self._feedback_timer: Handle | None = None
        self._stray_passages = 0
        self._closed = False
        hardware.relay.off()
        if not hardware.door_contact.is_active:
            log.warning("the door is open at start")
            self._open_since_s = scheduler.monotonic()
            self._held_timer = scheduler.call_later(timings.held_open_s, self._on_held_open)
        # Button's when_pressed/when_released are aliases of these; using the
        # DigitalInputDevice names lets any input device be wired in.
        hardware.door_contact.when_deactivated = self._on_door_opened
        hardware.door_contact.when_activated = self._on_door_closed
        hardware.exit_button.when_activated = self._on_exit_button
        if hardware.beam is not None:
            hardware.beam.when_activated = self._on_beam

    # -- state ---------------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        return bool(self.hw.relay.is_active)

    @property
    def door_open(self) -> bool:
        return self._open_since_s is not None

    @property
    def lockdown(self) -> bool:
        return self.mode is DoorMode.LOCKDOWN

    # -- decisions -----------------------------------------------------------------

    def grant(self, grant_id: str, person: str | None, direction: Direction | None = None) -> None:
        """Release the lock for one passage (the relay goes on first, feedback after)."""
        with self._lock:
            if self.mode is DoorMode.FIRE_RELEASE:
                self._feedback(granted=True)
                return
            self._start_cycle(
                _Cycle(grant_id=grant_id, person=person, direction=direction or self.direction)
            )
            self._feedback(granted=True)

    def deny(self) -> None:
        with self._lock:
            self._feedback(granted=False)

    # -- commands ------------------------------------------------------------------

    def unlock_once(self, duration_s: float | None = None) -> CommandOutcome:
        with self._lock:
            if self.mode is DoorMode.FIRE_RELEASE:
                return CommandOutcome(AckResult.OK, "already released (fire release)")
            self._start_cycle(
                _Cycle(grant_id=None, person=None, direction=self.direction), duration_s
            )
            return CommandOutcome(AckResult.OK, "unlocked once")

    def lock(self) -> CommandOutcome:
        with self._lock:
            if self.mode is DoorMode.FIRE_RELEASE:
                return CommandOutcome(AckResult.REJECTED, "fire release is active; reset first")
            self._end_cycle()
            return CommandOutcome(AckResult.OK, "locked")

    def enter_lockdown(self) -> CommandOutcome:
        with self._lock:
            if self.mode is DoorMode.FIRE_RELEASE:
                return CommandOutcome(AckResult.REJECTED, "fire release is active; reset first")
            self.mode = DoorMode.LOCKDOWN
            self._end_cycle()
            log.warning("lockdown: only staff are admitted")
            return CommandOutcome(AckResult.OK, "lockdown: staff only")

    def fire_release(self) -> CommandOutcome:
        with self._lock:
            self.mode = DoorMode.FIRE_RELEASE
            if self._cycle is not None and self._cycle.timer is not None:
                self._cycle.timer.cancel()
            self._cycle = None
            self._cancel_held_alarm()
            self.hw.relay.on()
            log.warning("fire release: the door is released until reset")
            return CommandOutcome(AckResult.OK, "released until reset")

    def reset(self) -> CommandOutcome:
        with self._lock:
            previous = self.mode
            self.mode = DoorMode.NORMAL
            self._end_cycle()
            if self.door_open and self._held_timer is None:
                self._held_timer = self.scheduler.call_later(
                    self.timings.held_open_s, self._on_held_open
                )
            return CommandOutcome(AckResult.OK, f"normal (was {previous.value})")

    def set_timings(self, timings: DoorTimings) -> None:
        with self._lock:
            self.timings = timings

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for timer in (self._held_timer, self._feedback_timer):
                if timer is not None:
                    timer.cancel()
            if self._cycle is not None and self._cycle.timer is not None:
                self._cycle.timer.cancel()

    # -- the lock cycle ------------------------------------------------------------

    def _start_cycle(self, cycle: _Cycle, duration_s: float | None = None) -> None:
        self.hw.relay.on()
        previous = self._cycle
        if previous is not None:
            if previous.timer is not None:
                previous.timer.cancel()
            if not previous.opened and previous.grant_id is not None:
                self.emit(
                    DoorReport(DoorEventKind.GRANTED_NOT_USED, previous.grant_id, previous.person)
                )
        cycle.timer = self.scheduler.call_later(
            duration_s or self.timings.unlock_s, lambda: self._on_unlock_expired(cycle)
        )
        self._cycle = cycle

    def _end_cycle(self) -> None:
        cycle = self._cycle
        if cycle is not None and cycle.timer is not None:
            cycle.timer.cancel()
        self._cycle = None
        if self.mode is not DoorMode.FIRE_RELEASE:
            self.hw.relay.off()

    def _on_unlock_expired(self, cycle: _Cycle) -> None:
        with self._lock:
            if self._cycle is not cycle or self._closed:
                return
            if not cycle.opened and cycle.grant_id is not None:
                self.emit(DoorReport(DoorEventKind.GRANTED_NOT_USED, cycle.grant_id, cycle.person))
            self._end_cycle()

    # -- inputs (gpiozero callbacks) -----------------------------------------------

    def _on_door_opened(self) -> None:
        with self._lock:
            if self._open_since_s is not None or self._closed:
                return
            self._open_since_s = self.scheduler.monotonic()
            if self.mode is DoorMode.FIRE_RELEASE:
                self._open_cycle = None
                self.emit(DoorReport(DoorEventKind.OPENED))
                return
            cycle = self._cycle
            if cycle is not None:
                cycle.opened = True
                self._open_cycle = cycle
                self.emit(DoorReport(DoorEventKind.OPENED, cycle.grant_id, cycle.person))
            else:
                self._open_cycle = None
                log.warning("door forced open")
                self.emit(DoorReport(DoorEventKind.FORCED))
            self._held_timer = self.scheduler.call_later(
                self.timings.held_open_s, self._on_held_open
            )

    def _on_door_closed(self) -> None:
        with self._lock:
            if self._open_since_s is None or self._closed:
                return
            open_s = max(0.0, self.scheduler.monotonic() - self._open_since_s)
            self._open_since_s = None
            self._cancel_held_alarm()
            opening = self._open_cycle
            self._open_cycle = None
            grant_id = opening.grant_id if opening else None
            person = opening.person if opening else None
            self.emit(DoorReport(DoorEventKind.CLOSED, grant_id, person, round(open_s, 3)))
            if self.hw.beam is not None:
                count = (opening.passages if opening else 0) + self._stray_passages
                self._stray_passages = 0
                direction = opening.direction if opening else self.direction
                self.emit(PassageReport(direction, min(count, MAX_PASSAGES), grant_id))
            if (
                self.timings.relock_on_close
                and opening is not None
                and opening is self._cycle
                and self.mode is not DoorMode.FIRE_RELEASE
            ):
                self._end_cycle()

    def _on_held_open(self) -> None:
        with self._lock:
            self._held_timer = None
            if self._open_since_s is None or self._closed or self.mode is DoorMode.FIRE_RELEASE:
                return
            opening = self._open_cycle
            open_s = self.scheduler.monotonic() - self._open_since_s
            log.warning("door held open for %.0f s", open_s)
            self.emit(
                DoorReport(
                    DoorEventKind.HELD_OPEN,
                    opening.grant_id if opening else None,
                    opening.person if opening else None,
                    round(open_s, 3),
                )
            )
            self._held_alarm = True
            self.hw.buzzer.on()

    def _on_exit_button(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.emit(DoorReport(DoorEventKind.EXIT_REQUEST))
            if self.mode is DoorMode.FIRE_RELEASE:
                return
            self._start_cycle(_Cycle(grant_id=None, person=None, direction=Direction.EXIT))

    def _on_beam(self) -> None:
        with self._lock:
            target = self._open_cycle or self._cycle
            if target is not None:
                target.passages += 1
            else:
                self._stray_passages += 1

    # -- feedback ------------------------------------------------------------------

    def _cancel_held_alarm(self) -> None:
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None
        if self._held_alarm:
            self._held_alarm = False
            self.hw.buzzer.off()

    def _feedback(self, *, granted: bool) -> None:
        if self._feedback_timer is not None:
            self._feedback_timer.cancel()
        self.hw.green_led.value = granted
        self.hw.red_led.value = not granted
        if not self._held_alarm:
            self.hw.buzzer.on()
        beep_s = self.timings.beep_s if granted else self.timings.feedback_s
        self.scheduler.call_later(beep_s, self._buzzer_off)
        self._feedback_timer = self.scheduler.call_later(
            self.timings.feedback_s, self._feedback_off
        )

    def _buzzer_off(self) -> None:
        with self._lock:
            if not self._held_alarm:
                self.hw.buzzer.off()

    def _feedback_off(self) -> None:
        with self._lock:
            self._feedback_timer = None
            self.hw.green_led.off()
            self.hw.red_led.off()
