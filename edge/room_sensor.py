"""The room-sensor agent: occupancy, power draw, smoke and temperature of one room.

Inputs are injected: a gpiozero ``MotionSensor`` (PIR) or a people counter
for occupancy, a ``DigitalInputDevice`` for the smoke detector's alarm
contact, a :class:`PowerMeter` and a :class:`Thermometer`.

Every ``sample_s`` the agent reads everything. A sample is published when it
differs from the last published one by more than the thresholds *and* the
difference has lasted ``debounce_samples`` samples (a kettle switching on is
reported, a single spike is not), and at least every ``report_s`` anyway.
Smoke is the exception: it is published at the first sample that sees it, as
an event (``Priority.EVENT``), so a full outbox sheds ordinary telemetry
before it ever sheds a smoke alarm.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edge.agent import Agent
from edge.events import EventSink
from edge.timers import Scheduler
from protocol.messages import RoomTelemetry
from transport.outbox import Priority

log = logging.getLogger(__name__)


class PowerMeter(Protocol):
    def read_power_w(self) -> float | None: ...


class Thermometer(Protocol):
    def read_temperature_c(self) -> float | None: ...


class Occupancy(Protocol):
    def occupancy(self) -> int: ...


class PirOccupancy:
    """Occupied (1) while the PIR saw motion within the last ``hold_s`` seconds, else 0."""

    def __init__(self, motion_sensor: Any, scheduler: Scheduler, hold_s: float = 300.0) -> None:
        self.sensor = motion_sensor
        self.scheduler = scheduler
        self.hold_s = hold_s
        self._last_motion_s: float | None = None
        motion_sensor.when_activated = self._on_motion

    def _on_motion(self) -> None:
        self._last_motion_s = self.scheduler.monotonic()

    def occupancy(self) -> int:
        if self.sensor.is_active:
            self._last_motion_s = self.scheduler.monotonic()
            return 1
        if self._last_motion_s is None:
            return 0
        return int(self.scheduler.monotonic() - self._last_motion_s < self.hold_s)


class CountingOccupancy:
    """People in the room from a door counter: one input pulses per person in, one per out."""

    def __init__(self, entering: Any, leaving: Any, max_people: int = 64) -> None:
        self.max_people = max_people
        self._count = 0
        self._lock = threading.Lock()
        entering.when_activated = self._in
        leaving.when_activated = self._out

    def _in(self) -> None:
        with self._lock:
            self._count = min(self.max_people, self._count + 1)

    def _out(self) -> None:
        with self._lock:
            # A missed "in" must not drive the count below zero.
            self._count = max(0, self._count - 1)

    def occupancy(self) -> int:
        return self._count


class Ds18b20Thermometer:
    """A DS18B20 on the 1-Wire bus, read through the kernel's w1_slave file."""

    def __init__(self, address: str, base: Path = Path("/sys/bus/w1/devices")) -> None:
        self.path = base / address / "w1_slave"

    def read_temperature_c(self) -> float | None:
        try:
            lines = self.path.read_text().splitlines()
        except OSError as exc:
            log.warning("thermometer %s unreadable: %s", self.path, exc)
            return None
        if len(lines) < 2 or not lines[0].endswith("YES") or "t=" not in lines[1]:
            return None  # CRC failure; the next sample tries again
        return int(lines[1].rsplit("t=", 1)[1]) / 1000.0


@dataclass(frozen=True, slots=True)
class Sample:
    occupancy: int
    power_w: float
    temperature_c: float
    smoke: bool


@dataclass(frozen=True, slots=True)
class SensorTimings:
    sample_s: float = 1.0
    report_s: float = 60.0
    debounce_samples: int = 2
    power_delta_w: float = 50.0
    temperature_delta_c: float = 0.5


class RoomSensorAgent(Agent):
    def __init__(
        self,
        *,
        room: str,
        sink: EventSink,
        scheduler: Scheduler,
        occupancy: Occupancy,
        smoke: Any,
        meter: PowerMeter,
        thermometer: Thermometer,
        config_version: str,
        timings: SensorTimings = SensorTimings(),
        heartbeat_s: float = 30.0,
        reload_config: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(
            sink=sink,
            config_version=config_version,
            heartbeat_s=heartbeat_s,
            reload_config=reload_config,
        )
        self.room = room
        self.scheduler = scheduler
        self.occupancy_source = occupancy
        self.smoke = smoke
        self.meter = meter
        self.thermometer = thermometer
        self.timings = timings
        self.published: Sample | None = None
        self._published_at_s: float | None = None
        self._pending = 0
        self._last_power_w = 0.0
        self._last_temperature_c: float | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        self.scheduler.call_later(0.0, self._tick)

    def _tick(self) -> None:
        if self._stopped:
            return
        self.sample_once()
        self.scheduler.call_later(self.timings.sample_s, self._tick)

    def read(self) -> Sample | None:
        power_w = self.meter.read_power_w()
        if power_w is not None:
            self._last_power_w = max(0.0, min(power_w, 100_000.0))
        temperature_c = self.thermometer.read_temperature_c()
        if temperature_c is not None:
            self._last_temperature_c = max(-40.0, min(temperature_c, 125.0))
        if self._last_temperature_c is None:
            return None  # nothing honest to report until the thermometer answers
        return Sample(
            occupancy=min(self.occupancy_source.occupancy(), 64),
            power_w=round(self._last_power_w, 1),
            temperature_c=round(self._last_temperature_c, 2),
            smoke=bool(self.smoke.is_active),
        )

    def _differs(self, sample: Sample, published: Sample) -> bool:
        t = self.timings
        return (
            sample.occupancy != published.occupancy
            or abs(sample.power_w - published.power_w) > t.power_delta_w
            or abs(sample.temperature_c - published.temperature_c) > t.temperature_delta_c
        )

    def sample_once(self) -> RoomTelemetry | None:
        """Take one sample and publish it if it is news; returns what was published."""
        with self._lock:
            sample = self.read()
            if sample is None:
                return None
            now_s = self.scheduler.monotonic()
            published = self.published
            due = self._published_at_s is None or now_s - self._published_at_s >= (
                self.timings.report_s
            )
            smoke_changed = published is not None and sample.smoke != published.smoke
            if published is not None and self._differs(sample, published):
                self._pending += 1
            else:
                self._pending = 0
            if not (
                published is None
                or due
                or smoke_changed
                or self._pending >= self.timings.debounce_samples
            ):
                return None
            self._pending = 0
            self.published = sample
            self._published_at_s = now_s
        priority = Priority.EVENT if sample.smoke or smoke_changed else Priority.TELEMETRY
        if sample.smoke:
            log.warning("smoke detected in %s", self.room)
        return self.sink.emit(
            RoomTelemetry,
            priority=priority,
            room=self.room,
            occupancy=sample.occupancy,
            power_w=sample.power_w,
            temperature_c=sample.temperature_c,
            smoke=sample.smoke,
        )

    def close(self) -> None:
        self._stopped = True
