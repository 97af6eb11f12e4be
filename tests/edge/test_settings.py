"""The agent's settings: validated by siteconfig in a child process, pydantic-free in the agent."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from gpiozero.pins.mock import MockFactory

from edge.errors import ConfigurationError
from edge.gate import GateAgent
from edge.heap import limit_heap_growth
from edge.runtime import CARD_KEY_FILE, EdgeOptions, build, load_settings
from edge.settings import GateSettings, KioskSettings, RoomSensorSettings
from edge.settings_from_config import curfew_rule, settings_of
from protocol.messages import AckResult
from siteconfig import GateDevice, KioskDevice, RoomSensorDevice, load_device, load_site
from siteconfig.site_models import Curfew
from tests.edge.helpers import CARD_KEY, REPO, SITE_FILE, write_gate_device

DEVICES = sorted((REPO / "firmware-config" / "devices").glob("*.yaml"))


@pytest.mark.parametrize("path", DEVICES, ids=lambda p: p.stem)
def test_settings_carry_the_validated_model(path: Path) -> None:
    device = load_device(path)
    site = load_site(SITE_FILE)
    settings = settings_of(device, site)
    assert (settings.id, settings.building) == (device.id, device.building)
    assert settings.pins == device.gpio_pins()
    assert (settings.broker_host, settings.broker_port) == (device.broker.host, device.broker.port)
    assert settings.heartbeat_s == device.heartbeat_s
    assert settings.timezone == site.campus.timezone
    role = settings.role
    if isinstance(device, GateDevice):
        assert isinstance(role, GateSettings)
        assert role.direction == device.direction
        assert role.unlock_s == device.door.unlock_s
        assert role.camera.device == device.camera.device
        assert role.card_reader.kind == device.card_reader.kind
    elif isinstance(device, KioskDevice):
        assert isinstance(role, KioskSettings)
        assert role.camera.fps == device.camera.fps
    else:
        assert isinstance(device, RoomSensorDevice)
        assert isinstance(role, RoomSensorSettings)
        assert role.room == device.room
        assert role.meter_port == device.power_meter.port


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/New_York"])
def test_curfew_rule_gives_the_windows_of_the_model(zone: str) -> None:
    curfew = Curfew.model_validate(
        {"default": "23:30", "fri": "00:30", "sat": "01:00", "sun": "22:00", "ends": "06:00"}
    )
    rule = curfew_rule(curfew)
    tz = ZoneInfo(zone)
    night = date(2026, 3, 1)  # through both DST changes of the year
    for _ in range(400):
        assert rule.window(night, tz) == curfew.window(night, tz), night
        night += timedelta(days=1)


def test_the_child_reports_an_invalid_device_file_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "b1-gate-in.yaml"
    bad.write_text(
        (REPO / "firmware-config" / "devices" / "b1-gate-in.yaml")
        .read_text()
        .replace("unlock_s: 5", "unlock_s: 500")
    )
    with pytest.raises(ConfigurationError) as caught:
        load_settings(bad, SITE_FILE)
    assert "b1-gate-in.yaml:" in str(caught.value)
    assert "unlock_s" in str(caught.value)


def test_the_child_reports_a_building_missing_from_the_site(tmp_path: Path) -> None:
    other = tmp_path / "b9-kiosk.yaml"
    other.write_text(
        (REPO / "firmware-config" / "devices" / "b1-kiosk.yaml")
        .read_text()
        .replace("id: b1-kiosk", "id: b9-kiosk")
        .replace("building: b1", "building: b9")
    )
    with pytest.raises(ConfigurationError, match="'b9' is not in the site file"):
        load_settings(other, SITE_FILE)


def test_a_running_agent_process_never_imports_pydantic_or_cryptography(tmp_path: Path) -> None:
    program = (
        "import sys; from pathlib import Path; from edge.runtime import EdgeOptions, build; "
        "r = build(EdgeOptions(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), "
        "camera=False, first_connect_jitter_s=0, broker_override=('127.0.0.1', 1))); "
        "r.stop(); print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'pydantic_core', 'siteconfig', 'yaml', 'cryptography')))"
    )
    kiosk = REPO / "firmware-config" / "devices" / "b1-kiosk.yaml"
    done = subprocess.run(
        [sys.executable, "-c", program, str(kiosk), str(SITE_FILE), str(tmp_path / "state")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, GPIOZERO_PIN_FACTORY="mock"),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_heap_settings_take_effect_on_glibc() -> None:
    assert limit_heap_growth()


def test_reload_config_runs_the_validation_again(tmp_path: Path, mock_factory: MockFactory) -> None:
    mock_factory.pin(27).drive_low()  # door shut
    device = write_gate_device(tmp_path / "devices")
    state = tmp_path / "state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(CARD_KEY)
    runtime = build(
        EdgeOptions(
            device_path=device,
            site_path=SITE_FILE,
            state_dir=state,
            camera=False,
            first_connect_jitter_s=0,
            broker_override=("127.0.0.1", 1),
        )
    )
    try:
        gate = runtime.agent
        assert isinstance(gate, GateAgent)
        assert gate.door.timings.unlock_s == 2
        device.write_text(device.read_text().replace("unlock_s: 2", "unlock_s: 7"))
        outcome = gate.reload()
        assert outcome.result is AckResult.OK, outcome.detail
        assert gate.door.timings.unlock_s == 7
        device.write_text(device.read_text().replace("unlock_s: 7", "unlock_s: -1"))
        failed = gate.reload()
        assert failed.result is AckResult.FAILED
        assert "unlock_s" in failed.detail
        assert gate.door.timings.unlock_s == 7  # the last valid timings stay
    finally:
        runtime.stop()
