"""Do the gateways and the server keep up with a simulated campus at real speed?

The whole chain on this machine: a Mosquitto per building and a central one,
a gateway process per building, the server (SQLite) on the central broker,
and the generated campus at speed 1 from Monday 07:30 (the morning exodus).
After a warm-up, per window of ``--window-s`` seconds:

- events the simulator generated per second;
- events the server received per second (``GET /api/v1/ingest/stats``);
- the server's ingest queue depth and the gateways' outbox depth (summed,
  from their ``gateway/health`` reports) at the end of the window: keeping up
  means these stay small and do not grow from window to window.

Every building needs its own gateway process, so on 2 cores this runs a
fraction of the 50-building campus (default 5 buildings, 3,000 students,
1,500 rooms: a tenth, at the same density).

    python -m bench.campus_system [--buildings 5] [--runs 3] [--window-s 60] [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import Figure, Report
from protocol.codec import decode
from protocol.messages import GatewayHealth
from simulators import campus as campus_mod
from simulators import population as population_mod
from simulators.demo import demo_simulation, start_services
from simulators.session import allowlists_arrived

MONDAY = date(2026, 3, 2)


class HealthWatch:
    """The latest ``gateway/health`` of every building, from the central broker."""

    def __init__(self, host: str, port: int) -> None:
        self.latest: dict[str, GatewayHealth] = {}
        self._lock = threading.Lock()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-health-watch")
        client.on_connect = lambda c, *_: c.subscribe("dorm/v1/+/gateway/health", qos=1)
        client.on_message = self._on_message
        client.connect(host, port)
        client.loop_start()
        self.client = client

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        health = decode(message.topic, bytes(message.payload))
        if isinstance(health, GatewayHealth):
            with self._lock:
                self.latest[message.topic.split("/")[2]] = health

    def outbox_depth(self) -> int:
        with self._lock:
            return sum(h.outbox_depth for h in self.latest.values())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _ingest(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/api/v1/ingest/stats", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        result: dict[str, Any] = json.loads(answer.read())
        return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buildings", type=int, default=5)
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--rooms", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window-s", type=float, default=60.0)
    parser.add_argument("--warmup-s", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.buildings, args.students, args.rooms = 2, 600, 300
        args.window_s, args.warmup_s = 15.0, 10.0

    campus = campus_mod.generate(args.buildings, args.rooms)
    population = population_mod.generate(campus, args.students, seed=1, start=MONDAY)
    start = datetime.combine(MONDAY, dtime(7, 30), tzinfo=campus.tz)
    generated: list[float] = []
    received: list[float] = []
    server_queue: list[float] = []
    gateway_backlog: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        config = campus.write_config_dir(workdir / "config")
        services = start_services(stack, campus, population, workdir, config_dir=config, say=print)
        watch = HealthWatch(services.central.host, services.central.port)
        stack.callback(watch.close)
        sim = demo_simulation(campus, population, services, workdir, start=start, speed=1.0, seed=1)
        stack.callback(sim.stop)
        sim.start()
        if not sim.wait_connected(30) or not allowlists_arrived(sim, 30):
            raise SystemExit("not every building is connected and has its allowlist")
        sim.run_until(start + timedelta(seconds=args.warmup_s))
        url, token = services.server.url, services.token
        for run in range(args.runs):
            events0 = sim.counts["events"]
            received0 = _ingest(url, token)["received"]
            wall = time.monotonic()
            sim.run_until(sim.loop.now() + timedelta(seconds=args.window_s))
            wall_s = time.monotonic() - wall
            stats = _ingest(url, token)
            generated.append((sim.counts["events"] - events0) / wall_s)
            received.append((stats["received"] - received0) / wall_s)
            server_queue.append(float(stats["queue_depth"]))
            gateway_backlog.append(float(watch.outbox_depth()))
            print(
                f"run {run + 1}: generated {generated[-1]:.0f}/s, server received "
                f"{received[-1]:.0f}/s, server queue {stats['queue_depth']}, gateway "
                f"outboxes {gateway_backlog[-1]:.0f}, simulator outboxes {sim.outbox_depth}, "
                f"write errors {stats['write_errors']}, rejected {stats['rejected']}"
            )
    report = Report("campus_system")
    size = f"{args.buildings} b / {args.students} s / {args.rooms} r"
    report.figures += [
        Figure(f"events generated per second ({size})", "events/s", generated),
        Figure("events received by the server per second", "events/s", received),
        Figure("server ingest queue depth at window end", "events", server_queue, "near 0"),
        Figure("gateway outbox depth at window end (sum)", "events", gateway_backlog, "near 0"),
    ]
    report.print()
    print(f"saved {report.save()}")


if __name__ == "__main__":
    main()
