"""``dorm demo``: run the system on embedded defaults."""

from __future__ import annotations

import argparse
import sys


def _demo(args: argparse.Namespace) -> int:
    from devservices.errors import DevServiceError
    from devservices.mosquitto import MosquittoBroker
    from simulators import gate_demo

    try:
        with MosquittoBroker() as broker:
            print(f"started a private Mosquitto on {broker.host}:{broker.port}")
            result = gate_demo.run(broker.host, broker.port, sys.stdout, timeout_s=args.timeout)
    except DevServiceError as exc:
        print(f"dorm demo: {exc}", file=sys.stderr)
        return 1
    received = sum(result.received.values())
    rejected = dict(result.rejected)
    print(f"\n{result.published} published, {received} valid received, rejected: {rejected}")
    return 0 if received + sum(result.rejected.values()) == result.published else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run a small end-to-end demo on embedded defaults",
        description=(
            "Start a private Mosquitto, let a simulated gate decide on QR codes "
            "(synthesised camera frames) and cards, publish its events, and print "
            "what a monitor on the other side decodes with the contract."
        ),
    )
    demo.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for delivery")
    demo.set_defaults(handler=_demo)
