"""``dorm edge --device FILE``: run one edge agent (gate, kiosk or room sensor).

A Pi runs it under systemd (``deploy/systemd/dorm-edge@.service``). It runs
until SIGTERM or SIGINT, then flushes what it can and publishes its offline
state. ``python -m cli.commands.edge`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.runtime import EdgeOptions

EXIT_OK = 0
EXIT_CONFIG = 2
DEFAULT_SITE = "firmware-config/site.yaml"
DEFAULT_STATE_ROOT = "/var/lib/dorm-edge"

log = logging.getLogger(__name__)


def _broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", required=True, help="device file, e.g. firmware-config/devices/b1-gate-in.yaml"
    )
    parser.add_argument("--site", default=DEFAULT_SITE, help="site file (default: %(default)s)")
    parser.add_argument(
        "--state-dir",
        help=(
            "outbox, allowlist cache, sequence numbers, card-hash key "
            f"(default: {DEFAULT_STATE_ROOT}/<device id>)"
        ),
    )
    parser.add_argument("--card-key", help="card-hash key file (default: STATE_DIR/card-hash.key)")
    parser.add_argument(
        "--broker", type=_broker, help="HOST:PORT instead of the device file's broker"
    )
    parser.add_argument("--no-camera", action="store_true", help="run without the QR camera")
    parser.add_argument(
        "--stdin-cards",
        action="store_true",
        help="read card numbers from standard input instead of the configured reader",
    )
    parser.add_argument(
        "--downlink-keys",
        default=os.environ.get("DORM_DOWNLINK_KEYS"),
        help=(
            "downlink-keys.json from `dorm provision`: refuse unsigned or forged commands "
            "and allowlists (default: $DORM_DOWNLINK_KEYS; unset accepts unsigned ones)"
        ),
    )
    parser.add_argument(
        "--connect-jitter",
        type=float,
        default=2.0,
        help="random delay before the first connect, seconds (default: %(default)s)",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "edge",
        help="run one edge agent (gate, kiosk or room sensor)",
        description="Run the edge agent described by one device file; a Pi runs it under systemd.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)


def options_from(args: argparse.Namespace) -> EdgeOptions:
    # The agent's libraries (paho, gpiozero, OpenCV) are imported only when an
    # agent runs, so `dorm` works on a machine without the [edge] extra.
    from edge.runtime import EdgeOptions, credentials_from_env

    device_path = Path(args.device)
    state_dir = (
        Path(args.state_dir) if args.state_dir else Path(DEFAULT_STATE_ROOT) / device_path.stem
    )
    username, password = credentials_from_env()
    return EdgeOptions(
        device_path=device_path,
        site_path=Path(args.site),
        state_dir=state_dir,
        card_key_path=Path(args.card_key) if args.card_key else None,
        camera=not args.no_camera,
        stdin_cards=args.stdin_cards,
        first_connect_jitter_s=args.connect_jitter,
        mqtt_username=username,
        mqtt_password=password,
        broker_override=args.broker,
        downlink_keys_path=Path(args.downlink_keys) if args.downlink_keys else None,
    )


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Run the agent until SIGTERM/SIGINT (or ``stop`` is set); the exit code."""
    from edge.errors import ConfigurationError, EdgeError
    from edge.runtime import build
    from transport.outbox import OutboxError

    try:
        runtime = build(options_from(args))
    except ConfigurationError as exc:
        print(f"dorm edge: invalid configuration:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (EdgeError, OutboxError, OSError) as exc:
        print(f"dorm edge: cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    runtime.start()
    print(f"dorm edge: {runtime.agent.device} running", file=sys.stderr, flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runtime.stop()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dorm edge", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0)
    add_arguments(parser)
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
