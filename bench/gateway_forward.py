"""Sustained forwarding through the gateway: building broker → gateway → central broker.

QoS 1 on both sides, through the durable outbox. Each run queues N events
from five devices on the building broker for the gateway's (persistent)
session while the gateway is stopped, then starts the gateway process and
measures, at a subscriber on the central broker, the rate from the first to
the last event received. Publishers therefore do not compete with the
gateway for the two cores while it is measured. Goal: ≥ 10,000 messages/s.

    python -m bench.gateway_forward [--runs 5] [--events 50000] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import Figure, Report
from bench.gateway_process import DEVICES, BenchGateway, central_counter, publish_events
from devservices import MosquittoBroker


def one_run(building: MosquittoBroker, central: MosquittoBroker, events: int, tmp: Path) -> float:
    gateway = BenchGateway(building, central, tmp / f"state-{time.monotonic_ns()}")
    with central_counter(central) as counter:
        gateway.start()
        gateway.wait_forwarding(counter)
        gateway.stop()  # its session on the building broker keeps queueing
        counter.reset()
        publish_events(building, events, first_seq=1_000)
        gateway.start()
        try:
            first_s, last_s = counter.wait(events, timeout_s=120)
        finally:
            gateway.stop()
    return (events - 1) / (last_s - first_s)


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="3 runs of 10,000 events")
    args = parser.parse_args(argv)
    runs, events = (3, 10_000) if args.quick else (args.runs, args.events)
    rates: list[float] = []
    with (
        MosquittoBroker() as building,
        MosquittoBroker() as central,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for _ in range(runs):
            rates.append(one_run(building, central, events, Path(tmp)))
    report = Report("gateway_forward")
    report.figures.append(
        Figure(
            f"gateway forwarding, QoS 1 both sides, {len(DEVICES)} devices",
            "messages/s",
            rates,
            "≥ 10,000 messages/s",
        )
    )
    report.print()
    print(f"saved {report.save()}")
    return report


if __name__ == "__main__":
    main()
