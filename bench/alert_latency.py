"""Event published at the edge → alert on the SSE stream, at light load and under 10,000 events/s.

Real parts: a private Mosquitto (devservices), the server as it is deployed
(``uvicorn server.app:create_app`` in its own process, SQLite, the live rules
engine inside ingest — rules.live, shipped default rules), seeded with the
example site from ``firmware-config`` plus people and logins
(tests/dashboard/harness.py, the same seed as the dashboard benchmark).

The bench process holds one MQTT connection that plays the gate and one SSE
reader (httpx streaming with the bearer token of the ``security`` login, as
the dashboard reads it). Each sample publishes a ``DoorEvent(kind=forced)``
QoS 1 on ``b1-gate-in``'s device topic, with a door never used before (so it
opens a NEW alert: ``door_forced`` is judged on arrival, rules/door_rules.py),
timestamped at send; the sample ends when its ``opened`` alert arrives on the
SSE stream. Both ends are in this process: one clock. The alert's
``opened_at`` (server clock, same machine) splits the time into
*publish → alert opened* (broker, ingest batching, the batch transaction, the
engine, the alert transaction) and *opened → SSE* (broadcast, uvicorn, httpx).

Loads:

- **light**: nothing else, one sample every 0.2-0.3 s;
- **10,000 events/s**: background publishers in their own processes (one per
  building, so device sequence numbers stay monotonic) send a valid mix for
  the seeded devices, QoS 1 with event time = now: access decisions at the
  gates (granted, pseudonymous persons not in the roster, entry and exit in
  turn), passage counts, room telemetry within the rooms' limits, and
  heartbeats. While it runs, ``GET /api/v1/ingest/stats`` is polled: the
  ingest queue depth and the stored rate tell whether the server keeps up;
  the server process's CPU time (/proc) says what each message costs it.

Each run uses a fresh broker and server: light load, then each ``--rate`` in
ascending order. A sample not on the stream within ``--timeout`` ends that
load's samples (ingest is behind and only falls further behind) and counts
as the timeout, a lower bound. ``--batch-interval`` sets the server's
``DORM_INGEST_BATCH_INTERVAL_S``. Last, :func:`breakdown` times the ingest
writer thread's own work on the same mix in this process: decode + SQL
transaction, and the engine + alert service, separately.

This measures broker → server → SSE. On a campus the gate publishes to its
building's gateway, which forwards to the central broker: add the gateway's
forward latency (docs/gateway.md, ``bench/gateway_forward.py``).

    python -m bench.alert_latency [--runs 3] [--samples 25] [--rate 10000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any, Final

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import Figure, Report
from devservices import MosquittoBroker
from protocol.codec import family_of
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    DeviceEvent,
    Direction,
    DoorEvent,
    DoorEventKind,
    Heartbeat,
    PassageCount,
    RoomTelemetry,
    encode,
)
from protocol.topics import device_topic
from rules.live import LiveRules
from server.alerts import AlertService
from server.alerts.hook import EngineHook
from server.alerts.stats import AlertStats
from server.db.engine import make_engine, make_sessionmaker
from server.ingest.stats import IngestStats
from server.ingest.writer import BatchWriter
from tests.dashboard.harness import PASSWORD, DashboardServer, seed_database

PROBE_DEVICE: Final = "b1-gate-in"
#: Seeded devices (firmware-config) the background traffic speaks for.
GATES: Final = {b: (f"{b}-gate-in", f"{b}-gate-out") for b in ("b1", "b2")}
SENSORS: Final = {b: {f"{b}-r{n}01-sensor": f"{b}-r{n}01" for n in (1, 2, 3)} for b in GATES}
KIOSKS: Final = {b: f"{b}-kiosk" for b in GATES}
#: Publishing slot of the background publishers: rate / 100 messages every 10 ms.
SLOT_S: Final = 0.01
WARM_UP_S: Final = 3.0


# -- the background publishers (own processes) ----------------------------------------------


class _Mix:
    """A valid, realistic message mix for one building's seeded devices."""

    def __init__(self, building: str, seed: int) -> None:
        self.building = building
        self.rng = random.Random(seed)
        self.seq = int(time.time() * 1000)
        #: pseudonymous persons (not in the roster) and the way each passed last
        self.inside: dict[str, bool] = {}
        self.power = dict.fromkeys(SENSORS[building].values(), 300.0)
        self.n = 0

    def next(self) -> DeviceEvent:
        self.n += 1
        self.seq += 1
        now = datetime.now(UTC)
        slot = self.n % 100
        if slot < 60:
            return self._access(now)
        if slot < 65:
            return PassageCount(
                id=new_event_id(),
                device=GATES[self.building][slot % 2],
                seq=self.seq,
                ts=now,
                direction=Direction.ENTRY if slot % 2 == 0 else Direction.EXIT,
                count=1,
            )
        if slot < 98:
            return self._telemetry(now)
        devices = [*GATES[self.building], KIOSKS[self.building], *SENSORS[self.building]]
        return Heartbeat(
            id=new_event_id(),
            device=devices[self.n % len(devices)],
            seq=self.seq,
            ts=now,
            software_version="1.0.0",
            config_version="1",
            allowlist_version=1,
            outbox_depth=0,
            clock_offset_ms=0,
            uptime_s=3600.0,
        )

    def _access(self, now: datetime) -> AccessDecision:
        person = f"p-bg{self.building}{self.rng.randrange(2000):04d}"
        entering = not self.inside.get(person, False)
        self.inside[person] = entering
        gate_in, gate_out = GATES[self.building]
        return AccessDecision(
            id=new_event_id(),
            device=gate_in if entering else gate_out,
            seq=self.seq,
            ts=now,
            direction=Direction.ENTRY if entering else Direction.EXIT,
            credential=CredentialKind.CARD,
            decision=Decision.GRANTED,
            reason=AccessReason.OK,
            person=person,
        )

    def _telemetry(self, now: datetime) -> RoomTelemetry:
        device, room = self.rng.choice(list(SENSORS[self.building].items()))
        # A slow random walk well under the rooms' 1,500 W: no power or appliance alert.
        power = min(900.0, max(50.0, self.power[room] + self.rng.uniform(-40, 40)))
        self.power[room] = power
        return RoomTelemetry(
            id=new_event_id(),
            device=device,
            seq=self.seq,
            ts=now,
            room=room,
            occupancy=self.rng.randrange(4),
            power_w=round(power, 1),
            temperature_c=round(self.rng.uniform(20, 25), 2),
            smoke=False,
        )


