"""``dorm gateway`` arguments → the gateway's configuration, from the example site."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cli.commands import gateway as gateway_command
from devservices import MosquittoBroker
from gateway.config import BrokerAddress
from gateway.runner import EXIT_CONFIG, config_from_args, run
from tests.gateway.process import REPO, GatewayProcess


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dorm")
    gateway_command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["gateway", *argv])


def test_the_site_file_gives_the_building_its_gates_and_devices(tmp_path: Path) -> None:
    args = parse(
        "--building",
        "b1",
        "--site",
        str(REPO / "firmware-config" / "site.yaml"),
        "--central-host",
        "central.local",
        "--central-port",
        "1884",
        "--building-port",
        "11883",
        "--state-dir",
        str(tmp_path),
    )
    config = config_from_args(args)
    assert config.gateway_id == "b1-gw"
    assert set(config.gate_ids) == {"b1-gate-in", "b1-gate-out"}
    assert config.known_devices is not None
    assert "b1-r101-sensor" in config.known_devices
    assert not any(d.startswith("b2-") for d in config.known_devices)
    assert config.central_broker == BrokerAddress("central.local", 1884)
    assert config.building_broker == BrokerAddress("b1-broker.local", 11883)
    assert config.outbox_path.parent == tmp_path
    assert args.handler is run


def test_an_unknown_building_is_a_configuration_error(tmp_path: Path) -> None:
    args = parse(
        "--building",
        "b9",
        "--site",
        str(REPO / "firmware-config" / "site.yaml"),
        "--state-dir",
        str(tmp_path),
    )
    assert run(args) == EXIT_CONFIG


def test_the_process_stops_cleanly_on_sigterm(
    building_broker: MosquittoBroker, central_broker: MosquittoBroker, tmp_path: Path
) -> None:
    process = GatewayProcess(building_broker, central_broker, tmp_path / "state", tmp_path / "log")
    process.start()
    time.sleep(1.0)
    assert process.stop() == 0, (tmp_path / "log").read_text()
    assert (tmp_path / "state" / "b1-gw-outbox.db").exists()
