"""Site and device configuration: typed models, a loader that reports every
error with its file and line, and JSON Schema for editors.

>>> from siteconfig import load_config_dir
>>> campus = load_config_dir("firmware-config")  # doctest: +SKIP
>>> campus.site.building("b1").curfew.default  # doctest: +SKIP
datetime.time(23, 30)
"""

from __future__ import annotations

from siteconfig.campus import CampusConfig
from siteconfig.errors import ConfigError, ConfigIssue, Severity
from siteconfig.loader import CheckReport, check_path, load_config_dir, load_device, load_site
from siteconfig.models import (
    Broker,
    Building,
    Campus,
    Device,
    Floor,
    GateDevice,
    KioskDevice,
    Room,
    RoomSensorDevice,
    Site,
    parse_device,
)

__all__ = [
    "Broker",
    "Building",
    "Campus",
    "CampusConfig",
    "CheckReport",
    "ConfigError",
    "ConfigIssue",
    "Device",
    "Floor",
    "GateDevice",
    "KioskDevice",
    "Room",
    "RoomSensorDevice",
    "Severity",
    "Site",
    "check_path",
    "load_config_dir",
    "load_device",
    "load_site",
    "parse_device",
]
