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
    provision = subparsers.add_parser(
        "provision",
        help="write broker credentials and ACLs for every device and gateway",
        description=(
            "Read firmware-config and write, for every device and gateway, a unique "
            "broker credential, and for each broker a Mosquitto password file and ACL."
        ),
    )
    provision.add_argument("--out", required=True, help="output directory")
    provision.add_argument(
        "--config",
        default="firmware-config",
        help="firmware-config directory (default: %(default)s)",
    )
    provision.set_defaults(handler=_not_built("provision", 9))

    rules = subparsers.add_parser("rules", help="safety-alert rules")
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    backtest = rules_sub.add_parser(
        "backtest",
        help="replay stored events through the rules and print the alerts",
        description=(
            "Replay the stored events between two times through the rules engine and "
            "print the alerts it would raise."
        ),
    )
    backtest.add_argument("--from", dest="start", required=True, help="start time (ISO 8601)")
    backtest.add_argument("--to", dest="end", required=True, help="end time (ISO 8601)")
    backtest.add_argument("--rules", help="rules YAML (default: the live rules)")
    backtest.set_defaults(handler=_not_built("rules backtest", 6))
