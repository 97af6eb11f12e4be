"""Latency of an alert from the service to a dashboard's SSE stream, through the real server.

A signal is emitted to the alert service of a running server (uvicorn,
SQLite, no MQTT) at a light rate; a client reads ``/api/v1/alerts/stream``
with httpx, as the dashboard does, and the time from ``emit`` to the event's
arrival is measured (one process, one clock). Each signal opens a new alert
(insert, history, commit, broadcast). This is the service's part of the
issue's "edge → alert on the SSE stream" figure (p99 ≤ 100 ms at light load);
ingest batching and the engine come on top.

Also: how many signals per second the service merges into open alerts.

    python -m bench.alerts_stream [--runs 5] [--alerts 200] [--rate 50] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

from bench.common import Figure, Report
from rules.signals import AlertSignal, Level, Severity, SignalKind
from server.alerts import AlertService
from server.app import create_app
from server.db import UserAccount
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from server.runtime import Runtime
from server.security import create_access_token, hash_password, utcnow
from server.settings import Settings


def _settings(directory: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=f"sqlite+pysqlite:///{directory / 'bench.db'}",
        secret_key="bench-secret-key-0123456789-0123456789-abcdef",
        card_hash_key="bench-card-hash-key-0123456789",
        token_key_dir=directory / "keys",
        mqtt_enabled=False,
    )


def _signal(n: int, evidence: str | None = None) -> AlertSignal:
    return AlertSignal(
        rule="door_forced",
        subject=f"door:b1-d{n}/main",
        kind=SignalKind.RAISE,
        severity=Severity.MAJOR,
        level=Level.ROOM,
        event_time=datetime.now(UTC),
        building="b1",
        message="door forced",
        evidence=(evidence or f"bench-{n}",),
    )


def one_run(alerts: int, rate_per_s: float) -> list[float]:
    """Latencies (ms) of ``alerts`` new alerts emitted at ``rate_per_s``."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp))
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        try:
            runtime: Runtime = app.state.runtime
            assert runtime.alerts is not None
            with runtime.sessions() as session, session.begin():
                admin = UserAccount(
                    username="bench", password_hash=hash_password("bench pw 123"), role="admin"
                )
                session.add(admin)
                session.flush()
                token = create_access_token(admin.id, settings.secret_key, 3600, utcnow())
            port = server.servers[0].sockets[0].getsockname()[1]
            sent: dict[str, float] = {}
            received: dict[str, float] = {}
            ready = threading.Event()

            def read() -> None:
                with (
                    httpx.Client(timeout=30) as http,
                    http.stream(
                        "GET",
                        f"http://127.0.0.1:{port}/api/v1/alerts/stream",
                        headers={"Authorization": f"Bearer {token}"},
                    ) as response,
                ):
                    ready.set()
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            subject = json.loads(line[6:])["subject"]
                            received.setdefault(subject, time.perf_counter())
                            if len(received) == alerts:
                                return

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            ready.wait(10)
            while runtime.alerts.broadcaster.subscribers == 0:
                time.sleep(0.01)
            for n in range(alerts):
                signal = _signal(n)
                sent[signal.subject] = time.perf_counter()
                runtime.alerts.service.emit([signal])
                time.sleep(1 / rate_per_s)
            reader.join(30)
            return [(received[s] - sent[s]) * 1000 for s in sent if s in received]
        finally:
            server.should_exit = True
            thread.join(30)


def merge_rate(signals: int) -> float:
    """Signals/s the service applies when a persisting condition keeps raising (SQLite).

    Each signal is one transaction (fingerprint insert + count update); this is
    what the ingest writer thread pays per signal when an engine is plugged in.
    """
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+pysqlite:///{Path(tmp) / 'merge.db'}")
        try:
            upgrade_to_head(engine)
            service = AlertService(make_sessionmaker(engine))
            batch = [_signal(n % 20, f"e{n}") for n in range(signals)]
            service.emit(batch[:20])
            started = time.perf_counter()
            service.emit(batch[20:])
            return (signals - 20) / (time.perf_counter() - started)
        finally:
            engine.dispose()


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="alerts per second")
    parser.add_argument("--quick", action="store_true", help="2 runs of 50 alerts")
    args = parser.parse_args(argv)
    runs, alerts = (2, 50) if args.quick else (args.runs, args.alerts)
    p50: list[float] = []
    p99: list[float] = []
    lost: list[float] = []
    for _ in range(runs):
        latencies = one_run(alerts, args.rate)
        lost.append(alerts - len(latencies))
        p50.append(statistics.median(latencies))
        p99.append(_p99(latencies))
    merges = [merge_rate(200 if args.quick else 2000) for _ in range(runs)]
    report = Report("alerts_stream")
    report.figures += [
        Figure("emit -> SSE event, p50", "ms", p50),
        Figure("emit -> SSE event, p99", "ms", p99, "<= 100 ms (edge -> SSE)"),
        Figure("events not received", "events", lost, "0"),
        Figure("signals merged into open alerts (SQLite)", "signals/s", merges),
    ]
    report.print()
    report.save()
    return report


if __name__ == "__main__":
    main()
