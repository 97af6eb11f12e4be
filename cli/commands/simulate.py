"""``dorm simulate``: drive a simulated campus through real brokers (and check a server)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from datetime import datetime, time
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _start_time(text: str | None, tz: Any) -> datetime:
    if text is None:
        # Today at 06:00 local time: the curfew has just ended.
        return datetime.combine(datetime.now(tz).date(), time(6, 0), tzinfo=tz)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _simulate(args: argparse.Namespace) -> int:
    from edge.mqtt_link import BrokerAddress
    from protocol.keys import load_signing_key
    from protocol.token_issuer import SigningKey
    from simulators import session
    from simulators.checker import AlertsClient, CheckerError, print_table, wait_for
    from simulators.runner import SimOptions, Simulation
    from siteconfig import ConfigError

    try:
        default = (
            f"{os.environ.get('DORM_MQTT_HOST', '127.0.0.1')}:"
            f"{os.environ.get('DORM_MQTT_PORT', '1883')}"
        )
        brokers = tuple(BrokerAddress(*session.parse_broker(b)) for b in args.broker or [default])
        duration = session.parse_duration(args.duration)
        campus = session.build_campus(
            args.config,
            args.buildings,
            args.rooms,
            only=args.building,
            configured_sensors_only=args.configured_sensors_only,
        )
        if len(brokers) not in (1, len(campus.buildings)):
            raise ValueError(
                f"give one --broker, or one per building ({len(campus.buildings)}), "
                f"not {len(brokers)}"
            )
        start = _start_time(args.start, campus.tz)
        population = session.build_population(campus, args.students, args.seed, start)
    except (ValueError, OSError) as exc:
        print(f"dorm simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"dorm simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.export is not None:
        for path in session.export_seed(campus, population, args.export):
            print(f"wrote {path}")
        return EXIT_OK
    if args.token_key_dir is not None:
        signing = load_signing_key(args.token_key_dir)
    else:
        signing = SigningKey.generate("sim")
        if args.server:
            print(
                "warning: without --token-key-dir the QR codes are signed with a key the "
                "server does not know; gates will refuse them",
                file=sys.stderr,
            )
    card_key = (
        args.card_key_file.read_bytes().strip()
        if args.card_key_file
        else b"dev-card-hash-key-0123456789abcdef"
    )
    options = SimOptions(
        brokers=brokers,
        state_dir=args.state_dir,
        card_key=card_key,
        signing_key=signing,
        start=start,
        speed=args.speed,
        seed=args.seed,
        provision_allowlists=args.server is None,
        qr_frame_share=args.qr_frames,
    )
    print(
        f"campus: {len(campus.buildings)} buildings, {sum(len(b.dorms) for b in campus.buildings)} "
        f"dorm rooms, {len(population.students)} students, {len(population.counselors)} "
        f"counselors; from {start:%Y-%m-%d %H:%M %Z} for {duration} at speed {args.speed}"
    )
    sim = Simulation(campus, population, options)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        result = session.run(sim, duration, scenarios=args.scenario, stop=stop)
    except ConfigError as exc:
        print(f"dorm simulate: {exc}", file=sys.stderr)
        sim.stop()
        return EXIT_USAGE
    print(
        f"simulated {result.sim_elapsed_s / 3600:.2f} h in {result.wall_s:.1f} s wall, "
        f"{sim.counts['events']} events ({sim.counts['events'] / max(result.wall_s, 1e-9):.1f}/s), "
        f"CPU {100 * result.cpu_s / max(result.wall_s, 1e-9):.0f} %"
    )
    if args.server is None or not result.expectations:
        return EXIT_OK
    client = AlertsClient(args.server, args.user, args.password)
    try:
        outcomes, unexpected = wait_for(client, result.expectations, args.check_timeout)
    except CheckerError as exc:
        print(f"dorm simulate: cannot check the alerts: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if print_table(outcomes, unexpected, sys.stdout) else EXIT_FAILED


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = subparsers.add_parser(
        "simulate",
        help="drive a simulated campus through real MQTT",
        description=(
            "Run a simulated campus: real edge agents on gpiozero MockFactory pins and "
            "synthesised camera frames, publishing through real brokers."
        ),
    )
    simulate.add_argument("--buildings", type=int, default=2, help="number of buildings")
    simulate.add_argument("--students", type=int, default=400, help="number of students")
    simulate.add_argument("--rooms", type=int, default=200, help="number of rooms")
    simulate.add_argument(
        "--speed", type=float, default=1.0, help="event-time speed-up (60: a day in 24 minutes)"
    )
    simulate.add_argument("--scenario", action="append", default=[], help="scenario YAML file")
    simulate.add_argument("--seed", type=int, default=1, help="random seed")
    simulate.add_argument(
        "--config",
        type=Path,
        help="firmware-config directory to take the campus from (instead of generating one)",
    )
    simulate.add_argument(
        "--building",
        action="append",
        default=[],
        metavar="ID",
        help="simulate only this building of the campus (repeatable)",
    )
    simulate.add_argument(
        "--configured-sensors-only",
        action="store_true",
        help="with --config: room sensors only where a device file describes one",
    )
    simulate.add_argument(
        "--broker",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="building broker: once for all buildings, or once per building in order "
        "(default $DORM_MQTT_HOST:$DORM_MQTT_PORT, else 127.0.0.1:1883)",
    )
    simulate.add_argument("--server", help="server URL; with --scenario the alerts are checked")
    simulate.add_argument("--user", default="admin", help="server login for the alert check")
    simulate.add_argument("--password", default="admin-demo", help="its password")
    simulate.add_argument(
        "--duration", default="24h", help="simulated time to run (90s, 30m, 24h, 7d)"
    )
    simulate.add_argument("--start", help="simulated start, ISO 8601 (default: today 06:00)")
    simulate.add_argument(
        "--state-dir",
        type=Path,
        default=Path("var/sim"),
        help="agents' outboxes, sequence numbers and allowlists (default: %(default)s)",
    )
    simulate.add_argument("--card-key-file", type=Path, help="the site's card-hash key")
    simulate.add_argument(
        "--token-key-dir", type=Path, help="the server's token key directory (signs QR codes)"
    )
    simulate.add_argument(
        "--qr-frames",
        type=float,
        default=1.0,
        help="share of QR scans read from synthesised camera frames (default: all)",
    )
    simulate.add_argument(
        "--check-timeout", type=float, default=120.0, help="seconds to wait for expected alerts"
    )
    simulate.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="write site.yaml, people.csv and roster.csv for the server's seed, and exit",
    )
    simulate.set_defaults(handler=_simulate)
