"""The security options of ``dorm edge`` and ``dorm gateway`` reach their configuration."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli.commands import edge as edge_cli
from cli.commands import gateway as gateway_cli
from edge.errors import StateError
from edge.runtime import EdgeOptions, build
from gateway.runner import EXIT_CONFIG, config_from_args, run

ROOT = Path(__file__).resolve().parents[2]


def _parse(register: object, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dorm")
    register(parser.add_subparsers(dest="command", required=True))  # type: ignore[operator]
    return parser.parse_args(argv)


def test_edge_takes_downlink_keys_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device = str(ROOT / "firmware-config" / "devices" / "b1-gate-in.yaml")
    args = _parse(edge_cli.register, ["edge", "--device", device, "--downlink-keys", "/k.json"])
    assert edge_cli.options_from(args).downlink_keys_path == Path("/k.json")
    monkeypatch.setenv("DORM_DOWNLINK_KEYS", "/etc/dorm/edge/keys.json")
    args = _parse(edge_cli.register, ["edge", "--device", device])
    assert edge_cli.options_from(args).downlink_keys_path == Path("/etc/dorm/edge/keys.json")
    monkeypatch.delenv("DORM_DOWNLINK_KEYS")
    args = _parse(edge_cli.register, ["edge", "--device", device])
    assert edge_cli.options_from(args).downlink_keys_path is None


def test_an_agent_with_an_unreadable_key_file_does_not_start(tmp_path: Path) -> None:
    bad = tmp_path / "downlink-keys.json"
    bad.write_text('{"keys": "not a list"}')
    options = EdgeOptions(
        device_path=ROOT / "firmware-config" / "devices" / "b1-r101-sensor.yaml",
        site_path=ROOT / "firmware-config" / "site.yaml",
        state_dir=tmp_path / "state",
        downlink_keys_path=bad,
    )
    with pytest.raises(StateError, match="downlink keys"):
        build(options)


def test_gateway_takes_its_credential_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = tmp_path / "mqtt-password"
    password.write_text("s3cret-gateway-password\n")
    monkeypatch.setenv("DORM_MQTT_USERNAME", "b1-gw")
    monkeypatch.setenv("DORM_MQTT_PASSWORD_FILE", str(password))
    site = str(ROOT / "firmware-config" / "site.yaml")
    argv = ["gateway", "--building", "b1", "--site", site, "--state-dir", str(tmp_path)]
    args = _parse(gateway_cli.register, [*argv, "--downlink-key", "/gw.key"])
    config = config_from_args(args)
    assert config.mqtt_username == "b1-gw"
    assert config.mqtt_password == "s3cret-gateway-password"
    assert config.downlink_key_path == Path("/gw.key")
    assert "s3cret" not in repr(config)
    monkeypatch.setenv("DORM_MQTT_PASSWORD_FILE", str(tmp_path / "missing"))
    assert run(_parse(gateway_cli.register, argv)) == EXIT_CONFIG
