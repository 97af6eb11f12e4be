"""Several server processes on PostgreSQL: each one's SSE viewers see the others' changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from server.alerts import Change
from server.alerts.broadcast import Subscription
from server.alerts.events import AlertEvent
from server.alerts.system import AlertSystem
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from tests.alerts.support import signal
from tests.server.apiclient import make_settings


@pytest.fixture
def workers(postgres_url: str, tmp_path: Path) -> Iterator[tuple[AlertSystem, AlertSystem]]:
    """Two workers' alert systems on one database, each with its own engine (pool)."""
    engines = [make_engine(postgres_url) for _ in range(2)]
    upgrade_to_head(engines[0])
    settings = make_settings(postgres_url, tmp_path)
    systems = [AlertSystem(settings, make_sessionmaker(e)) for e in engines]
    for system in systems:
        system.start()
    try:
        for system in systems:
            assert system.relay is not None
            assert system.relay.listening.wait(10)
        yield systems[0], systems[1]
    finally:
        for system in systems:
            system.close()
        for engine in engines:
            engine.dispose()


async def _next(subscription: Subscription) -> list[AlertEvent]:
    for _ in range(40):  # up to 20 s
        events = await subscription.next_events(0.5)
        if events:
            return events
    return []


def test_a_change_in_one_worker_reaches_the_viewers_of_the_other(
    workers: tuple[AlertSystem, AlertSystem],
) -> None:
    one, other = workers

    async def scenario() -> tuple[list[list[AlertEvent]], list[list[AlertEvent]]]:
        on_one = one.broadcaster.subscribe(None)
        on_other = other.broadcaster.subscribe(frozenset({"b1"}))
        await asyncio.to_thread(one.service.emit, [signal()])
        first_one, first_other = await _next(on_one), await _next(on_other)
        alert_id = first_one[0].alert.id
        await asyncio.to_thread(other.service.acknowledge, alert_id, "7", None, None)
        second_one, second_other = await _next(on_one), await _next(on_other)
        return [first_one, second_one], [first_other, second_other]

    seen_one, seen_other = asyncio.run(scenario())
    expected = [[(Change.OPENED, "open")], [(Change.ACKNOWLEDGED, "acknowledged")]]
    # Each viewer gets each change once: its own process's directly, the other's relayed.
    assert [[(e.change, e.alert.status) for e in batch] for batch in seen_one] == expected
    assert [[(e.change, e.alert.status) for e in batch] for batch in seen_other] == expected
    assert one.stats.get("relay_received") == 1
    assert other.stats.get("relay_received") == 1


def test_sqlite_has_no_relay(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    try:
        system = AlertSystem(make_settings(sqlite_url, tmp_path), make_sessionmaker(engine))
        assert system.relay is None
        assert system.service.relay is None
    finally:
        engine.dispose()


def test_a_malformed_notification_is_counted_and_ignored(
    workers: tuple[AlertSystem, AlertSystem], postgres_url: str
) -> None:
    one, _ = workers
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("NOTIFY dorm_alerts, 'not a change'"))
    finally:
        engine.dispose()
    deadline = time.monotonic() + 10
    while one.stats.get("relay_rejected") == 0:
        assert time.monotonic() < deadline, "the notification was not read"
        time.sleep(0.02)
    assert one.stats.get("relay_received") == 0
