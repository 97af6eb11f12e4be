"""The alert system built from the settings (environment variables), started and closed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from server.alerts.system import AlertSystem
from server.settings import Settings
from tests.alerts.engines import SmokeEngine
from tests.server.apiclient import make_settings


def test_escalation_times_and_webhooks_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    monkeypatch.setenv("DORM_ALERT_ESCALATE_ROOM_S", "60")
    monkeypatch.setenv("DORM_ALERT_ESCALATE_FLOOR_S", "120")
    monkeypatch.setenv("DORM_ALERT_ESCALATE_BUILDING_S", "180")
    monkeypatch.setenv(
        "DORM_ALERT_WEBHOOK_URLS", '["http://127.0.0.1:9/a", "https://bot.example/hook"]'
    )
    settings = Settings()
    system = AlertSystem(settings, sessions, engine_factory=lambda _s: SmokeEngine())
    system.start()
    try:
        policy = system.service.policy
        assert (policy.room, policy.floor, policy.building) == (
            timedelta(minutes=1),
            timedelta(minutes=2),
            timedelta(minutes=3),
        )
        assert [w.url for w in system.webhooks] == [
            "http://127.0.0.1:9/a",
            "https://bot.example/hook",
        ]
        assert system.hook is not None
    finally:
        system.close()


def test_without_an_engine_factory_there_is_no_hook(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    system = AlertSystem(make_settings("sqlite://", tmp_path), sessions)
    system.start()
    system.close()
    assert system.hook is None
    assert system.webhooks == []


def test_a_webhook_url_that_is_not_http_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DORM_ALERT_WEBHOOK_URLS", '["ftp://bot.example/hook"]')
    with pytest.raises(ValidationError, match="alert_webhook_urls"):
        Settings()
