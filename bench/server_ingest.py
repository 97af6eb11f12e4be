"""End-to-end ingest throughput of one server worker through a real Mosquitto.

A publisher process sends N events (access decisions, passage counts and
room telemetry) plus 10 % duplicates, QoS 1, at most 100 in flight, to a
private Mosquitto; the server (the real runtime: paho → bounded queue →
validated batches → SQLite or PostgreSQL, and with ``--tsdb`` VictoriaMetrics
through influxdb-client) stores them. The figure is distinct events stored per
second, from the first message received to the last one written; every run
also checks that exactly the distinct events were stored (no loss, none twice)
and that no time-series line was lost. Goal: >= 15,000 events/s for one worker
(backlog, with the time series).

    python -m bench.server_ingest [--runs 5] [--events 100000] [--tsdb | --tsdb-only]
                                  [--postgres] [--scenario backlog|live|both]
                                  [--mqtt 5|3.1.1] [--quick]

``--tsdb`` measures without the time series and then with VictoriaMetrics;
``--tsdb-only`` only with it. ``--postgres`` uses a throwaway PostgreSQL cluster
(initdb) instead of SQLite, a fresh database per run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.common import Figure, Report
from devservices import MosquittoBroker, PostgresCluster, VictoriaMetrics
from protocol.codec import family_of
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    DeviceEvent,
    Direction,
    PassageCount,
    RoomTelemetry,
    encode,
)
from protocol.topics import device_topic
from server.db import AccessEvent, PassageCountRow, TelemetrySample
from server.runtime import Runtime, start_runtime
from server.settings import Settings

BASE_TS = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
IN_FLIGHT = 100
QUEUED = 20_000
TIMEOUT_S = 300
DUPLICATE_SHARE = 0.10


def _event(building: str, seq: int, rng: random.Random) -> DeviceEvent:
    ts = BASE_TS + timedelta(milliseconds=seq * 7)
    event_id = new_event_id(now_ms=int(ts.timestamp() * 1000), entropy=rng.randbytes(10))
    if seq % 10 == 0:
        return RoomTelemetry(
            id=event_id,
            device=f"{building}-r{seq % 50}-sensor",
            seq=seq,
            ts=ts,
            room=f"{building}-r{seq % 50}",
            occupancy=rng.randrange(5),
            power_w=round(rng.uniform(0, 1500), 1),
            temperature_c=round(rng.uniform(18, 28), 2),
            smoke=False,
        )
    if seq % 10 == 1:
        return PassageCount(
            id=event_id,
            device=f"{building}-gate-in",
            seq=seq,
            ts=ts,
            direction=Direction.ENTRY,
            count=1,
        )
    granted = rng.random() < 0.9
    return AccessDecision(
        id=event_id,
        device=f"{building}-gate-in",
        seq=seq,
        ts=ts,
        direction=Direction.ENTRY if seq % 2 else Direction.EXIT,
        credential=CredentialKind.CARD,
        decision=Decision.GRANTED if granted else Decision.DENIED,
        reason=AccessReason.OK if granted else AccessReason.UNKNOWN_CARD,
        person=f"p-{rng.randrange(30_000):05d}",
    )


def workload(building: str, events: int, seed: int) -> list[tuple[str, bytes]]:
    """Encoded ``(topic, payload)``: ``events`` distinct plus 10 % duplicates, shuffled."""
    rng = random.Random(seed)
    messages = []
    for seq in range(events):
        event = _event(building, seq, rng)
        messages.append((device_topic(building, event.device, family_of(event)), encode(event)))
    everything = messages + rng.sample(messages, int(events * DUPLICATE_SHARE))
    rng.shuffle(everything)
    return everything


def _publish(host: str, port: int, building: str, events: int, seed: int) -> None:
    """The publisher process: QoS 1, at most IN_FLIGHT unacknowledged, then wait for all."""
    messages = workload(building, events, seed)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{building}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(IN_FLIGHT)
    client.connect(host, port)
    client.loop_start()
    try:
        infos: list[mqtt.MQTTMessageInfo] = []
        for topic, payload in messages:
            # paho's message ids are 16 bits: never have more than QUEUED outstanding.
            if len(infos) >= QUEUED:
                infos[len(infos) - QUEUED].wait_for_publish(120)
            infos.append(client.publish(topic, payload, qos=1))
        for info in infos:
            info.wait_for_publish(120)
    finally:
        client.disconnect()
        client.loop_stop()


def _stored(runtime: Runtime) -> int:
    with Session(runtime.engine) as session:
        return sum(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (AccessEvent, TelemetrySample, PassageCountRow)
        )


def _settings(
    broker: MosquittoBroker,
    victoria: VictoriaMetrics | None,
    run: int,
    workdir: Path,
    postgres: PostgresCluster | None = None,
    protocol: str = "5",
) -> Settings:
    influx = (
        {}
        if victoria is None
        else {
            "influx_url": victoria.url,
            "influx_org": "o",
            "influx_bucket": "b",
            "influx_token": "t",
        }
    )
    return Settings.model_validate(
        {
            "environment": "development",
            "database_url": (
                f"sqlite:///{workdir / f'run{run}.db'}"
                if postgres is None
                else postgres.create_database(f"bench{run}")
            ),
            "token_key_dir": workdir / "keys",
            "mqtt_host": broker.host,
            "mqtt_port": broker.port,
            "mqtt_topic_filter": f"dorm/v1/bench{run}/#",
            "mqtt_client_id": f"bench-worker-{run}",
            "mqtt_persistent_session": True,
            "mqtt_protocol": protocol,
            **influx,
        }
    )


def _start(settings: Settings) -> Runtime:
    runtime = start_runtime(settings)
    assert runtime.link is not None
    if not runtime.link.subscribed.wait(10):
        runtime.close()
        raise RuntimeError("the server did not subscribe")
    return runtime


def _publisher(broker: MosquittoBroker, run: int, events: int) -> BaseProcess:
    process = multiprocessing.get_context("spawn").Process(
        target=_publish, args=(broker.host, broker.port, f"bench{run}", events, run)
    )
    process.start()
    return process


def _measure(runtime: Runtime, events: int) -> float:
    """Distinct events stored per second, from the first message received to the last."""
    total = events + int(events * DUPLICATE_SHARE)
    while runtime.stats.received == 0:
        time.sleep(0.001)
    started = time.perf_counter()
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        view = runtime.ingest_view()
        if view.stored + view.duplicates + sum(view.rejected.values()) >= total:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {view.stored} of {events} stored after {TIMEOUT_S} s: {view}")
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    view = runtime.ingest_view()
    stored = _stored(runtime)
    duplicates = total - events
    if (
        stored != events
        or view.stored != events
        or view.duplicates != duplicates
        or view.queue_dropped
        or view.rejected
    ):
        raise RuntimeError(f"wrong result: {stored} rows, counters {view}")
    return events / elapsed


def live_run(
    broker: MosquittoBroker,
    victoria: VictoriaMetrics | None,
    events: int,
    run: int,
    workdir: Path,
    postgres: PostgresCluster | None = None,
    protocol: str = "5",
) -> float:
    """Server running while the publisher sends: bounded by the publisher's rate too."""
    runtime = _start(_settings(broker, victoria, run, workdir, postgres, protocol))
    try:
        publisher = _publisher(broker, run, events)
        rate = _measure(runtime, events)
        publisher.join(60)
    finally:
        runtime.close()
    _check_timeseries(runtime, events)
    return rate


