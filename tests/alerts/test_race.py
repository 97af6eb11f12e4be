"""Two workers racing on the same (rule, subject) produce one open alert (PostgreSQL).

Also: the unique partial index itself, on both databases.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from server.alerts import AlertService
from server.alerts.service import fingerprint
from server.db import AlertRow, AlertSignalRow
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from tests.alerts import race_worker
from tests.alerts.support import NOW0, T0, signal


def _row(alert_id: str, status: str = "open") -> AlertRow:
    return AlertRow(
        id=alert_id,
        rule="door_forced",
        subject="door:b1-gate-in/main",
        severity="major",
        severity_rank=2,
        level="room",
        start_level="room",
        status=status,
        building="b1",
        first_seen=T0,
        last_seen=T0,
        count=1,
        delayed=False,
        message="",
        params={},
        opened_at=NOW0,
    )


def test_the_database_refuses_a_second_unresolved_alert(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        session.add_all(
            [_row("01JBQ8Z0X4T6Y5V3W2N1M0K9H1", "resolved"), _row("01JBQ8Z0X4T6Y5V3W2N1M0K9H2")]
        )
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.add(_row("01JBQ8Z0X4T6Y5V3W2N1M0K9H3", "acknowledged"))
    with sessions() as session, session.begin():
        session.add(_row("01JBQ8Z0X4T6Y5V3W2N1M0K9H4", "resolved"))  # resolved ones may repeat


@pytest.fixture
def pg_sessions(postgres_url: str) -> sessionmaker[Session]:
    engine = make_engine(postgres_url)
    upgrade_to_head(engine)
    return make_sessionmaker(engine)


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        waiting = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
    return bool(waiting)


def test_a_worker_that_loses_the_insert_merges_into_the_winner(
    pg_sessions: sessionmaker[Session],
) -> None:
    """Deterministic: the winner's transaction is held open while the loser inserts."""
    engine = pg_sessions.kw["bind"]
    first = signal(rule="door_forced", evidence=("01JBQ8Z0X4T6Y5V3W2N1M0K9H1",))
    second = signal(
        rule="door_forced", at=T0 + timedelta(seconds=1), evidence=("01JBQ8Z0X4T6Y5V3W2N1M0K9H2",)
    )
    loser = AlertService(pg_sessions)
    winner = pg_sessions()
    winner.begin()
    winner.add(_row("01JBQ8Z0X4T6Y5V3W2N1M0K9H9"))
    winner.flush()
    winner.add(
        AlertSignalRow(key=fingerprint(first), alert_id="01JBQ8Z0X4T6Y5V3W2N1M0K9H9", event_time=T0)
    )
    winner.flush()
    racing = threading.Thread(target=loser.emit, args=([second],))
    racing.start()
    deadline = time.monotonic() + 10
    while not _waiting_on_a_lock(engine):
        assert time.monotonic() < deadline, "the second worker never reached the index"
        time.sleep(0.02)
    winner.commit()
    winner.close()
    racing.join(10)
    assert not racing.is_alive()
    with pg_sessions() as session:
        [alert] = session.scalars(select(AlertRow)).all()
    assert (alert.id, alert.count, alert.last_seen) == (
        "01JBQ8Z0X4T6Y5V3W2N1M0K9H9",
        2,
        T0 + timedelta(seconds=1),
    )
    assert loser.stats.get("open_conflicts") == 1
    assert loser.stats.get("alerts_updated") == 1


def test_two_worker_processes_racing_produce_one_alert_per_subject(
    pg_sessions: sessionmaker[Session], postgres_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results: multiprocessing.Queue[dict[str, int]] = context.Queue()
    workers = [
        context.Process(target=race_worker.main, args=(postgres_url, name, barrier, results))
        for name in ("w1", "w2")
    ]
    for process in workers:
        process.start()
    stats = [results.get(timeout=120) for _ in workers]
    for process in workers:
        process.join(30)
        assert process.exitcode == 0
    with pg_sessions() as session:
        alerts = session.scalars(select(AlertRow).order_by(AlertRow.subject)).all()
    assert len(alerts) == race_worker.SUBJECTS
    assert {a.status for a in alerts} == {"open"}
    # Per subject: the shared signals once, each worker's own signals once each.
    assert {a.count for a in alerts} == {3 * race_worker.ROUNDS}
    assert sum(s.get("alerts_opened", 0) for s in stats) == race_worker.SUBJECTS
    assert (
        sum(s.get("signals_duplicate", 0) for s in stats)
        == race_worker.SUBJECTS * race_worker.ROUNDS
    )