def _background(
    host: str,
    port: int,
    building: str,
    rate: float,
    stop: MpEvent,
    results: Any,
) -> None:
    """Publish the mix at ``rate`` messages/s QoS 1 until ``stop``; report counts to ``results``."""
    mix = _Mix(building, seed=int(building[1:]))
    acked = 0
    lock = threading.Lock()

    def on_publish(*_: object) -> None:
        nonlocal acked
        with lock:
            acked += 1

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-bg-{building}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(1000)
    client.on_publish = on_publish
    client.connect(host, port)
    client.loop_start()
    per_slot = rate * SLOT_S
    sent = 0
    started = time.perf_counter()
    try:
        while not stop.is_set():
            due = int((time.perf_counter() - started) / SLOT_S * per_slot) + int(per_slot)
            # Never more than one second behind: a slow machine sends less, and says so.
            sent = max(sent, due - int(rate))
            while sent < due:
                event = mix.next()
                client.publish(
                    device_topic(building, event.device, family_of(event)), encode(event), qos=1
                )
                sent += 1
            time.sleep(SLOT_S)
        elapsed = time.perf_counter() - started
        deadline = time.monotonic() + 30
        while acked < mix.n and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    results.put((building, mix.n, acked, elapsed))


# -- the server and its SSE stream ----------------------------------------------------------


@dataclass
class Arrival:
    at: float  # time.time() when the event was read from the stream
    opened_at: float  # the alert's opened_at (server clock)


