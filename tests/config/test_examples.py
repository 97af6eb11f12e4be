"""The shipped example campus is valid, complete and editor-ready."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from siteconfig import load_config_dir
from siteconfig.models import ActivityRoom, DormRoom, GateDevice
from siteconfig.yamlio import read_yaml
from tests.config.helpers import EXAMPLE_DIR, REPO_ROOT, RunCli


def schema_errors(schema: dict[str, Any], instance: object) -> list[str]:
    """Every way ``instance`` fails ``schema`` (empty when it conforms), per jsonschema."""
    validator = jsonschema.Draft202012Validator(schema)
    return [error.message for error in validator.iter_errors(instance)]


SCHEMA_DIR = EXAMPLE_DIR / "schema"
_SCHEMA_COMMENT = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def _example_files() -> list[Path]:
    return [EXAMPLE_DIR / "site.yaml", *sorted((EXAMPLE_DIR / "devices").glob("*.yaml"))]


def test_validate_passes_on_the_example(run_cli: RunCli) -> None:
    code, out = run_cli("config", "validate", str(EXAMPLE_DIR))
    assert code == 0, out
    assert ": error:" not in out
    assert ": warning:" not in out
    assert "0 errors, 0 warnings; 13 files checked" in out


def test_dorm_command_uses_paths_relative_to_the_working_directory(config_copy: Path) -> None:
    # The installed `dorm` entry point runs cli.main:main; `python -m cli.main` is the same.
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "config", "validate"],
        cwd=config_copy.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("firmware-config: valid (0 errors")


def test_each_example_file_validates_on_its_own(run_cli: RunCli) -> None:
    for path in _example_files():
        code, out = run_cli("config", "validate", str(path))
        assert code == 0, out


def test_example_counts() -> None:
    campus = load_config_dir(EXAMPLE_DIR)
    site = campus.site
    assert site.campus.id == "north"
    assert [b.id for b in site.buildings] == ["b1", "b2"]
    rooms = [room for _, _, room in site.rooms()]
    assert len(rooms) == 28
    assert sum(isinstance(room, DormRoom) for room in rooms) == 24
    assert all(room.capacity == 4 for room in rooms if isinstance(room, DormRoom))
    assert len(campus.devices) == 12
    assert list(campus.devices) == sorted(campus.devices)
    for building in ("b1", "b2"):
        assert sorted(g.direction for g in campus.gates(building)) == ["entry", "exit"]
        assert [k.id for k in campus.kiosks(building)] == [f"{building}-kiosk"]
        assert len(campus.room_sensors(building)) == 3
        assert len(campus.devices_in(building)) == 6
    assert campus.warnings == ()


def test_example_activity_rooms_follow_the_rules() -> None:
    site = load_config_dir(EXAMPLE_DIR).site
    activity = [room for _, _, room in site.rooms() if isinstance(room, ActivityRoom)]
    assert len(activity) == 2
    for room in activity:
        assert room.opening_hours.opens == time(8, 30)
        assert room.opening_hours.closes == time(20, 30)
        assert room.booking_lead_days == 1


def test_example_gate_defaults() -> None:
    gate = load_config_dir(EXAMPLE_DIR).devices["b1-gate-in"]
    assert isinstance(gate, GateDevice)
    assert gate.door.unlock_s == 5
    assert gate.door.held_open_s == 30
    assert gate.door.relock_on_close is True
    assert gate.heartbeat_s == 30
    assert gate.gpio_pins()["relay"] == 17


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_example_names_its_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = _SCHEMA_COMMENT.match(first)
    assert match, f"{path.name} must start with the yaml-language-server schema comment"
    schema_path = (path.parent / match.group(1)).resolve()
    expected = "site.schema.json" if path.name == "site.yaml" else "device.schema.json"
    assert schema_path == SCHEMA_DIR / expected


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_example_conforms_to_the_json_schema(path: Path) -> None:
    name = "site.schema.json" if path.name == "site.yaml" else "device.schema.json"
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    doc, issues = read_yaml(path)
    assert doc is not None
    assert issues == []
    assert schema_errors(schema, doc.data) == []


def test_json_schema_checker_rejects_what_it_should() -> None:
    schema = json.loads((SCHEMA_DIR / "device.schema.json").read_text(encoding="utf-8"))
    doc, _ = read_yaml(EXAMPLE_DIR / "devices" / "b1-gate-in.yaml")
    assert doc is not None
    assert isinstance(doc.data, dict)
    bad = {**doc.data, "heartbeat_s": "fast", "colour": "red"}
    bad["pins"] = {**bad["pins"], "relay": 40}
    errors = schema_errors(schema, bad)
    assert errors  # oneOf reports the failure of the whole document
    assert schema_errors(schema, {**doc.data, "kind": "kiosk"})


def test_no_personal_data_in_the_example() -> None:
    # Privacy rule: configuration names places and devices, never people.
    forbidden = re.compile(r"student|name:\s*[A-Z][a-z]+ [A-Z][a-z]+$|\b\d{8,}\b", re.MULTILINE)
    for path in _example_files():
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.lstrip().startswith("name:"):
                assert re.fullmatch(
                    r"\s*name: (Building \d+|\d+F|Example University, North Campus)", line
                ), line
        assert not forbidden.search(text), path
