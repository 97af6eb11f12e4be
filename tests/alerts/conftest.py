"""Fixtures of the alert tests: a migrated, seeded database on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.alerts import AlertService
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from server.seed import seed_site
from siteconfig import load_config_dir
from tests.alerts.support import REPO, ManualClock, Recorder


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same test on a fresh SQLite file and a fresh PostgreSQL database."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database with the example campus (buildings, rooms, gates)."""
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    with make_sessionmaker(engine)() as session, session.begin():
        seed_site(session, load_config_dir(REPO / "firmware-config"))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def service(
    sessions: sessionmaker[Session], clock: ManualClock, recorder: Recorder
) -> AlertService:
    return AlertService(sessions, sinks=[recorder], clock=clock)
