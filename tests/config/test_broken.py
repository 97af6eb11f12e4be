"""A broken copy of the example fails, naming the right file and line for every break."""

from __future__ import annotations

from pathlib import Path

import pytest

from siteconfig import ConfigError, load_config_dir, load_device, load_site
from tests.config.helpers import RunCli, edit, line_equal, line_of


def _issue_lines(out: str, path: Path) -> dict[int, list[str]]:
    """line -> messages printed for ``path`` (``path:line:col: severity: message``)."""
    found: dict[int, list[str]] = {}
    prefix = f"{path}:"
    for text in out.splitlines():
        if text.startswith(prefix):
            line, _col, rest = text[len(prefix) :].split(":", 2)
            found.setdefault(int(line), []).append(rest.strip())
    return found


def _assert_reported(out: str, path: Path, line: int, *fragments: str) -> None:
    messages = _issue_lines(out, path).get(line, [])
    for fragment in fragments:
        assert any(fragment in m for m in messages), (
            f"expected {fragment!r} at {path.name}:{line}; printed:\n{out}"
        )


def test_every_break_is_reported_with_file_and_line(config_copy: Path, run_cli: RunCli) -> None:
    devices = config_copy / "devices"
    gate = devices / "b1-gate-in.yaml"
    # Several errors in one file: unknown key, wrong type, a pin used twice.
    edit(gate, "heartbeat_s: 30\n", "heartbeat_s: fast\ncolour: red\n")
    gate_text = edit(gate, "  buzzer: 25\n", "  buzzer: 17\n")
    kiosk_text = edit(devices / "b2-kiosk.yaml", "id: b2-kiosk\n", "id: B2_Kiosk\n")
    missing_text = edit(devices / "b1-r201-sensor.yaml", "  smoke: 27\n", "")
    syntax_text = edit(devices / "b2-gate-out.yaml", "kind: gate\n", "kind: gate: exit\n")
    site = config_copy / "site.yaml"
    edit(site, "capacity: 30\n", "capacity: 0\n", first=True)  # b1's activity room
    site_text = edit(site, "    gateway_id: b2-gw\n", "    gateway_id: b2-gw\n    colour: blue\n")

    code, out = run_cli("config", "validate", str(config_copy))

    assert code == 1
    _assert_reported(out, gate, line_of(gate_text, "heartbeat_s: fast"), "valid number", "'fast'")
    _assert_reported(out, gate, line_of(gate_text, "colour: red"), "unknown key 'colour'")
    _assert_reported(
        out, gate, line_of(gate_text, "buzzer: 17"), "pins.buzzer", "already used by 'relay'"
    )
    _assert_reported(
        out, devices / "b2-kiosk.yaml", line_of(kiosk_text, "B2_Kiosk"), "not a valid id"
    )
    # A missing key is reported at the mapping that should hold it.
    _assert_reported(
        out,
        devices / "b1-r201-sensor.yaml",
        line_of(missing_text, "pins:"),
        "missing required key 'smoke'",
    )
    _assert_reported(
        out, devices / "b2-gate-out.yaml", line_of(syntax_text, "kind: gate: exit"), "YAML syntax"
    )
    _assert_reported(
        out, site, line_of(site_text, "capacity: 0"), "capacity", "greater than or equal to 1"
    )
    _assert_reported(out, site, line_of(site_text, "colour: blue"), "unknown key 'colour'")
    assert "invalid (8 errors" in out.splitlines()[-1]
    # Nothing else: a structural break does not cascade into more errors.
    assert sum(": error:" in line for line in out.splitlines()) == 8


def test_column_points_at_the_value(config_copy: Path, run_cli: RunCli) -> None:
    gate = config_copy / "devices" / "b1-gate-in.yaml"
    text = edit(gate, "  relay: 17\n", "  relay: 40\n")
    code, out = run_cli("config", "validate", str(gate))
    assert code == 1
    line = line_of(text, "relay: 40")
    column = text.splitlines()[line - 1].index("40") + 1
    assert f"{gate}:{line}:{column}: error: pins.relay: " in out
    assert "less than or equal to 27 (got 40)" in out


