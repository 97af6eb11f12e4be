"""``dorm gateway --building b1``: run one building's gateway (see docs/gateway.md)."""

from __future__ import annotations

import argparse

from gateway.runner import add_arguments, run


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "gateway",
        help="run one building's store-and-forward gateway",
        description=(
            "Run the gateway of one building beside its Mosquitto: validate and "
            "de-duplicate device messages, forward them upstream through a durable "
            "outbox, fan commands and allowlists out, release the doors on fire."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)
