"""Ingest through a real Mosquitto: duplicates stored once, shared subscriptions, acks."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from protocol.messages import (
    AckResult,
    CommandAck,
    CommandAction,
    DeviceEvent,
    Direction,
    PassageCount,
)
from server.db import (
    AccessEvent,
    CommandRow,
    Device,
    GateFlowMinute,
    PassageCountRow,
    RoomMinute,
    TelemetrySample,
)
from server.mqttlink import MqttLink
from server.runtime import Runtime, start_runtime
from tests.server.apiclient import make_settings
from tests.server.factories import BASE_TS, access_event, telemetry, ulid_at, wire


@contextmanager
def running_server(
    database_url: str,
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    topic_filter: str,
    **overrides: object,
) -> Iterator[Runtime]:
    settings = make_settings(
        database_url,
        tmp_path,
        mqtt_enabled=True,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_topic_filter=topic_filter,
        **overrides,
    )
    runtime = start_runtime(settings)
    try:
        assert runtime.link is not None
        assert runtime.link.subscribed.wait(10), "the server did not subscribe"
        yield runtime
    finally:
        runtime.close()


def publish_all(mosquitto: MosquittoBroker, messages: Sequence[tuple[str, bytes]]) -> None:
    """QoS 1 with at most 100 in flight (paho queues the rest); wait for every PUBACK."""
    with MqttProbe(mosquitto.host, mosquitto.port, max_inflight=100) as probe:
        probe.connect()
        infos = [probe.publish(topic, payload) for topic, payload in messages]
        probe.wait_published(infos, timeout_s=60)


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def workload(building: str, distinct: int, seed: int) -> tuple[list[tuple[str, bytes]], int]:
    """Distinct events of three families plus 10 % duplicates, shuffled."""
    rng = random.Random(seed)
    messages = []
    message: DeviceEvent
    for seq in range(distinct):
        if seq % 10 == 0:
            message = telemetry(f"{building}-s", f"{building}-r1", seq, rng)
        elif seq % 10 == 1:
            message = PassageCount(
                id=ulid_at(BASE_TS, rng),
                device=f"{building}-g",
                seq=seq,
                ts=BASE_TS + timedelta(seconds=seq),
                direction=Direction.ENTRY,
                count=1,
            )
        else:
            message = access_event(f"{building}-g", seq, rng)
        messages.append(wire(building, message))
    duplicates = rng.sample(messages, distinct // 10)
    everything = messages + duplicates
    rng.shuffle(everything)
    return everything, distinct


def _stored_rows(runtime: Runtime) -> int:
    with Session(runtime.engine) as session:
        return sum(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (AccessEvent, TelemetrySample, PassageCountRow)
        )


def test_duplicated_stream_is_stored_exactly_once(
    database_url: str, tmp_path: Path, mosquitto: MosquittoBroker, building_id: str
) -> None:
    messages, distinct = workload(building_id, 20_000, seed=11)
    with running_server(database_url, tmp_path, mosquitto, f"dorm/v1/{building_id}/#") as runtime:
        publish_all(mosquitto, messages)
        wait_for(lambda: runtime.stats.received >= len(messages), 60, "every message")
        assert runtime.pipeline is not None
        assert runtime.pipeline.wait_idle(60)
        view = runtime.ingest_view()
        assert _stored_rows(runtime) == distinct
    assert view.received == len(messages)
    assert view.stored == distinct
    assert view.duplicates == len(messages) - distinct
    assert view.rejected == {}
    assert view.queue_dropped == 0
    # The per-minute rollups (refreshed once more at close) count each event once.
    with Session(runtime.engine) as session:
        flows = session.execute(
            select(
                func.sum(GateFlowMinute.entries + GateFlowMinute.exits + GateFlowMinute.denied)
            ).where(GateFlowMinute.building_id == building_id)
        ).scalar()
        samples = session.execute(
            select(func.sum(RoomMinute.samples)).where(RoomMinute.building_id == building_id)
        ).scalar()
    assert flows == distinct * 8 // 10
    assert samples == distinct // 10


def test_shared_subscription_splits_the_stream_between_workers(
    database_url: str, tmp_path: Path, mosquitto: MosquittoBroker, building_id: str
) -> None:
    messages, distinct = workload(building_id, 3_000, seed=12)
    shared = f"$share/workers-{building_id}/dorm/v1/{building_id}/#"
    with ExitStack() as stack:
        workers = [
            stack.enter_context(running_server(database_url, tmp_path / f"w{i}", mosquitto, shared))
            for i in range(2)
        ]
        publish_all(mosquitto, messages)
        wait_for(
            lambda: sum(w.stats.received for w in workers) >= len(messages), 60, "every message"
        )
        for worker in workers:
            assert worker.pipeline is not None
            assert worker.pipeline.wait_idle(60)
        assert _stored_rows(workers[0]) == distinct
        views = [w.ingest_view() for w in workers]
    # Each message went to one worker; both took part.
    assert sum(v.received for v in views) == len(messages)
    assert all(v.received > 0 for v in views)
    assert sum(v.stored for v in views) == distinct


def test_a_command_ack_updates_the_command(
    database_url: str, tmp_path: Path, mosquitto: MosquittoBroker, building_id: str
) -> None:
    rng = random.Random(13)
    gate = f"{building_id}-g"
    with running_server(database_url, tmp_path, mosquitto, f"dorm/v1/{building_id}/#") as runtime:
        with runtime.sessions() as session, session.begin():
            from server.db import Building, Campus

            session.add(Campus(id="c", name="C", timezone="UTC"))
            session.flush()
            session.add(Building(id=building_id, campus_id="c", name="B", gateway_id="gw"))
            session.flush()
            session.add(Device(id=gate, building_id=building_id, kind="gate"))
            session.flush()
            session.add(
                CommandRow(
                    id=ulid_at(BASE_TS, rng),
                    device_id=gate,
                    building_id=building_id,
                    action="unlock",
                    issued_at=BASE_TS,
                    expires_at=BASE_TS + timedelta(minutes=1),
                    status="pending",
                )
            )
        with runtime.sessions() as session:
            command_id = session.scalars(select(CommandRow.id)).one()
        ack = CommandAck(
            id=ulid_at(BASE_TS, rng),
            device=gate,
            seq=1,
            ts=BASE_TS + timedelta(seconds=1),
            command_id=command_id,
            action=CommandAction.UNLOCK,
            result=AckResult.OK,
            detail="unlocked 5 s",
        )
        publish_all(mosquitto, [wire(building_id, ack)])

        def acked() -> bool:
            with runtime.sessions() as session:
                row = session.get(CommandRow, command_id)
                return row is not None and row.status == "ok"

        wait_for(acked, 10, "the acknowledgement")
        with runtime.sessions() as session:
            row = session.get(CommandRow, command_id)
            assert row is not None
            assert row.acked_at == ack.ts
            assert row.ack_detail == "unlocked 5 s"


def test_messages_not_yet_stored_are_delivered_again_after_a_crash(
    database_url: str, tmp_path: Path, mosquitto: MosquittoBroker, building_id: str
) -> None:
    messages, distinct = workload(building_id, 300, seed=14)
    topic_filter = f"dorm/v1/{building_id}/#"
    client_id = f"worker-{building_id}"
    # A worker that receives but dies before storing anything (never acknowledges).
    received: list[str] = []
    doomed = MqttLink(
        mosquitto.host,
        mosquitto.port,
        topic_filter=topic_filter,
        on_message=lambda topic, payload, token: received.append(topic),
        client_id=client_id,
        session_expiry_s=600,
        ack_after_store=True,
    )
    doomed.start()
    try:
        assert doomed.subscribed.wait(10)
        publish_all(mosquitto, messages)
        wait_for(lambda: len(received) == len(messages), 30, "delivery to the doomed worker")
    finally:
        doomed.stop()

    def restart() -> AbstractContextManager[Runtime]:
        return running_server(
            database_url,
            tmp_path,
            mosquitto,
            topic_filter,
            mqtt_client_id=client_id,
            mqtt_persistent_session=True,
        )

    with restart() as runtime:
        wait_for(lambda: runtime.stats.received >= len(messages), 30, "redelivery")
        assert runtime.pipeline is not None
        assert runtime.pipeline.wait_idle(30)
        assert _stored_rows(runtime) == distinct
    # Everything was acknowledged once stored: nothing comes a third time.
    with restart() as runtime:
        time.sleep(1.0)
        assert runtime.stats.received == 0


def test_over_mqtt_311_workers_share_the_stream_and_a_crash_loses_nothing(
    sqlite_url: str, tmp_path: Path, mosquitto: MosquittoBroker, building_id: str
) -> None:
    """DORM_MQTT_PROTOCOL=3.1.1: shared subscription, duplicates stored once, and a
    persistent session (clean_session=False) redelivers what was never acknowledged."""
    messages, distinct = workload(building_id, 2_000, seed=15)
    shared = f"$share/workers-{building_id}/dorm/v1/{building_id}/#"
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                running_server(
                    sqlite_url, tmp_path / f"w{i}", mosquitto, shared, mqtt_protocol="3.1.1"
                )
            )
            for i in range(2)
        ]
        publish_all(mosquitto, messages)
        wait_for(
            lambda: sum(w.stats.received for w in workers) >= len(messages), 60, "every message"
        )
        for worker in workers:
            assert worker.pipeline is not None
            assert worker.pipeline.wait_idle(60)
        assert _stored_rows(workers[0]) == distinct
        views = [w.ingest_view() for w in workers]
    assert sum(v.received for v in views) == len(messages)
    assert all(v.received > 0 for v in views)
    assert sum(v.stored for v in views) == distinct

    # A 3.1.1 worker that receives but dies before storing anything.
    again, again_distinct = workload(building_id, 300, seed=16)
    topic_filter = f"dorm/v1/{building_id}/#"
    client_id = f"worker311-{building_id}"
    received: list[str] = []
    doomed = MqttLink(
        mosquitto.host,
        mosquitto.port,
        topic_filter=topic_filter,
        on_message=lambda topic, payload, token: received.append(topic),
        client_id=client_id,
        session_expiry_s=600,
        ack_after_store=True,
        protocol="3.1.1",
    )
    doomed.start()
    try:
        assert doomed.subscribed.wait(10)
        publish_all(mosquitto, again)
        wait_for(lambda: len(received) == len(again), 30, "delivery to the doomed worker")
    finally:
        doomed.stop()
    with running_server(
        sqlite_url,
        tmp_path / "w0",
        mosquitto,
        topic_filter,
        mqtt_protocol="3.1.1",
        mqtt_client_id=client_id,
        mqtt_persistent_session=True,
    ) as runtime:
        wait_for(lambda: runtime.stats.received >= len(again), 30, "redelivery")
        assert runtime.pipeline is not None
        assert runtime.pipeline.wait_idle(30)
        assert _stored_rows(runtime) == distinct + again_distinct
