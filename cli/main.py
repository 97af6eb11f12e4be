"""Entry point of the ``dorm`` command.

The command tree is assembled from ``cli.commands``: every module there owns
one subcommand (or a group such as ``token issue`` / ``token verify``) and
registers its parser with ``register(subparsers)``. A handler receives the
parsed arguments and returns the process exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from cli.commands import config, demo, edge, gateway, provision, qr, rules, server, simulate, token

EXIT_OK = 0
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dorm",
        description=(
            "dorm-iot: dormitory gates, kiosks and room sensors over MQTT, "
            "a gateway per building and a central server."
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo.register(subparsers)
    rules.register(subparsers)
    provision.register(subparsers)
    simulate.register(subparsers)
    server.register(subparsers)
    gateway.register(subparsers)
    edge.register(subparsers)
    config.register(subparsers)
    token.register(subparsers)
    qr.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = args.handler
    code: int = handler(args)
    return code


if __name__ == "__main__":  # pragma: no cover - `python -m cli.main`
    sys.exit(main())