def test_cross_file_rules(config_copy: Path, run_cli: RunCli) -> None:
    devices = config_copy / "devices"
    (devices / "b2-gate-in.yaml").unlink()  # b2 left without an entry gate
    (devices / "b1-gate-out.yaml").unlink()  # b1 left without an exit gate: a warning
    sensor_text = edit(devices / "b1-r101-sensor.yaml", "room: b1-r101\n", "room: b2-r102\n")
    unknown_text = edit(devices / "b2-r101-sensor.yaml", "building: b2\n", "building: b9\n")
    kiosk_text = edit(devices / "b1-kiosk.yaml", "id: b1-kiosk\n", "id: b1-kiosk-2\n")
    kiosk_text = edit(devices / "b1-kiosk.yaml", "  floor: 1\n", "  floor: 9\n")
    site = config_copy / "site.yaml"
    site_text = site.read_text(encoding="utf-8")

    code, out = run_cli("config", "validate", str(config_copy))

    assert code == 1
    _assert_reported(
        out,
        devices / "b1-r101-sensor.yaml",
        line_of(sensor_text, "room: b2-r102"),
        "no room 'b2-r102' in building 'b1'; it is in building 'b2'",
    )
    _assert_reported(
        out,
        devices / "b2-r101-sensor.yaml",
        line_of(unknown_text, "building: b9"),
        "unknown building 'b9' (the site has: b1, b2)",
    )
    _assert_reported(
        out, devices / "b1-kiosk.yaml", line_of(kiosk_text, "id: b1-kiosk-2"), "file name"
    )
    _assert_reported(
        out, devices / "b1-kiosk.yaml", line_of(kiosk_text, "floor: 9"), "has no floor 9"
    )
    _assert_reported(out, site, line_equal(site_text, "- id: b2"), "'b2' has no entry gate")
    _assert_reported(out, site, line_equal(site_text, "- id: b1"), "warning: ", "no exit gate")


def test_missing_exit_gate_is_only_a_warning(config_copy: Path, run_cli: RunCli) -> None:
    (config_copy / "devices" / "b1-gate-out.yaml").unlink()
    code, out = run_cli("config", "validate", str(config_copy))
    assert code == 0, out
    assert "1 warning" in out
    campus = load_config_dir(config_copy)
    assert [w.message for w in campus.warnings] == [
        "buildings[0].id: building 'b1' has no exit gate (only the entry gates' exit buttons "
        "let people out)"
    ]
    code, out = run_cli("config", "validate", "--strict", str(config_copy))
    assert code == 1


def test_site_rules_are_reported_together(config_copy: Path) -> None:
    site = config_copy / "site.yaml"
    edit(site, "{id: b1-r102, number: 102,", "{id: b1-r101, number: 102,")
    edit(site, "{id: b2-r302, number: 302,", "{id: b2-r302, number: 301,")
    text = edit(site, "    gateway_id: b2-gw\n", "    gateway_id: b1-gw\n")
    with pytest.raises(ConfigError) as caught:
        load_site(site)
    found = {(issue.line, issue.message.split(": ", 1)[1]) for issue in caught.value.issues}
    assert found == {
        (
            line_of(text, "{id: b1-r101, number: 102,"),
            "id 'b1-r101' is already used by the room at buildings[0].floors[0].rooms[2]",
        ),
        (
            line_of(text, "{id: b2-r302, number: 301,"),
            "room number 301 is already used in this building at floors[2].rooms[0]",
        ),
        (
            line_of(text, "gateway_id: b1-gw", after="name: Building 2"),
            "id 'b1-gw' is already used by the gateway at buildings[0]",
        ),
    }


def test_duplicate_key_and_empty_file(config_copy: Path) -> None:
    gate = config_copy / "devices" / "b1-gate-in.yaml"
    text = edit(gate, "heartbeat_s: 30\n", "heartbeat_s: 30\nheartbeat_s: 10\n")
    with pytest.raises(ConfigError) as caught:
        load_device(gate)
    (issue,) = caught.value.issues
    assert issue.path == gate
    assert issue.line == line_of(text, "heartbeat_s: 10")
    assert "duplicate key 'heartbeat_s'" in issue.message
    assert f"line {line_of(text, 'heartbeat_s: 30')}" in issue.message

    empty = config_copy / "devices" / "b1-kiosk.yaml"
    empty.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_device(empty)


def test_missing_site_file_and_unknown_path(config_copy: Path, run_cli: RunCli) -> None:
    (config_copy / "site.yaml").unlink()
    code, out = run_cli("config", "validate", str(config_copy))
    assert code == 1
    assert f"{config_copy / 'site.yaml'}: error: missing site file" in out
    code, out = run_cli("config", "validate", str(config_copy / "nope.yaml"))
    assert code == 1
    assert "no such file or directory" in out
