"""Validate a device file and the site file with siteconfig; print the agent's settings.

Run by the agent as a child process (``python -m edge.settings_from_config
--device FILE --site FILE``) so that pydantic and the configuration models
live only as long as the validation: the agent reads the JSON this prints
(:class:`edge.settings.DeviceSettings`). Exit 0 with the settings on stdout;
exit 2 with siteconfig's report (every error with its file and line) on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Final, Literal

import msgspec

from edge.settings import (
    CameraSettings,
    CardReaderSettings,
    CurfewNight,
    CurfewRule,
    DeviceSettings,
    GateSettings,
    KioskSettings,
    RoomSensorSettings,
)
from siteconfig import (
    ConfigError,
    GateDevice,
    KioskDevice,
    RoomSensorDevice,
    Site,
    load_device,
    load_site,
)
from siteconfig.device_models import Camera, Ds18b20, EvdevReader, SerialReader, StdinReader
from siteconfig.site_models import Curfew

EXIT_INVALID: Final = 2


class UnknownBuildingError(ValueError):
    """The device names a building the site file does not have."""


#: A Monday: the nights of the week are computed from it.
_A_MONDAY: Final = date(2026, 1, 5)


def curfew_rule(curfew: Curfew) -> CurfewRule:
    """The curfew as a table per weekday, computed by ``Curfew.window`` itself."""
    nights = []
    for weekday in range(7):
        night_of = _A_MONDAY + timedelta(days=weekday)
        start, _end = curfew.window(night_of, UTC)
        offset = (start.date() - night_of).days
        if offset not in (0, 1):
            raise ValueError(f"curfew of {night_of:%A} starts {offset} days later")
        start_day: Literal[0, 1] = 0 if offset == 0 else 1
        nights.append(CurfewNight(start.time(), start_day))
    return CurfewRule(tuple(nights), curfew.ends)


def _camera(camera: Camera) -> CameraSettings:
    return CameraSettings(camera.device, camera.width_px, camera.height_px, camera.fps)


def _card_reader(reader: EvdevReader | SerialReader | StdinReader) -> CardReaderSettings:
    if isinstance(reader, EvdevReader):
        return CardReaderSettings("evdev", reader.device)
    if isinstance(reader, SerialReader):
        return CardReaderSettings("serial", reader.port, reader.baud)
    return CardReaderSettings("stdin")


def settings_of(device: GateDevice | KioskDevice | RoomSensorDevice, site: Site) -> DeviceSettings:
    """The agent's settings: the validated device and its building in the site file."""
    try:
        building = site.building(device.building)
    except KeyError:
        raise UnknownBuildingError(
            f"the device's building {device.building!r} is not in the site file"
        ) from None
    role: GateSettings | KioskSettings | RoomSensorSettings
    if isinstance(device, GateDevice):
        role = GateSettings(
            direction=device.direction,
            unlock_s=device.door.unlock_s,
            held_open_s=device.door.held_open_s,
            relock_on_close=device.door.relock_on_close,
            camera=_camera(device.camera),
            card_reader=_card_reader(device.card_reader),
        )
    elif isinstance(device, KioskDevice):
        role = KioskSettings(camera=_camera(device.camera))
    else:
        sensor = device.temperature
        role = RoomSensorSettings(
            room=device.room,
            meter_port=device.power_meter.port,
            meter_baud=device.power_meter.baud,
            meter_address=device.power_meter.address,
            thermometer=sensor.kind,
            thermometer_address=sensor.address if isinstance(sensor, Ds18b20) else "",
        )
    return DeviceSettings(
        id=device.id,
        building=device.building,
        heartbeat_s=device.heartbeat_s,
        broker_host=device.broker.host,
        broker_port=device.broker.port,
        broker_tls=device.broker.tls,
        pins=device.gpio_pins(),
        timezone=site.campus.timezone,
        curfew=curfew_rule(building.curfew),
        role=role,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Validate a device file and the site file; print the agent's settings."
    )
    parser.add_argument("--device", required=True, type=Path)
    parser.add_argument("--site", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        settings = settings_of(load_device(args.device), load_site(args.site))
    except (ConfigError, UnknownBuildingError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.buffer.write(msgspec.json.encode(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
