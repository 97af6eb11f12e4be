"""The engine hook in ingest: committed batches → engine → alerts; failures never stop ingest."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from protocol.codec import decode
from protocol.messages import Command, CommandAction, RoomTelemetry
from server.alerts import AlertService, AlertStats
from server.alerts.hook import EngineHook
from server.db import AlertRow, TelemetrySample
from server.ingest import IngestStats
from server.ingest.writer import BatchWriter
from tests.alerts.engines import BrokenEngine, SmokeEngine
from tests.alerts.live import LiveServer, client, live_server
from tests.alerts.test_sse import next_alert, sse
from tests.server.apiclient import make_settings
from tests.server.factories import BASE_TS, ulid_at, wire


def smoke_sample(seq: int, smoke: bool, rng: random.Random, room: str = "b1-r101") -> RoomTelemetry:
    ts = BASE_TS + timedelta(seconds=seq)
    return RoomTelemetry(
        id=ulid_at(ts, rng),
        device=f"{room}-sensor",
        seq=seq,
        ts=ts,
        room=room,
        occupancy=1,
        power_w=120.0,
        temperature_c=23.5,
        smoke=smoke,
    )


def _alerts(sessions: sessionmaker[Session]) -> list[AlertRow]:
    with sessions() as session:
        return list(session.scalars(select(AlertRow)))


def test_committed_batches_reach_the_engine_and_become_alerts(
    sessions: sessionmaker[Session],
) -> None:
    rng = random.Random(6)
    stats = AlertStats()
    service = AlertService(sessions, stats=stats)
    hook = EngineHook(SmokeEngine(), service, stats)
    writer = BatchWriter(sessions.kw["bind"], IngestStats(), observer=hook.observe)
    first, second, clean = (
        smoke_sample(1, True, rng),
        smoke_sample(2, True, rng),
        smoke_sample(3, False, rng),
    )
    writer.write([wire("b1", first), wire("b1", first)])  # a duplicate delivery
    writer.write([wire("b1", second), wire("b1", first)])
    [alert] = _alerts(sessions)
    assert (alert.rule, alert.subject, alert.status, alert.count) == (
        "smoke",
        "room:b1-r101",
        "open",
        2,
    )
    assert alert.first_seen == first.ts
    writer.write([wire("b1", clean)])
    [alert] = _alerts(sessions)
    assert (alert.status, alert.resolved_by) == ("resolved", "system")
    assert stats.get("engine_messages") == 5
    assert stats.get("engine_signals") == 3


def test_an_engine_error_is_counted_and_ingest_goes_on(sessions: sessionmaker[Session]) -> None:
    rng = random.Random(7)
    stats = AlertStats()
    hook = EngineHook(BrokenEngine(), AlertService(sessions, stats=stats), stats)
    writer = BatchWriter(sessions.kw["bind"], IngestStats(), observer=hook.observe)
    writer.write([wire("b1", smoke_sample(n, True, rng)) for n in range(3)])
    writer.write([wire("b1", smoke_sample(n, True, rng)) for n in range(3, 5)])
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(TelemetrySample)) == 5
    assert stats.get("engine_errors") == 2
    assert _alerts(sessions) == []


def test_a_failing_alert_service_is_counted_too(sessions: sessionmaker[Session]) -> None:
    rng = random.Random(8)
    stats = AlertStats()
    hook = EngineHook(SmokeEngine(), AlertService(sessions, stats=stats), stats)
    writer = BatchWriter(sessions.kw["bind"], IngestStats(), observer=hook.observe)
    with sessions() as session, session.begin():
        # A schema the service cannot write to: every emit fails in the database.
        session.execute(text("DROP TABLE alert_signal"))
    writer.write([wire("b1", smoke_sample(1, True, rng)), wire("b1", smoke_sample(2, True, rng))])
    # Each signal fails on its own (counted, logged); nothing reaches ingest.
    assert stats.get("signals_failed") == 2
    assert stats.get("emit_errors") == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(TelemetrySample)) == 2


def test_the_ticker_advances_the_engine_on_processing_time(sessions: sessionmaker[Session]) -> None:
    engine = SmokeEngine()
    stats = AlertStats()
    hook = EngineHook(engine, AlertService(sessions, stats=stats), stats, tick_s=0.02)
    hook.start()
    try:
        assert engine.advanced_once.wait(10)
    finally:
        hook.stop()
    assert engine.advanced[0].tzinfo is not None


@pytest.fixture
def live(sqlite_url: str, tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[LiveServer]:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        mqtt_enabled=True,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_topic_filter="dorm/v1/b1/dev/+/telemetry",
        alert_sse_keepalive_s=0.5,
    )
    with live_server(settings, engine_factory=lambda _settings: SmokeEngine()) as server:
        assert server.runtime.link is not None
        assert server.runtime.link.subscribed.wait(10)
        yield server


def test_smoke_at_the_edge_becomes_an_alert_on_the_stream_and_releases_the_gates(
    live: LiveServer, mosquitto: MosquittoBroker
) -> None:
    rng = random.Random(9)
    sample = smoke_sample(1, True, rng)
    topic, payload = wire("b1", sample)
    with (
        MqttProbe(mosquitto.host, mosquitto.port, subscriptions=["dorm/v1/b1/dev/+/cmd"]) as edge,
        client(live) as http,
        http.stream("GET", "/api/v1/alerts/stream", headers=live.headers("security")) as stream,
    ):
        edge.connect()
        edge.wait_subscribed()
        events = sse(stream)
        assert next(events)[0] == "keepalive"
        edge.wait_published([edge.publish(topic, payload)], timeout_s=5)
        alert = next_alert(events)
        assert (alert["rule"], alert["subject"], alert["severity"], alert["level"]) == (
            "smoke",
            "room:b1-r101",
            "critical",
            "building",
        )
        commands = [decode(m.topic, m.payload) for m in edge.expect(2, timeout_s=10)]
    assert sorted(c.device for c in commands if isinstance(c, Command)) == [
        "b1-gate-in",
        "b1-gate-out",
    ]
    assert {c.action for c in commands if isinstance(c, Command)} == {CommandAction.FIRE_RELEASE}
    assert live.runtime.alerts is not None
    assert live.runtime.alerts.stats.get("engine_signals") == 1
