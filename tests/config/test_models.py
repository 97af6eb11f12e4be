"""The models on their own: ranges, strictness, cross-field rules, helpers."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from pydantic import StringConstraints, ValidationError

from protocol import ids
from siteconfig import ConfigError, ConfigIssue, Severity, fields
from siteconfig.models import (
    ActivityRoom,
    Camera,
    Curfew,
    GateDevice,
    GatePins,
    KioskDevice,
    RoomSensorDevice,
    Site,
    parse_device,
)
from siteconfig.yamlio import read_yaml
from tests.config.helpers import EXAMPLE_DIR

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _device_data(name: str) -> dict[str, Any]:
    doc, _ = read_yaml(EXAMPLE_DIR / "devices" / f"{name}.yaml")
    assert doc is not None
    assert isinstance(doc.data, dict)
    return dict(doc.data)


def test_ids_use_the_protocol_pattern() -> None:
    constraints = [m for m in get_args(fields.Id) if isinstance(m, StringConstraints)]
    assert [c.pattern for c in constraints] == [ids.ID_PATTERN]


def test_curfew_windows() -> None:
    curfew = Curfew.model_validate({"default": "23:30", "sat": "00:30", "ends": "06:00"})
    monday = date(2025, 3, 3)
    assert curfew.window(monday, SHANGHAI) == (
        datetime(2025, 3, 3, 23, 30, tzinfo=SHANGHAI),
        datetime(2025, 3, 4, 6, 0, tzinfo=SHANGHAI),
    )
    saturday = date(2025, 3, 8)
    assert curfew.start_for(saturday.weekday()) == time(0, 30)
    assert curfew.window(saturday, SHANGHAI) == (
        datetime(2025, 3, 9, 0, 30, tzinfo=SHANGHAI),
        datetime(2025, 3, 9, 6, 0, tzinfo=SHANGHAI),
    )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"default": "23:30", "ends": "13:00"}, "end before noon"),
        ({"default": "23:30", "sun": "07:00"}, "curfew start 07:00 is in the morning"),
        ({"default": 1410}, 'write it in quotes, "23:30"'),
        ({"default": "24:00"}, 'expected a time of day as "HH:MM"'),
        ({"default": "7:30"}, 'expected a time of day as "HH:MM"'),
        ({"default": "23:30", "holiday": "01:00"}, "Extra inputs are not permitted"),
    ],
)
def test_curfew_rejects(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Curfew.model_validate(data)


def test_activity_room_defaults_follow_the_rules() -> None:
    room = ActivityRoom.model_validate(
        {"id": "a1", "number": 105, "kind": "activity", "capacity": 30, "max_power_w": 3000}
    )
    assert room.number == "105"
    assert (room.opening_hours.opens, room.opening_hours.closes) == (time(8, 30), time(20, 30))
    assert room.booking_lead_days == 1
    with pytest.raises(ValidationError, match="closing time must be after opening time"):
        ActivityRoom.model_validate(
            {
                "id": "a1",
                "number": "105",
                "kind": "activity",
                "capacity": 30,
                "max_power_w": 3000,
                "opening_hours": {"opens": "20:30", "closes": "08:30"},
            }
        )


def test_scalars_are_strict() -> None:
    data = _device_data("b1-gate-in")
    data["pins"] = {**data["pins"], "relay": "17"}
    with pytest.raises(ValidationError, match="valid integer"):
        parse_device(data)
    data = _device_data("b1-gate-in")
    data["door"] = {**data["door"], "relock_on_close": 1}
    with pytest.raises(ValidationError, match="valid boolean"):
        parse_device(data)


def test_every_reused_pin_is_reported() -> None:
    pins = {
        "relay": 5,
        "door_contact": 5,
        "exit_button": 5,
        "green_led": 23,
        "red_led": 24,
        "buzzer": 25,
    }
    with pytest.raises(ValidationError) as caught:
        GatePins.model_validate(pins)
    text = str(caught.value)
    assert "door_contact: BCM pin 5 is already used by 'relay'" in text
    assert "exit_button: BCM pin 5 is already used by 'relay'" in text


def test_bus_pins_are_taken() -> None:
    data = _device_data("b1-r201-sensor")  # SHT31 on I2C bus 1
    data["pins"] = {"occupancy": 2, "smoke": 27}
    with pytest.raises(ValidationError, match="I2C bus 1 SDA"):
        parse_device(data)
    data["temperature"] = {**data["temperature"], "bus": 3}  # another bus frees BCM 2
    assert isinstance(parse_device(data), RoomSensorDevice)

    gate = _device_data("b1-gate-out")
    gate["card_reader"] = {"kind": "serial", "port": "/dev/serial0"}
    gate["pins"] = {**gate["pins"], "people_counter": 15}
    with pytest.raises(ValidationError, match="UART RXD on /dev/serial0"):
        parse_device(gate)


def test_device_kinds_and_defaults() -> None:
    kiosk = parse_device(_device_data("b1-kiosk"))
    assert isinstance(kiosk, KioskDevice)
    assert kiosk.card_reader is None
    assert kiosk.camera.device == "/dev/video0"
    data = _device_data("b1-gate-in")
    del data["door"], data["heartbeat_s"]
    gate = parse_device(data)
    assert isinstance(gate, GateDevice)
    assert (gate.door.unlock_s, gate.door.held_open_s, gate.heartbeat_s) == (5, 30, 30)
    with pytest.raises(ValidationError):
        gate.heartbeat_s = 1


@pytest.mark.parametrize("device", [0, 3, "/dev/video2"])
def test_camera_device_accepts_index_or_path(device: int | str) -> None:
    assert Camera.model_validate({"device": device}).device == device


@pytest.mark.parametrize("device", ["video0", -1, True, 1.5])
def test_camera_device_rejects(device: object) -> None:
    with pytest.raises(ValidationError, match="video device index"):
        Camera.model_validate({"device": device})


def test_site_rejects_unknown_time_zone() -> None:
    doc, _ = read_yaml(EXAMPLE_DIR / "site.yaml")
    assert doc is not None
    assert isinstance(doc.data, dict)
    data = dict(doc.data)
    data["campus"] = {**data["campus"], "timezone": "Asia/Beijing"}
    with pytest.raises(ValidationError, match="unknown time zone 'Asia/Beijing'"):
        Site.model_validate(data)
    site = Site.model_validate(doc.data)
    assert site.campus.tz == SHANGHAI
    assert site.building("b2").room("b2-r304").max_power_w == 1500
    with pytest.raises(KeyError):
        site.building("b3")


def test_config_error_carries_every_issue() -> None:
    issues = [
        ConfigIssue(Path("b.yaml"), 3, 5, "second"),
        ConfigIssue(Path("a.yaml"), None, None, "whole file"),
        ConfigIssue(Path("a.yaml"), 9, 1, "just a warning", Severity.WARNING),
    ]
    error = ConfigError(issues)
    assert isinstance(error, ValueError)
    assert [i.message for i in error.issues] == ["whole file", "just a warning", "second"]
    assert str(error).splitlines() == [
        "2 configuration error(s):",
        "a.yaml: error: whole file",
        "b.yaml:3:5: error: second",
    ]
    assert issues[2].format() == "a.yaml:9:1: warning: just a warning"