@dataclass
class StreamReader:
    """Reads ``/api/v1/alerts/stream`` in a thread; remembers each new alert's arrival."""

    url: str
    token: str
    arrivals: dict[str, Arrival] = field(default_factory=dict)
    other_alerts: Counter[str] = field(default_factory=Counter)
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> None:
        threading.Thread(target=self._read, name="sse-reader", daemon=True).start()
        if not self.ready.wait(10):
            raise RuntimeError(f"the SSE stream did not open: {self.error}")

    def _read(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=60)) as http,
                http.stream(
                    "GET",
                    f"{self.url}/api/v1/alerts/stream",
                    headers={"Authorization": f"Bearer {self.token}"},
                ) as response,
            ):
                response.raise_for_status()
                self.ready.set()
                for line in response.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith("data: "):
                        self._on_alert(json.loads(line[6:]), time.time())
        except httpx.HTTPError as exc:
            self.error = exc
            self.ready.set()

    def _on_alert(self, alert: dict[str, Any], at: float) -> None:
        subject: str = alert["subject"]
        if alert["rule"] != "door_forced" or not subject.startswith(f"door:{PROBE_DEVICE}/lat"):
            if alert["count"] == 1 and alert["status"] == "open":
                self.other_alerts[alert["rule"]] += 1
            return
        with self.changed:
            if subject not in self.arrivals:
                opened = datetime.fromisoformat(alert["opened_at"]).timestamp()
                self.arrivals[subject] = Arrival(at, opened)
                self.changed.notify_all()

    def wait_for(self, subject: str, timeout_s: float) -> Arrival:
        with self.changed:
            if not self.changed.wait_for(lambda: subject in self.arrivals, timeout_s):
                if self.error is not None:
                    raise RuntimeError(f"the SSE stream failed: {self.error}")
                raise TimeoutError(f"{subject} not on the stream within {timeout_s} s")
            return self.arrivals[subject]


