"""Rules that span the site file and the device files.

Each check returns :class:`Finding` objects located inside one document
(a device file or the site file); the loader turns them into lines.
"""

from __future__ import annotations

from collections.abc import Iterable

from siteconfig.device_models import Device, GateDevice, KioskDevice, RoomSensorDevice
from siteconfig.errors import Finding, Severity
from siteconfig.site_models import Site


def check_device_against_site(device: Device, site: Site) -> list[Finding]:
    """Findings located in the device file: its building, room, floor, id, broker."""
    findings: list[Finding] = []
    if device.id in site.ids():
        findings.append(Finding(("id",), f"id '{device.id}' is already used in the site file"))
    if not site.has_building(device.building):
        known = ", ".join(b.id for b in site.buildings)
        findings.append(
            Finding(("building",), f"unknown building '{device.building}' (the site has: {known})")
        )
        return findings
    building = site.building(device.building)
    if isinstance(device, RoomSensorDevice):
        try:
            building.room(device.room)
        except KeyError:
            elsewhere = [b.id for b, _, room in site.rooms() if room.id == device.room]
            hint = f"; it is in building '{elsewhere[0]}'" if elsewhere else ""
            findings.append(
                Finding(("room",), f"no room '{device.room}' in building '{building.id}'{hint}")
            )
    elif isinstance(device, GateDevice | KioskDevice):
        level = device.location.floor
        if level is not None and not building.has_floor(level):
            findings.append(
                Finding(("location", "floor"), f"building '{building.id}' has no floor {level}")
            )
    if device.broker != building.broker:
        findings.append(
            Finding(
                ("broker",),
                f"broker {device.broker.host}:{device.broker.port} differs from the broker "
                f"of building '{building.id}' ({building.broker.host}:{building.broker.port})",
                Severity.WARNING,
            )
        )
    return findings


def check_gate_coverage(site: Site, devices: Iterable[Device]) -> list[Finding]:
    """Findings located in the site file: every building needs an entry gate
    (error) and should have an exit gate (warning: people can also leave
    through an entry gate's exit button)."""
    directions: dict[str, set[str]] = {}
    for device in devices:
        if isinstance(device, GateDevice):
            directions.setdefault(device.building, set()).add(device.direction)
    findings: list[Finding] = []
    for index, building in enumerate(site.buildings):
        have = directions.get(building.id, set())
        if "entry" not in have:
            findings.append(
                Finding(("buildings", index, "id"), f"building '{building.id}' has no entry gate")
            )
        if "exit" not in have:
            findings.append(
                Finding(
                    ("buildings", index, "id"),
                    f"building '{building.id}' has no exit gate (only the entry gates' exit "
                    "buttons let people out)",
                    Severity.WARNING,
                )
            )
    return findings
