"""``dorm edge``: the handler, called directly."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from cli.commands import edge as edge_cli
from devservices.ports import find_free_ports
from edge.runtime import CARD_KEY_FILE
from tests.edge.helpers import CARD_KEY, REPO, SITE_FILE, write_gate_device


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command", required=True)
    edge_cli.register(subparsers)
    return parser.parse_args(["edge", *argv])


def test_defaults_and_state_dir_from_the_device_id() -> None:
    args = parse(["--device", "firmware-config/devices/b1-gate-in.yaml"])
    options = edge_cli.options_from(args)
    assert options.state_dir == Path("/var/lib/dorm-edge/b1-gate-in")
    assert options.site_path == Path("firmware-config/site.yaml")
    assert options.camera
    assert args.handler is edge_cli.run


def test_invalid_device_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "b1-gate-in.yaml"
    bad.write_text("id: b1-gate-in\nkind: gate\nunlock_sec: 5\n")
    code = edge_cli.run(parse(["--device", str(bad), "--site", str(SITE_FILE)]))
    assert code == edge_cli.EXIT_CONFIG
    assert "invalid configuration" in capsys.readouterr().err


def test_gate_without_its_card_key_does_not_start(
    tmp_path: Path, mock_factory: MockFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    device = write_gate_device(tmp_path / "devices")
    args = parse(
        ["--device", str(device), "--site", str(SITE_FILE), "--state-dir", str(tmp_path / "s")]
    )
    assert edge_cli.run(args) == edge_cli.EXIT_CONFIG
    assert "card-hash key" in capsys.readouterr().err


def test_gate_runs_until_stopped(tmp_path: Path, mock_factory: MockFactory) -> None:
    mock_factory.pin(27).drive_low()
    device = write_gate_device(tmp_path / "devices")
    state = tmp_path / "state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(CARD_KEY)
    (free_port,) = find_free_ports(1)
    args = parse(
        [
            "--device",
            str(device),
            "--site",
            str(SITE_FILE),
            "--state-dir",
            str(state),
            "--broker",
            f"127.0.0.1:{free_port}",  # nobody listens: the agent runs offline
            "--no-camera",
            "--connect-jitter",
            "0",
        ]
    )
    stop = threading.Event()
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(edge_cli.run(args, stop)))
    runner.start()
    try:
        stop.wait(0.5)
    finally:
        stop.set()
        runner.join(15)
    assert result == [edge_cli.EXIT_OK]
    assert (state / "outbox.db").exists()
    assert (state / "seq").read_text().strip() == "1000"


def test_kiosk_builds_without_a_camera(tmp_path: Path, mock_factory: MockFactory) -> None:
    from edge.kiosk import KioskAgent
    from edge.runtime import EdgeOptions, build

    runtime = build(
        EdgeOptions(
            device_path=REPO / "firmware-config" / "devices" / "b1-kiosk.yaml",
            site_path=SITE_FILE,
            state_dir=tmp_path / "kiosk",
            camera=False,
            first_connect_jitter_s=0,
        )
    )
    try:
        assert isinstance(runtime.agent, KioskAgent)
        assert runtime.scanner is None
    finally:
        runtime.stop()


def test_broker_argument_is_checked() -> None:
    with pytest.raises(SystemExit):
        parse(["--device", "x.yaml", "--broker", "no-port"])
