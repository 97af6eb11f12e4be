"""A seeded API on SQLite or PostgreSQL for the security tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.apiclient import SeededApi, make_settings, seeded_api


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path) -> Iterator[SeededApi]:
    # Tests here call every route, the alert stream included: let it end soon.
    with seeded_api(make_settings(sqlite_url, tmp_path, alert_sse_max_s=0.5)) as seeded:
        yield seeded


@pytest.fixture
def api_any_db(any_database_url: str, tmp_path: Path) -> Iterator[SeededApi]:
    with seeded_api(make_settings(any_database_url, tmp_path)) as seeded:
        yield seeded
