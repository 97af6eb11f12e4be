"""The committed JSON Schema files are exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path

from siteconfig.schema import (
    DEVICE_SCHEMA_FILE,
    SITE_SCHEMA_FILE,
    device_schema,
    render,
    rendered_schemas,
    site_schema,
)
from tests.config.helpers import EXAMPLE_DIR, RunCli

SCHEMA_DIR = EXAMPLE_DIR / "schema"


def test_committed_schemas_equal_generated_ones() -> None:
    generated = rendered_schemas()
    assert sorted(generated) == [DEVICE_SCHEMA_FILE, SITE_SCHEMA_FILE]
    for name, text in generated.items():
        committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert committed == text, f"{name} is stale: run `dorm config schema`"


def test_rendering_is_deterministic_and_sorted() -> None:
    text = render(site_schema())
    assert text == render(site_schema())
    assert text.endswith("}\n")
    assert json.loads(text) == site_schema()
    keys = list(json.loads(text))
    assert keys == sorted(keys)
    assert text.startswith('{\n  "$defs"')


def test_schemas_describe_the_files() -> None:
    site = site_schema()
    assert site["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert site["additionalProperties"] is False
    assert site["required"] == ["campus", "buildings"]
    device = device_schema()
    assert device["discriminator"]["propertyName"] == "kind"
    assert sorted(device["discriminator"]["mapping"]) == ["gate", "kiosk", "room-sensor"]
    gate_pins = device["$defs"]["GatePins"]["properties"]
    assert gate_pins["relay"]["minimum"] == 0
    assert gate_pins["relay"]["maximum"] == 27
    assert device["$defs"]["DoorTiming"]["properties"]["unlock_s"]["default"] == 5
    assert site["$defs"]["Curfew"]["properties"]["default"]["pattern"].startswith("^")


def test_cli_writes_and_checks_schemas(tmp_path: Path, run_cli: RunCli) -> None:
    out_dir = tmp_path / "schema"
    code, out = run_cli("config", "schema", "--out", str(out_dir), "--check")
    assert code == 1
    assert "out of date" in out
    code, out = run_cli("config", "schema", "--out", str(out_dir))
    assert code == 0
    for name in (SITE_SCHEMA_FILE, DEVICE_SCHEMA_FILE):
        written = (out_dir / name).read_text(encoding="utf-8")
        assert written == (SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert f"wrote {out_dir / name}" in out
    code, out = run_cli("config", "schema", "--out", str(out_dir), "--check")
    assert code == 0
    assert "up to date" in out
