"""``dorm demo``: the whole system on one machine, on embedded defaults (simulators.demo)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from devservices.errors import DevServiceError
    from simulators.demo import DemoError, DemoOptions, run
    from simulators.session import parse_duration

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        options = DemoOptions(
            speed=args.speed,
            students=args.students,
            seed=args.seed,
            port=args.port,
            workdir=args.workdir,
            duration=parse_duration(args.duration) if args.duration else None,
        )
        return run(options, stop, say=lambda line: print(line, flush=True))
    except (DemoError, DevServiceError, ValueError, OSError) as exc:
        print(f"dorm demo: {exc}", file=sys.stderr, flush=True)
        return 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the whole system on one machine with a simulated campus",
        description=(
            "Start a Mosquitto per building and a central one, the server on SQLite "
            "(seeded with the simulated population and a demo login per role), a gateway "
            "per building and the two-building simulated campus with its incidents; print "
            "the server URL and the logins. Ctrl-C stops everything."
        ),
    )
    demo.add_argument(
        "--speed", type=float, default=60.0, help="event-time speed-up (default: %(default)s)"
    )
    demo.add_argument("--students", type=int, default=80, help="students (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=1, help="random seed")
    demo.add_argument("--port", type=int, help="server port (default: a free one)")
    demo.add_argument(
        "--workdir", type=Path, help="where databases and logs go (default: a temp dir)"
    )
    demo.add_argument("--duration", help="stop after this much simulated time (e.g. 24h)")
    demo.set_defaults(handler=_demo)
