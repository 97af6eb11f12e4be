"""The campus the simulator runs: buildings, rooms and the devices it simulates.

Either read from firmware-config (``site.yaml`` through
:func:`siteconfig.load_config_dir`) or generated for ``--buildings N --rooms R``.
A generated campus is a real :class:`siteconfig.Site`, so what it produces
(the site file for the gateways, the server's seed) goes through the same
validation as a hand-written one.

Every building gets the same simulated devices: an entry and an exit gate
(``{b}-gate-in``, ``{b}-gate-out``), a duty kiosk (``{b}-kiosk``) and one
room sensor per dorm and activity room (``{room}-sensor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import yaml

from siteconfig import RoomSensorDevice, Site, load_config_dir
from siteconfig.site_models import Building, Curfew

ROOMS_PER_FLOOR: Final = 20
DORM_CAPACITY: Final = 4
DORM_MAX_POWER_W: Final = 1500.0
ACTIVITY_CAPACITY: Final = 30


class CampusError(ValueError):
    """A campus that cannot be built from what was asked."""


@dataclass(frozen=True, slots=True)
class SimRoom:
    id: str
    building: str
    floor: int
    kind: str  # dorm | activity
    capacity: int
    max_power_w: float

    @property
    def sensor(self) -> str:
        return f"{self.id}-sensor"


@dataclass(frozen=True, slots=True)
class SimBuilding:
    id: str
    curfew: Curfew
    dorms: tuple[SimRoom, ...]
    activity: tuple[SimRoom, ...]
    #: rooms with a sensor (None: every dorm and activity room)
    sensed: frozenset[str] | None = None

    @property
    def gate_in(self) -> str:
        return f"{self.id}-gate-in"

    @property
    def gate_out(self) -> str:
        return f"{self.id}-gate-out"

    @property
    def kiosk(self) -> str:
        return f"{self.id}-kiosk"

    @property
    def rooms(self) -> tuple[SimRoom, ...]:
        return self.dorms + self.activity

    @property
    def sensed_rooms(self) -> tuple[SimRoom, ...]:
        return tuple(r for r in self.rooms if self.sensed is None or r.id in self.sensed)

    def devices(self) -> list[str]:
        return [self.gate_in, self.gate_out, self.kiosk, *(r.sensor for r in self.sensed_rooms)]


@dataclass(frozen=True)
class Campus:
    site: Site
    buildings: tuple[SimBuilding, ...]

    @property
    def tz(self) -> ZoneInfo:
        return self.site.campus.tz

    def building(self, building_id: str) -> SimBuilding:
        for b in self.buildings:
            if b.id == building_id:
                return b
        raise KeyError(building_id)

    def rooms(self) -> dict[str, SimRoom]:
        return {r.id: r for b in self.buildings for r in b.sensed_rooms}

    def write_site(self, path: Path) -> Path:
        """The site file (for the gateways and the server's seed)."""
        data = self.site.model_dump(mode="json", exclude_none=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    def write_config_dir(self, directory: Path) -> Path:
        """A firmware-config directory: the site file and the gate and kiosk device files
        (what a gateway and ``server.seed`` load); room sensors are left out, the
        gateways of a simulation accept devices without a file."""
        self.write_site(directory / "site.yaml")
        devices = directory / "devices"
        devices.mkdir(parents=True, exist_ok=True)
        for b in self.buildings:
            for device in _device_files(b):
                path = devices / f"{device['id']}.yaml"
                path.write_text(yaml.safe_dump(device, sort_keys=False), encoding="utf-8")
        return directory


_GATE_PINS: Final = {
    "relay": 17,
    "door_contact": 27,
    "exit_button": 22,
    "green_led": 23,
    "red_led": 24,
    "buzzer": 25,
    "people_counter": 5,
}


def _device_files(b: SimBuilding) -> list[dict[str, Any]]:
    broker = {"host": "127.0.0.1", "port": 1883}
    gates: list[dict[str, Any]] = [
        {
            "id": device,
            "kind": "gate",
            "building": b.id,
            "direction": direction,
            "location": {"place": f"main entrance ({direction})", "floor": 1},
            "door": {"unlock_s": 5, "held_open_s": 30, "relock_on_close": True},
            "pins": dict(_GATE_PINS),
            "camera": {"device": 0},
            "card_reader": {"kind": "stdin"},
            "broker": broker,
            "heartbeat_s": 30,
        }
        for device, direction in ((b.gate_in, "entry"), (b.gate_out, "exit"))
    ]
    kiosk = {
        "id": b.kiosk,
        "kind": "kiosk",
        "building": b.id,
        "location": {"place": "lobby", "floor": 1},
        "pins": {"green_led": 23, "red_led": 24, "buzzer": 25},
        "camera": {"device": 0},
        "broker": broker,
        "heartbeat_s": 30,
    }
    return [*gates, kiosk]


def _sim_building(building: Building, sensed: set[str] | None = None) -> SimBuilding:
    dorms: list[SimRoom] = []
    activity: list[SimRoom] = []
    for floor in building.floors:
        for room in floor.rooms:
            if room.kind not in ("dorm", "activity"):
                continue
            sim = SimRoom(
                room.id, building.id, floor.level, room.kind, room.capacity, room.max_power_w
            )
            (dorms if room.kind == "dorm" else activity).append(sim)
    in_building = None if sensed is None else frozenset(sensed)
    return SimBuilding(building.id, building.curfew, tuple(dorms), tuple(activity), in_building)


def from_site(site: Site, sensed_rooms: set[str] | None = None) -> Campus:
    """Every dorm and activity room gets a sensor, or only ``sensed_rooms``."""
    return Campus(site, tuple(_sim_building(b, sensed_rooms) for b in site.buildings))


def from_config_dir(path: Path | str, *, configured_sensors_only: bool = False) -> Campus:
    """The campus of a firmware-config directory (raises siteconfig's ConfigError).

    ``configured_sensors_only``: room sensors only where the directory has a
    device file for one (for a gateway that refuses devices it does not know).
    """
    config = load_config_dir(path)
    sensed = None
    if configured_sensors_only:
        sensed = {d.room for d in config.devices.values() if isinstance(d, RoomSensorDevice)}
    return from_site(config.site, sensed)


def only(campus: Campus, buildings: list[str]) -> Campus:
    """The same campus with only ``buildings`` simulated (raises KeyError for an unknown one)."""
    return Campus(campus.site, tuple(campus.building(b) for b in buildings))


def generate(buildings: int, rooms: int, *, timezone: str = "Asia/Shanghai") -> Campus:
    """``buildings`` buildings sharing ``rooms`` dorm rooms as evenly as possible.

    Each building: floor 1 holds the duty room and an activity room, dorm
    rooms fill floors of :data:`ROOMS_PER_FLOOR` from floor 1 up (numbered
    ``level*100 + n``, ``{b}-r{number}``). Weeknight curfew 23:30, Friday and
    Saturday 00:30, ending 06:00.
    """
    if buildings < 1 or rooms < buildings:
        raise CampusError(f"need at least one building and one room each ({buildings}, {rooms})")
    site_buildings: list[dict[str, Any]] = []
    for index in range(buildings):
        b = f"b{index + 1}"
        count = rooms // buildings + (1 if index < rooms % buildings else 0)
        floors: list[dict[str, Any]] = []
        level_rooms: list[dict[str, Any]] = [
            {"id": f"{b}-duty", "number": 100, "kind": "duty", "capacity": 2, "max_power_w": 2000},
            {
                "id": f"{b}-activity",
                "number": 199,
                "kind": "activity",
                "capacity": ACTIVITY_CAPACITY,
                "max_power_w": 3000,
                "opening_hours": {"opens": "08:30", "closes": "20:30"},
                "booking_lead_days": 1,
            },
        ]
        level = 1
        for _ in range(count):
            if len(level_rooms) >= ROOMS_PER_FLOOR + (2 if level == 1 else 0):
                floors.append({"level": level, "name": f"{level}F", "rooms": level_rooms})
                level, level_rooms = level + 1, []
            number = level * 100 + len(level_rooms) + (-1 if level == 1 else 1)
            level_rooms.append(
                {
                    "id": f"{b}-r{number}",
                    "number": number,
                    "kind": "dorm",
                    "capacity": DORM_CAPACITY,
                    "max_power_w": DORM_MAX_POWER_W,
                }
            )
        floors.append({"level": level, "name": f"{level}F", "rooms": level_rooms})
        site_buildings.append(
            {
                "id": b,
                "name": f"Building {index + 1}",
                "gateway_id": f"{b}-gw",
                "broker": {"host": "127.0.0.1", "port": 1883},
                "curfew": {"default": "23:30", "fri": "00:30", "sat": "00:30", "ends": "06:00"},
                "floors": floors,
            }
        )
    site = Site.model_validate(
        {
            "version": 1,
            "campus": {"id": "sim", "name": "Simulated campus", "timezone": timezone},
            "buildings": site_buildings,
        }
    )
    return from_site(site)
