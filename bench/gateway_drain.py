"""Draining a backlog after an outage while live traffic continues.

Each run stores a backlog of N events (five devices) in the gateway's outbox,
as an outage of the central side leaves it, then starts the gateway process
with the central broker up while five other devices publish live traffic at
a fixed rate. The drain rate is the backlog size over the time from its
first to its last event received at the central broker; goal: at least
twice the live rate.

    python -m bench.gateway_drain [--runs 3] [--backlog 100000] [--live-rate 1000] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from bench.common import Figure, Report
from bench.gateway_process import BenchGateway, central_counter, event, publish_events, topic
from devservices import MosquittoBroker
from gateway.store import GatewayOutbox
from protocol.codec import decode
from transport.outbox import Message

BACKLOG_DEVICES = [f"b1-backlog-{n}" for n in range(5)]


def fill_backlog(state_dir: Path, events: int) -> None:
    """What a central outage leaves in the outbox: stamped events marked replayed."""
    now = datetime.now(UTC)
    with GatewayOutbox(state_dir / "b1-gw-outbox.db", max_rows=1_000_000) as outbox:
        for start in range(0, events, 5_000):
            batch: list[Message] = []
            seen: list[tuple[str, int]] = []
            for n in range(start, min(start + 5_000, events)):
                device = BACKLOG_DEVICES[n % len(BACKLOG_DEVICES)]
                seq = n // len(BACKLOG_DEVICES) + 1
                message = decode(topic(device), event(device, seq))
                stamped = msgspec.structs.replace(message, received_at=now, replayed=True)
                batch.append(Message(topic(device), msgspec.json.encode(stamped)))
                seen.append((device, seq))
            outbox.put_batch(batch, seen)


def one_run(
    building: MosquittoBroker, central: MosquittoBroker, backlog: int, live_mps: float, tmp: Path
) -> tuple[float, float]:
    state_dir = tmp / f"state-{time.monotonic_ns()}"
    state_dir.mkdir()
    fill_backlog(state_dir, backlog)
    gateway = BenchGateway(building, central, state_dir)
    with central_counter(central) as counter:
        # The gateway's session on the building broker must exist before live traffic.
        gateway.start()
        gateway.wait_forwarding(counter, timeout_s=120)
        stop_live = threading.Event()
        sent: list[int] = []
        live = threading.Thread(
            target=lambda: sent.append(
                publish_events(building, 10**9, rate_mps=live_mps, stop=stop_live)
            )
        )
        live_started = time.perf_counter()
        live.start()
        try:
            deadline = time.monotonic() + 300
            while sum(counter.by_device.get(d, 0) for d in BACKLOG_DEVICES) < backlog:
                if time.monotonic() > deadline:
                    raise TimeoutError("the backlog did not drain within 300 s")
                time.sleep(0.05)
            drained_at = max(counter.last_by_device[d] for d in BACKLOG_DEVICES)
            drain_s = drained_at - counter.first_s
        finally:
            stop_live.set()
            live.join()
            live_s = time.perf_counter() - live_started
            gateway.stop()
    return backlog / drain_s, sum(sent) / live_s


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--live-rate", type=float, default=1_000.0, help="messages/s")
    parser.add_argument("--quick", action="store_true", help="2 runs, 20,000 backlog")
    args = parser.parse_args(argv)
    runs, backlog = (2, 20_000) if args.quick else (args.runs, args.backlog)
    drains: list[float] = []
    lives: list[float] = []
    with (
        MosquittoBroker() as building,
        MosquittoBroker() as central,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for _ in range(runs):
            drain, live = one_run(building, central, backlog, args.live_rate, Path(tmp))
            drains.append(drain)
            lives.append(live)
    report = Report("gateway_drain")
    report.figures.append(
        Figure(f"drain of a {backlog:,}-message backlog", "messages/s", drains, "≥ 2 × live rate")
    )
    report.figures.append(Figure("live traffic meanwhile (offered)", "messages/s", lives))
    report.figures.append(
        Figure(
            "drain rate / live rate",
            "×",
            [d / v for d, v in zip(drains, lives, strict=True)],
            "≥ 2",
        )
    )
    report.print()
    print(f"saved {report.save()}")
    return report


if __name__ == "__main__":
    main()
