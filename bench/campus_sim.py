"""The 50-building / 30,000-student / 15,000-room campus at real speed, from one process.

Builds the generated campus (real gate, kiosk and room-sensor agents on
MockFactory pins, one shared MQTT connection and outbox per building), connects
it to a private Mosquitto, starts it on a Monday at 07:30 local time (the
morning exodus) and runs it at speed 1: a warm-up (``--warmup-s``, every
sensor's first report), then ``--runs`` consecutive windows of ``--window-s``
seconds. Per window:

- events generated per second (what the agents put into their outboxes);
- CPU it costs: the process's CPU time / wall time (100 % = one core);
- the outbox backlog at the end of the window (events not yet acknowledged by
  the broker): a simulator that keeps up leaves it near zero.

The gateways and the server are not part of this process; whether they keep
up with this load is measured by bench.gateway_* and bench.server_ingest.

    python -m bench.campus_sim [--runs 3] [--window-s 60] [--quick]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from bench.common import Figure, Report
from devservices import MosquittoBroker
from edge.mqtt_link import BrokerAddress
from protocol.token_issuer import SigningKey
from simulators import campus as campus_mod
from simulators import population as population_mod
from simulators.runner import SimOptions, Simulation

MONDAY = date(2026, 3, 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buildings", type=int, default=50)
    parser.add_argument("--students", type=int, default=30_000)
    parser.add_argument("--rooms", type=int, default=15_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window-s", type=float, default=60.0)
    parser.add_argument(
        "--warmup-s", type=float, default=30.0, help="run first, not measured (first reports)"
    )
    parser.add_argument("--quick", action="store_true", help="a small campus, short windows")
    args = parser.parse_args(argv)
    if args.quick:
        args.buildings, args.students, args.rooms, args.window_s = 5, 3000, 1500, 10.0
        args.warmup_s = 5.0

    report = Report("campus_sim")
    campus = campus_mod.generate(args.buildings, args.rooms)
    population = population_mod.generate(campus, args.students, seed=1, start=MONDAY)
    start = datetime.combine(MONDAY, dtime(7, 30), tzinfo=campus.tz)
    with MosquittoBroker() as broker, tempfile.TemporaryDirectory() as workdir:
        wall0 = time.monotonic()
        sim = Simulation(
            campus,
            population,
            SimOptions(
                brokers=(BrokerAddress(broker.host, broker.port),),
                state_dir=Path(workdir),
                card_key=b"bench-card-hash-key-0123456789ab",
                signing_key=SigningKey.generate("k1"),
                start=start,
                speed=1.0,
                seed=1,
                # QR scans at a real gate are decoded from the camera; here 20 % of
                # scans are QR and a quarter of those go through a synthesised frame.
                qr_frame_share=0.25,
            ),
        )
        build_s = time.monotonic() - wall0
        agents = sum(len(rig.agents) for rig in sim.rigs.values())
        print(f"built {agents} agents in {build_s:.1f} s")
        sim.start()
        if not sim.wait_connected(30):
            raise SystemExit("not every building connected to the broker")
        # Every sensor's first report and every agent's first heartbeat fall in here.
        sim.run_until(start + timedelta(seconds=args.warmup_s))
        rates: list[float] = []
        cpu: list[float] = []
        backlog: list[float] = []
        stimuli: list[float] = []
        try:
            for run in range(args.runs):
                events0 = sim.counts["events"]
                passes0 = sim.counts["GatePass"] + sim.counts["RoomMove"]
                wall, proc = time.monotonic(), time.process_time()
                sim.run_until(sim.loop.now() + timedelta(seconds=args.window_s))
                wall_s = time.monotonic() - wall
                rates.append((sim.counts["events"] - events0) / wall_s)
                cpu.append(100 * (time.process_time() - proc) / wall_s)
                backlog.append(float(sim.outbox_depth))
                moved = sim.counts["GatePass"] + sim.counts["RoomMove"] - passes0
                stimuli.append(moved / wall_s)
                print(
                    f"run {run + 1}: {rates[-1]:.0f} events/s, CPU {cpu[-1]:.0f} %, "
                    f"backlog {backlog[-1]:.0f}, {stimuli[-1]:.1f} passes+moves/s, "
                    f"loop errors {sim.loop.errors}"
                )
        finally:
            sim.flush(30)
            sim.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = f"{args.buildings} b / {args.students} s / {args.rooms} r"
    report.figures += [
        Figure(f"events generated per second ({size})", "events/s", rates),
        Figure("CPU of the simulator process (1 core = 100)", "%", cpu, "< 100"),
        Figure("outbox backlog at the end of a window", "events", backlog, "near 0"),
        Figure("gate passes and room moves per second", "/s", stimuli),
        Figure("campus build time", "s", [build_s]),
        Figure("peak memory (RSS)", "MB", [rss_mb]),
    ]
    report.print()
    print(f"saved {report.save()}")


if __name__ == "__main__":
    main()
