"""Subcommands whose parts are built by later issues.

Their argument lists and help texts are already the real ones, so scripts,
systemd units and docker-compose can be written against them; running one
says which issue builds it and exits with code 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_NOT_BUILT = 2


def _not_built(what: str, issue: int) -> Any:
    def handler(args: argparse.Namespace) -> int:
        print(
            f"dorm {what}: not built yet (tracked as issue #{issue}); "
            "the command line is fixed, the implementation lands with that issue.",
            file=sys.stderr,
        )
        return EXIT_NOT_BUILT

    return handler


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
    simulate.set_defaults(handler=_not_built("simulate", 7))