def _token(url: str, user: str) -> str:
    response = httpx.post(
        f"{url}/api/v1/login/access-token",
        data={"username": user, "password": PASSWORD},
        timeout=10,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


class Gate:
    """The probe: one QoS 1 connection publishing forced-door events as ``b1-gate-in``."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-probe-gate", protocol=mqtt.MQTTv5
        )
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.seq = int(time.time() * 1000)

    def forced(self, door: str) -> float:
        """Publish a forced door; the send time (``time.time()``)."""
        self.seq += 1
        at = time.time()
        event = DoorEvent(
            id=new_event_id(),
            device=PROBE_DEVICE,
            seq=self.seq,
            ts=datetime.fromtimestamp(at, UTC),
            kind=DoorEventKind.FORCED,
            door=door,
        )
        self.client.publish(
            device_topic("b1", PROBE_DEVICE, family_of(event)), encode(event), qos=1
        )
        return at

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# -- one run ---------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """One load of one run: the samples' latencies and how ingest fared."""

    total_ms: list[float] = field(default_factory=list)  # publish → SSE
    to_open_ms: list[float] = field(default_factory=list)  # publish → opened_at
    to_sse_ms: list[float] = field(default_factory=list)  # opened_at → SSE
    timed_out: int = 0  # samples not on the stream within the timeout (and those not sent)
    offered: float = 0.0  # background messages/s acknowledged by the broker
    received_rate: float = 0.0  # messages/s the server took from the broker
    stored_rate: float = 0.0  # messages/s the server stored
    batch_size: float = 0.0  # mean messages per ingest batch
    max_queue: int = 0  # deepest ingest queue seen
    end_queue: int = 0  # ingest queue when the samples ended
    dropped: int = 0  # ingest queue drops
    server_cores: float = 0.0  # CPU the server process used (1.0 = one core)
    server_us: float = 0.0  # server CPU per message received

    def latencies(self, timeout_s: float) -> list[float]:
        """The samples; one that timed out counts as the timeout (a lower bound)."""
        return self.total_ms + [timeout_s * 1000] * self.timed_out


class StatsPoller:
    """Polls ``/api/v1/ingest/stats`` every 0.25 s for the deepest queue."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        self.max_queue = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="stats", daemon=True)

    def read(self) -> dict[str, Any]:
        response = self.http.get("/api/v1/ingest/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        self.max_queue = max(self.max_queue, stats["queue_depth"])
        return stats

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.http.close()

    def _poll(self) -> None:
        while not self._stop.wait(0.25):
            self.read()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample(gate: Gate, reader: StreamReader, door: str, timeout_s: float) -> tuple[float, ...]:
    """(publish → SSE, publish → opened_at, opened_at → SSE) in ms for one forced door."""
    sent = gate.forced(door)
    arrival = reader.wait_for(f"door:{PROBE_DEVICE}/{door}", timeout_s)
    return (
        (arrival.at - sent) * 1000,
        (arrival.opened_at - sent) * 1000,
        (arrival.at - arrival.opened_at) * 1000,
    )


def _samples(
    gate: Gate, reader: StreamReader, label: str, count: int, rng: random.Random, timeout_s: float
) -> LoadResult:
    result = LoadResult()
    for n in range(count):
        try:
            total, to_open, to_sse = sample(gate, reader, f"{label}{n:03d}", timeout_s)
        except TimeoutError:
            # Ingest is behind by more than the timeout: later samples would only wait longer.
            result.timed_out = count - n
            break
        result.total_ms.append(total)
        result.to_open_ms.append(to_open)
        result.to_sse_ms.append(to_sse)
        time.sleep(rng.uniform(0.2, 0.3))
    return result


def loaded(
    gate: Gate,
    reader: StreamReader,
    poller: StatsPoller,
    broker: MosquittoBroker,
    rate: float,
    label: str,
    count: int,
    rng: random.Random,
    timeout_s: float,
    server_pid: int,
) -> LoadResult:
    """The samples while background publishers send ``rate`` events/s."""
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    counts = spawn.Queue()
    publishers = [
        spawn.Process(
            target=_background,
            args=(broker.host, broker.port, building, rate / len(GATES), stop, counts),
        )
        for building in GATES
    ]
    for process in publishers:
        process.start()
    try:
        time.sleep(WARM_UP_S)  # the load reaches its rate before the first sample
        poller.max_queue = 0
        before = poller.read()
        cpu_before = cpu_seconds(server_pid)
        started = time.perf_counter()
        result = _samples(gate, reader, label, count, rng, timeout_s)
        during = poller.read()
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(server_pid) - cpu_before
    finally:
        stop.set()
        sent = [counts.get(timeout=60) for _ in publishers]
        for process in publishers:
            process.join(30)
    acked = sum(s[2] for s in sent)
    if acked != sum(s[1] for s in sent):
        print(f"  {sum(s[1] for s in sent) - acked} background messages not acknowledged")
    result.offered = acked / max(s[3] for s in sent)
    result.received_rate = (during["received"] - before["received"]) / elapsed
    result.stored_rate = (during["stored"] - before["stored"]) / elapsed
    batches = during["batches"] - before["batches"]
    result.batch_size = (during["stored"] - before["stored"]) / max(1, batches)
    result.max_queue = poller.max_queue
    result.end_queue = during["queue_depth"]
    result.dropped = during["queue_dropped"] - before["queue_dropped"]
    result.server_cores = cpu / elapsed
    result.server_us = cpu / max(1, during["received"] - before["received"]) * 1e6
    return result


def one_run(run: int, count: int, rates: list[float], timeout_s: float) -> list[LoadResult]:
    """A fresh broker and server: light load, then each background rate (ascending)."""
    rng = random.Random(run)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-alert-latency-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite+pysqlite:///{workdir / 'dorm.db'}"
        seed_database(database_url, now=datetime.now(UTC))
        broker = MosquittoBroker(base_dir=workdir).start()
        try:
            with DashboardServer(workdir, database_url, broker=broker).start() as server:
                token = _token(server.url, "security")
                reader = StreamReader(server.url, token)
                reader.start()
                gate = Gate(broker)
                poller = StatsPoller(server.url, token)
                poller.start()
                try:
                    sample(gate, reader, "latwarm", timeout_s)  # the first alert warms up
                    results.append(_samples(gate, reader, "latl", count, rng, timeout_s))
                    for rate in rates:
                        label = f"lat{int(rate)}x"
                        results.append(
                            loaded(
                                gate,
                                reader,
                                poller,
                                broker,
                                rate,
                                label,
                                count,
                                rng,
                                timeout_s,
                                server.pid,
                            )
                        )
                        _drain(poller)
                finally:
                    poller.stop()
                    reader.stop.set()
                    gate.close()
                    if reader.other_alerts:
                        print(f"  other alerts opened: {dict(reader.other_alerts)}")
        finally:
            broker.close()
    return results


def _drain(poller: StatsPoller, limit_s: float = 10.0) -> None:
    """Give ingest up to ``limit_s`` to empty its queue before the next load."""
    deadline = time.monotonic() + limit_s
    while poller.read()["queue_depth"] > 0 and time.monotonic() < deadline:
        time.sleep(0.1)


@dataclass
class Breakdown:
    """Where the ingest writer thread's time goes, per message, in one process."""

    write_us: float  # decode + one SQL transaction per batch (the rows, presence, devices)
    engine_us: float  # the ingest observer: engine.observe + the alert service's emits
    signals: int


def breakdown(messages: int, batch: int = 500) -> Breakdown:
    """The writer thread's work on the background mix, without MQTT, HTTP or other processes.

    The real ``BatchWriter`` (SQLite, seeded like the server) with the real
    observer the server installs (``EngineHook`` over ``LiveRules``, shipped
    default rules, ``AlertService``), timed separately: what one ingest writer
    can sustain when it has a core to itself.
    """
    with tempfile.TemporaryDirectory(prefix="bench-alert-breakdown-") as tmp:
        url = f"sqlite+pysqlite:///{Path(tmp) / 'dorm.db'}"
        seed_database(url, now=datetime.now(UTC))
        engine = make_engine(url)
        try:
            sessions = make_sessionmaker(engine)
            stats = AlertStats()
            hook = EngineHook(LiveRules(sessions), AlertService(sessions, stats=stats), stats)
            spent = [0.0]

            def timed(decoded: Sequence[tuple[str, Any]]) -> None:
                started = time.perf_counter()
                hook.observe(decoded)
                spent[0] += time.perf_counter() - started

            writer = BatchWriter(engine, IngestStats(), observer=timed)
            mixes = [_Mix(building, seed=int(building[1:])) for building in GATES]
            traffic = []
            for n in range(messages):
                mix = mixes[n % len(mixes)]
                event = mix.next()
                topic = device_topic(mix.building, event.device, family_of(event))
                traffic.append((topic, encode(event)))
            started = time.perf_counter()
            for first in range(0, messages, batch):
                writer.write(traffic[first : first + batch])
            total = time.perf_counter() - started
            return Breakdown(
                write_us=(total - spent[0]) / messages * 1e6,
                engine_us=spent[0] / messages * 1e6,
                signals=stats.snapshot().get("engine_signals", 0),
            )
        finally:
            engine.dispose()


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def _describe(name: str, result: LoadResult, timeout_s: float) -> str:
    values = result.latencies(timeout_s)
    text = (
        f"  {name}: p50 {statistics.median(values):,.1f} ms, p99 {_p99(values):,.1f} ms"
        f" (to opened_at p50 {statistics.median(result.to_open_ms or [0]):,.1f},"
        f" opened_at to SSE p50 {statistics.median(result.to_sse_ms or [0]):,.1f})"
    )
    if result.timed_out:
        text += f", {result.timed_out} samples not within {timeout_s:.0f} s"
    if result.offered:
        text += (
            f"\n    offered {result.offered:,.0f}/s, received {result.received_rate:,.0f}/s,"
            f" stored {result.stored_rate:,.0f}/s, batch {result.batch_size:,.0f},"
            f" queue max {result.max_queue:,} end {result.end_queue:,}, drops {result.dropped},"
            f" server CPU {result.server_cores:.2f} cores = {result.server_us:.0f} us/message"
        )
    return text


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=25, help="forced doors per run and load")
    parser.add_argument(
        "--rate",
        type=float,
        action="append",
        help="background events/s (repeatable, run in ascending order; default 10,000)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="s to wait for one alert")
    parser.add_argument(
        "--batch-interval",
        type=float,
        default=None,
        help="the server's DORM_INGEST_BATCH_INTERVAL_S (default: the server's own default)",
    )
    parser.add_argument("--quick", action="store_true", help="1 run of 20 samples per load")
    args = parser.parse_args(argv)
    if args.batch_interval is not None:
        # The server process inherits the environment (tests/dashboard/harness.py).
        os.environ["DORM_INGEST_BATCH_INTERVAL_S"] = str(args.batch_interval)
    runs, count = (1, 20) if args.quick else (args.runs, args.samples)
    rates = sorted(args.rate or [10_000.0])
    load_before = os.getloadavg()
    names = ["light load", *(f"{rate:,.0f} events/s" for rate in rates)]
    by_load: list[list[LoadResult]] = [[] for _ in names]
    for run in range(runs):
        results = one_run(run, count, rates, args.timeout)
        print(f"run {run + 1}:")
        for name, result, collected in zip(names, results, by_load, strict=True):
            print(_describe(name, result, args.timeout))
            collected.append(result)
    parts = [breakdown(5_000 if args.quick else 20_000) for _ in range(runs)]
    report = Report("alert_latency" if args.batch_interval is None else "alert_latency_interval")
    for index, (name, results) in enumerate(zip(names, by_load, strict=True)):
        values = [r.latencies(args.timeout) for r in results]
        goal = "<= 100 ms" if index == 0 else "<= 500 ms" if rates[index - 1] >= 10_000 else ""
        report.figures += [
            Figure(f"{name}: publish -> SSE, p50", "ms", [statistics.median(v) for v in values]),
            Figure(f"{name}: publish -> SSE, p99", "ms", [_p99(v) for v in values], goal),
            Figure(
                f"{name}: publish -> opened_at, p50",
                "ms",
                [statistics.median(r.to_open_ms or [math.nan]) for r in results],
            ),
            Figure(
                f"{name}: opened_at -> SSE, p50",
                "ms",
                [statistics.median(r.to_sse_ms or [math.nan]) for r in results],
            ),
            Figure(
                f"{name}: samples not within the timeout",
                "samples",
                [r.timed_out for r in results],
                "0",
            ),
        ]
        if index:
            report.figures += [
                Figure(
                    f"{name}: offered (broker-acknowledged)",
                    "events/s",
                    [r.offered for r in results],
                ),
                Figure(
                    f"{name}: stored by the server", "events/s", [r.stored_rate for r in results]
                ),
                Figure(f"{name}: deepest ingest queue", "messages", [r.max_queue for r in results]),
                Figure(
                    f"{name}: ingest queue drops", "messages", [r.dropped for r in results], "0"
                ),
            ]
    report.figures += [
        Figure("writer thread: decode + SQL transaction", "us/event", [p.write_us for p in parts]),
        Figure("writer thread: engine + alert service", "us/event", [p.engine_us for p in parts]),
        Figure(
            "writer thread alone, background mix",
            "events/s",
            [1e6 / (p.write_us + p.engine_us) for p in parts],
        ),
    ]
    report.print()
    print(f"engine signals on the background mix (breakdown): {[p.signals for p in parts]}")
    if args.batch_interval is not None:
        print(f"server run with DORM_INGEST_BATCH_INTERVAL_S={args.batch_interval}")
    print(f"{count} samples per run and load, timeout {args.timeout:.0f} s")
    print(f"load average before: {load_before}, after: {os.getloadavg()}")
    print(f"saved {report.save()}")
    return report


if __name__ == "__main__":
    main()
