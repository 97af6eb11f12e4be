"""The stand-in hardware of simulated agents: gpiozero MockFactory pins and room physics.

Gates and kiosks get their relay, LEDs, buzzer, door contact, exit button and
people-counter beam as gpiozero devices on a :class:`MockFactory` (one
factory per building: a factory has the 24 free GPIOs of one Pi header, so
room sensors' smoke contacts take one factory per 24 rooms). The simulator
drives inputs with ``pin.drive_high()``/``drive_low()`` as the edge tests do.

Occupancy, power and temperature of a room come from :class:`RoomPhysics`,
which plays the people counter, the power meter (a PZEM on a serial port on
a Pi) and the thermometer (1-Wire): those are not GPIO devices.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from gpiozero import LED, Button, Buzzer, DigitalInputDevice, OutputDevice
from gpiozero.pins.mock import MockFactory

from edge.door import DoorHardware

#: GPIO numbers without fixed pulls on the mock Pi header.
FREE_PINS: Final = tuple(range(4, 28))
GATE_PIN_COUNT: Final = 7


def factories() -> Iterator[tuple[MockFactory, int]]:
    """Endless (factory, pin) pairs: a new MockFactory whenever one is used up."""
    while True:
        factory = MockFactory()
        for pin in FREE_PINS:
            yield factory, pin


class PinAllocator:
    def __init__(self) -> None:
        self._pairs = factories()

    def take(self) -> tuple[MockFactory, int]:
        return next(self._pairs)

    def group(self, count: int) -> list[tuple[MockFactory, int]]:
        """``count`` pins on one factory (a device's pins sit on one header)."""
        pairs = [self.take() for _ in range(count)]
        if len({id(factory) for factory, _ in pairs}) > 1:
            # Crossed to a new header: start the group again on it.
            pairs = [self.take() for _ in range(count)]
        return pairs


def gate_hardware(pins: PinAllocator) -> DoorHardware:
    (f, relay), (_, contact), (_, exit_b), (_, green), (_, red), (_, buzzer), (_, beam) = (
        pins.group(GATE_PIN_COUNT)
    )
    door_contact = DigitalInputDevice(contact, pull_up=True, pin_factory=f)
    door_contact.pin.drive_low()  # shut
    return DoorHardware(
        relay=OutputDevice(relay, pin_factory=f),
        green_led=LED(green, pin_factory=f),
        red_led=LED(red, pin_factory=f),
        buzzer=Buzzer(buzzer, pin_factory=f),
        door_contact=door_contact,
        exit_button=Button(exit_b, pin_factory=f),
        beam=DigitalInputDevice(beam, pull_up=True, pin_factory=f),
    )


@dataclass
class KioskHardware:
    green_led: Any
    red_led: Any
    buzzer: Any


def kiosk_hardware(pins: PinAllocator) -> KioskHardware:
    (f, green), (_, red), (_, buzzer) = pins.group(3)
    return KioskHardware(
        LED(green, pin_factory=f), LED(red, pin_factory=f), Buzzer(buzzer, pin_factory=f)
    )


def smoke_contact(pins: PinAllocator) -> DigitalInputDevice:
    factory, pin = pins.take()
    return DigitalInputDevice(pin, pin_factory=factory)


class RoomPhysics:
    """One room: people in it, what is plugged in, how warm it is."""

    BASE_W: Final = 15.0
    PER_PERSON_W: Final = 45.0

    def __init__(self, room: str, seed: int, capacity: int, occupants: int = 0) -> None:
        self.room = room
        self.capacity = capacity
        self.occupants = occupants
        self.appliances_w = 0.0
        self.fire = False
        self._rng = random.Random(f"{seed}:{room}")

    # people counter
    def occupancy(self) -> int:
        return max(0, min(self.occupants, 64))

    def move(self, delta: int) -> None:
        self.occupants = max(0, self.occupants + delta)

    # power meter
    def read_power_w(self) -> float | None:
        noise = self._rng.uniform(-3.0, 3.0)
        return max(
            0.0, self.BASE_W + self.PER_PERSON_W * self.occupants + self.appliances_w + noise
        )

    # thermometer
    def read_temperature_c(self) -> float | None:
        heat = 0.4 * self.occupants + (3.0 if self.appliances_w >= 1500 else 0.0)
        return round(21.5 + heat + (35.0 if self.fire else 0.0), 1)