def backlog_run(
    broker: MosquittoBroker,
    victoria: VictoriaMetrics | None,
    events: int,
    run: int,
    workdir: Path,
    postgres: PostgresCluster | None = None,
    protocol: str = "5",
) -> float:
    """The publisher fills the server's persistent session while it is down; the server
    then starts and takes the backlog as fast as it can: its own sustained rate."""
    settings = _settings(broker, victoria, run, workdir, postgres, protocol)
    _start(settings).close()  # creates the broker session and its subscription
    publisher = _publisher(broker, run, events)
    publisher.join(300)
    if publisher.exitcode != 0:
        raise RuntimeError("the publisher failed")
    runtime = _start(settings)
    try:
        rate = _measure(runtime, events)
    finally:
        runtime.close()
    _check_timeseries(runtime, events)
    return rate


def _check_timeseries(runtime: Runtime, events: int) -> None:
    """After close: one line per distinct event written, none lost, none twice."""
    series = runtime.timeseries
    if series is not None and (series.lost or series.written != events):
        raise RuntimeError(f"time series: {series.written} lines written, {series.lost} lost")


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=100_000)
    tsdb = parser.add_mutually_exclusive_group()
    tsdb.add_argument("--tsdb", action="store_true", help="also write to VictoriaMetrics")
    tsdb.add_argument("--tsdb-only", action="store_true", help="only with VictoriaMetrics")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--scenario", choices=["backlog", "live", "both"], default="both")
    parser.add_argument(
        "--mqtt", choices=["5", "3.1.1"], default="5", help="the server's MQTT protocol"
    )
    parser.add_argument("--quick", action="store_true", help="2 runs of 20,000 events")
    args = parser.parse_args(argv)
    runs, events = (2, 20_000) if args.quick else (args.runs, args.events)
    database = "PostgreSQL" if args.postgres else "SQLite"
    if args.mqtt != "5":
        database = f"MQTT {args.mqtt}, {database}"
    name = "server_ingest_postgresql" if args.postgres else "server_ingest"
    report = Report(name if args.mqtt == "5" else f"{name}_mqtt311")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dorm-bench-")))
        broker = stack.enter_context(MosquittoBroker())
        postgres = stack.enter_context(PostgresCluster()) if args.postgres else None
        victoria = None
        if args.tsdb or args.tsdb_only:
            victoria = VictoriaMetrics().start()
            stack.callback(victoria.close)
        sinks = [victoria] if args.tsdb_only else [None, victoria] if args.tsdb else [None]
        # Fresh topics, sessions and databases for every run.
        run_ids = iter(range(10_000))
        for sink in sinks:
            label = f"{database} + VictoriaMetrics" if sink else database
            if args.scenario in ("backlog", "both"):
                backlog = [
                    backlog_run(broker, sink, events, next(run_ids), workdir, postgres, args.mqtt)
                    for _ in range(runs)
                ]
                report.figures.append(
                    Figure(
                        f"server worker, backlog, {label}", "events/s", backlog, goal=">= 15,000"
                    )
                )
            if args.scenario in ("live", "both"):
                live = [
                    live_run(broker, sink, events, next(run_ids), workdir, postgres, args.mqtt)
                    for _ in range(runs)
                ]
                report.figures.append(
                    Figure(f"live, one Python publisher, {label}", "events/s", live)
                )
    print(f"{events:,} distinct events + 10 % duplicates per run, at {datetime.now()}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report.print()
    print(f"saved {report.save()}")
    return report


if __name__ == "__main__":
    main()
