"""A loaded configuration directory: the site and all its devices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from siteconfig.device_models import Device, GateDevice, KioskDevice, RoomSensorDevice
from siteconfig.errors import ConfigIssue
from siteconfig.site_models import Site


@dataclass(frozen=True)
class CampusConfig:
    """Everything in one ``firmware-config`` directory, checked across files.

    ``devices`` maps device id to device, sorted by id; ``warnings`` holds
    what was found but does not make the configuration invalid.
    """

    root: Path
    site: Site
    devices: Mapping[str, Device]
    warnings: tuple[ConfigIssue, ...] = field(default=())

    def __post_init__(self) -> None:
        ordered = dict(sorted(self.devices.items()))
        object.__setattr__(self, "devices", MappingProxyType(ordered))

    def devices_in(self, building_id: str) -> list[Device]:
        return [d for d in self.devices.values() if d.building == building_id]

    def gates(self, building_id: str | None = None) -> list[GateDevice]:
        return [
            d
            for d in self.devices.values()
            if isinstance(d, GateDevice) and building_id in (None, d.building)
        ]

    def kiosks(self, building_id: str | None = None) -> list[KioskDevice]:
        return [
            d
            for d in self.devices.values()
            if isinstance(d, KioskDevice) and building_id in (None, d.building)
        ]

    def room_sensors(self, building_id: str | None = None) -> list[RoomSensorDevice]:
        return [
            d
            for d in self.devices.values()
            if isinstance(d, RoomSensorDevice) and building_id in (None, d.building)
        ]
