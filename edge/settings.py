"""What an agent process needs from its (already validated) device and site files.

The device and site files are validated by :mod:`siteconfig`, the one source of
truth, in a short-lived child process (:mod:`edge.settings_from_config`), which
hands the agent these plain values as JSON. The agent itself never imports
pydantic and the configuration models: they cost a Pi ~11 MB of resident memory
for as long as the agent runs (see docs/edge.md, "Memory").

Nothing here validates or defaults anything: every value is copied from the
validated model by :func:`edge.settings_from_config.settings_of`. Pins are the
model's own ``gpio_pins()`` map (name → BCM number). The building's curfew is
carried as a table per weekday computed with ``Curfew.window`` itself.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

import msgspec


class CurfewNight(msgspec.Struct, frozen=True):
    """The curfew of the night beginning on one weekday: when it starts, and on which day."""

    start: time
    #: 0: the start is on the night's own day (evening); 1: the next day (early morning)
    start_day: Literal[0, 1]


class CurfewRule(msgspec.Struct, frozen=True):
    """A building's curfew, as ``siteconfig.site_models.Curfew.window`` computed it."""

    nights: tuple[CurfewNight, ...]  # Monday first, 7 of them
    ends: time

    def window(self, night_of: date, tz: tzinfo) -> tuple[datetime, datetime]:
        """The curfew of the night that begins on ``night_of`` as aware datetimes."""
        night = self.nights[night_of.weekday()]
        return (
            datetime.combine(night_of + timedelta(days=night.start_day), night.start, tzinfo=tz),
            datetime.combine(night_of + timedelta(days=1), self.ends, tzinfo=tz),
        )


class CameraSettings(msgspec.Struct, frozen=True):
    device: int | str
    width_px: int
    height_px: int
    fps: float


class CardReaderSettings(msgspec.Struct, frozen=True):
    kind: Literal["evdev", "serial", "stdin"]
    #: the input device (evdev) or serial port (serial)
    path: str | None = None
    baud: int | None = None


class GateSettings(msgspec.Struct, frozen=True, tag="gate"):
    direction: Literal["entry", "exit"]
    unlock_s: float
    held_open_s: float
    relock_on_close: bool
    camera: CameraSettings
    card_reader: CardReaderSettings


class KioskSettings(msgspec.Struct, frozen=True, tag="kiosk"):
    camera: CameraSettings


class RoomSensorSettings(msgspec.Struct, frozen=True, tag="room-sensor"):
    room: str
    meter_port: str
    meter_baud: int
    meter_address: int
    #: the thermometer's model and address (``ds18b20`` and its 1-Wire id)
    thermometer: str
    thermometer_address: str


class DeviceSettings(msgspec.Struct, frozen=True):
    id: str
    building: str
    heartbeat_s: float
    broker_host: str
    broker_port: int
    broker_tls: bool
    #: name → BCM pin, as ``Device.gpio_pins()`` gives them
    pins: dict[str, int]
    #: the campus time zone (IANA name)
    timezone: str
    curfew: CurfewRule
    role: GateSettings | KioskSettings | RoomSensorSettings


SETTINGS_DECODER = msgspec.json.Decoder(DeviceSettings)
