"""A smoke alert commands every gate of its building to fire-release, once per alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from protocol.codec import decode
from protocol.messages import Command, CommandAction
from rules.signals import Action, AlertSignal, Level, Severity
from server.alerts import AlertService
from server.db import AlertHistoryRow, CommandRow
from server.mqttlink import MqttLink
from tests.alerts.support import T0, signal


def smoke(seconds: int = 0) -> AlertSignal:
    return signal(
        rule="smoke",
        subject="room:b1-r101",
        severity=Severity.CRITICAL,
        level=Level.BUILDING,
        room="b1-r101",
        at=T0 + timedelta(seconds=seconds),
        actions=(Action.FIRE_RELEASE,),
        message="smoke in room 101",
    )


@pytest.fixture
def link(mosquitto: MosquittoBroker) -> Iterator[MqttLink]:
    link = MqttLink(mosquitto.host, mosquitto.port, topic_filter=None, on_message=None)
    link.start()
    try:
        assert link.connected.wait(10)
        yield link
    finally:
        link.stop()


def _commands(sessions: sessionmaker[Session]) -> list[CommandRow]:
    with sessions() as session:
        return list(session.scalars(select(CommandRow).order_by(CommandRow.device_id)))


def test_smoke_releases_every_gate_of_the_building_once(
    service: AlertService,
    sessions: sessionmaker[Session],
    link: MqttLink,
    mosquitto: MosquittoBroker,
) -> None:
    service.fire_release.link = link
    with MqttProbe(mosquitto.host, mosquitto.port, subscriptions=["dorm/v1/b1/dev/+/cmd"]) as gates:
        gates.connect()
        gates.wait_subscribed()
        service.emit([smoke()])
        received = gates.expect(2, timeout_s=10)
    commands = [decode(m.topic, m.payload) for m in received]
    assert all(isinstance(c, Command) for c in commands)
    assert sorted((c.device, c.action) for c in commands if isinstance(c, Command)) == [
        ("b1-gate-in", CommandAction.FIRE_RELEASE),
        ("b1-gate-out", CommandAction.FIRE_RELEASE),
    ]
    rows = _commands(sessions)
    assert [(r.device_id, r.action, r.issuer_user_id) for r in rows] == [
        ("b1-gate-in", "fire_release", None),
        ("b1-gate-out", "fire_release", None),
    ]
    # The smoke persists: the alert is updated, the gates are not commanded again.
    service.emit([smoke(10), smoke(20)])
    assert len(_commands(sessions)) == 2
    assert service.stats.get("fire_release_sent") == 2
    with sessions() as session:
        actions = list(session.scalars(select(AlertHistoryRow.action).order_by(AlertHistoryRow.id)))
    assert actions == ["opened", "fire_release"]


def test_without_a_connection_the_failure_is_recorded_and_counted(
    service: AlertService, sessions: sessionmaker[Session]
) -> None:
    service.emit([smoke()])
    assert [r.status for r in _commands(sessions)] == []
    assert service.stats.get("fire_release_failed") == 2
    assert service.stats.get("alerts_opened") == 1
