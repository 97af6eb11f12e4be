"""Run a gateway from the command line: arguments, configuration, signals.

Shared by ``dorm gateway`` (:mod:`cli.commands.gateway`) and
``python -m gateway`` (what tests start as a process they can SIGKILL).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType

from gateway.config import DEFAULT_CENTRAL_PORT, BrokerAddress, GatewayConfig, from_campus
from siteconfig import ConfigError, load_config_dir

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CONFIG = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--building", required=True, help="building id from the site file")
    parser.add_argument(
        "--site", default="firmware-config/site.yaml", help="site file (default: %(default)s)"
    )
    parser.add_argument(
        "--config-dir",
        default=None,
        help="configuration directory with devices/ (default: the site file's directory)",
    )
    parser.add_argument("--central-host", default="127.0.0.1", help="central broker host")
    parser.add_argument(
        "--central-port", type=int, default=DEFAULT_CENTRAL_PORT, help="central broker port"
    )
    parser.add_argument("--building-host", help="building broker host (default: the site file's)")
    parser.add_argument("--building-port", type=int, help="building broker port")
    parser.add_argument(
        "--state-dir", default="gateway-state", help="outbox directory (default: %(default)s)"
    )
    parser.add_argument(
        "--outbox-max-rows", type=int, default=1_000_000, help="outbox quota in messages"
    )
    parser.add_argument(
        "--command-ack-timeout-s", type=float, default=10.0, help="command acknowledgement timeout"
    )
    parser.add_argument(
        "--health-interval-s", type=float, default=10.0, help="health report period"
    )
    parser.add_argument("--reconnect-max-s", type=int, default=10, help="longest reconnect delay")
    parser.add_argument(
        "--downlink-key",
        default=os.environ.get("DORM_DOWNLINK_KEY"),
        help=(
            "the gateway's own downlink.key from `dorm provision`: signs the fire_release "
            "commands it sends (default: $DORM_DOWNLINK_KEY)"
        ),
    )
    parser.add_argument(
        "--allow-unknown-devices",
        action="store_true",
        help="accept devices that have no device file (demo and tests)",
    )


def config_from_args(args: argparse.Namespace) -> GatewayConfig:
    """The gateway's configuration; raises ``ConfigError``, ``KeyError`` (no such building)
    or ``OSError`` (the password file named by ``DORM_MQTT_PASSWORD_FILE`` is unreadable)."""
    site = Path(args.site)
    campus = load_config_dir(Path(args.config_dir) if args.config_dir else site.parent)
    site_building = next((b for b in campus.site.buildings if b.id == args.building), None)
    if site_building is None:
        raise KeyError(f"no building {args.building!r} in {site}")
    building_broker = None
    if args.building_host is not None or args.building_port is not None:
        building_broker = BrokerAddress(
            args.building_host or site_building.broker.host,
            args.building_port or site_building.broker.port,
        )
    config = from_campus(
        campus,
        args.building,
        central=BrokerAddress(args.central_host, args.central_port),
        state_dir=Path(args.state_dir),
        building_broker=building_broker,
        outbox_max_rows=args.outbox_max_rows,
        command_ack_timeout_s=args.command_ack_timeout_s,
        health_interval_s=args.health_interval_s,
        reconnect_max_s=args.reconnect_max_s,
        mqtt_username=os.environ.get("DORM_MQTT_USERNAME"),
        mqtt_password=_password_from_env(),
        downlink_key_path=Path(args.downlink_key) if args.downlink_key else None,
    )
    if args.allow_unknown_devices:
        config = replace(config, known_devices=None)
    return config


def _password_from_env() -> str | None:
    """The broker password from the file ``DORM_MQTT_PASSWORD_FILE`` names (None if unset)."""
    path = os.environ.get("DORM_MQTT_PASSWORD_FILE")
    if path is None:
        return None
    return Path(path).read_text(encoding="utf-8").strip()


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT; the exit code."""
    # paho and the pipeline are imported only when a gateway runs, so `dorm`
    # works on a machine without the [gateway] extra.
    from gateway.service import Gateway

    try:
        config = config_from_args(args)
    except (ConfigError, KeyError, OSError) as exc:
        log.error("cannot configure the gateway of %s: %s", args.building, exc)
        return EXIT_CONFIG
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with Gateway(config):
        stop.wait()
    return EXIT_OK
