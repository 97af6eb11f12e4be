"""Who connects to which broker: devices, gateways and the server, from firmware-config."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from siteconfig import CampusConfig, GateDevice, KioskDevice

#: The broker user name of the central server.
SERVER_USER: Final = "server"
#: The central broker's name in the output (building brokers are named by building id).
CENTRAL: Final = "central"


class Role(enum.StrEnum):
    GATE = "gate"
    KIOSK = "kiosk"
    ROOM_SENSOR = "room_sensor"
    GATEWAY = "gateway"
    SERVER = "server"


@dataclass(frozen=True, slots=True)
class Principal:
    """One broker user: its name (the device, gateway or server id), role and building."""

    username: str
    role: Role
    building: str | None

    @property
    def reads_allowlist(self) -> bool:
        return self.role in (Role.GATE, Role.KIOSK)

    @property
    def is_device(self) -> bool:
        return self.role in (Role.GATE, Role.KIOSK, Role.ROOM_SENSOR)


def principals(campus: CampusConfig) -> list[Principal]:
    """Every broker user of the campus, sorted by user name; user names are unique."""
    found: list[Principal] = [Principal(SERVER_USER, Role.SERVER, None)]
    for building in campus.site.buildings:
        found.append(Principal(building.gateway_id, Role.GATEWAY, building.id))
    for device in campus.devices.values():
        if isinstance(device, GateDevice):
            role = Role.GATE
        elif isinstance(device, KioskDevice):
            role = Role.KIOSK
        else:
            role = Role.ROOM_SENSOR
        found.append(Principal(device.id, role, device.building))
    names = [p.username for p in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"broker user names must be unique; used twice: {', '.join(duplicates)}")
    return sorted(found, key=lambda p: p.username)


def brokers(campus: CampusConfig) -> dict[str, list[Principal]]:
    """Broker name → the users of that broker (each building's broker, and the central one)."""
    everyone = principals(campus)
    result: dict[str, list[Principal]] = {
        CENTRAL: [p for p in everyone if p.role in (Role.SERVER, Role.GATEWAY)]
    }
    for building in campus.site.buildings:
        result[building.id] = [
            p for p in everyone if p.building == building.id and p.role is not Role.SERVER
        ]
    return result
