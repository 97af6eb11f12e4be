"""The SSE stream through the real server (uvicorn + httpx streaming), and the broadcaster."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from rules.signals import Level
from server.alerts import AlertService, AlertStats, Change
from server.alerts.broadcast import Broadcaster
from server.alerts.events import AlertEvent
from server.alerts.schemas import AlertOut
from tests.alerts.live import LiveServer, client, live_server
from tests.alerts.support import T0, signal
from tests.server.apiclient import make_settings

KEEPALIVE_S = 0.3


@pytest.fixture
def live(sqlite_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    settings = make_settings(sqlite_url, tmp_path, alert_sse_keepalive_s=KEEPALIVE_S)
    with live_server(settings) as server:
        yield server


def _service(live: LiveServer) -> AlertService:
    assert live.runtime.alerts is not None
    return live.runtime.alerts.service


def sse(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """``("alert", AlertOut JSON)`` per event, ``("keepalive", None)`` per comment."""
    event: str | None = None
    for line in response.iter_lines():
        if line == ": keepalive":
            yield "keepalive", None
        elif line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            assert event == "alert"
            yield event, json.loads(line.removeprefix("data: "))
            event = None


def next_alert(events: Iterator[tuple[str, Any]], max_keepalives: int = 40) -> dict[str, Any]:
    """The next alert event; fails after ``max_keepalives`` quiet intervals instead of hanging."""
    for kind, data in events:
        if kind == "alert":
            assert isinstance(data, dict)
            return data
        max_keepalives -= 1
        assert max_keepalives > 0, "no alert event came"
    raise AssertionError("the stream ended")


def test_the_stream_sends_active_alerts_then_changes_in_scope(live: LiveServer) -> None:
    service = _service(live)
    service.emit([signal(subject="door:b1-gate-out/main", at=T0 - timedelta(minutes=1))])
    with (
        client(live) as http,
        http.stream("GET", "/api/v1/alerts/stream", headers=live.headers("counselor")) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response)
        first = next_alert(events)
        assert (first["subject"], first["status"]) == ("door:b1-gate-out/main", "open")
        # Another building's alert is not for this counselor; b1's next one is.
        service.emit([signal(subject="device:b2-kiosk", rule="device_offline", building="b2")])
        service.emit([signal(subject="door:b1-gate-in/main")])
        opened = next_alert(events)
        assert (opened["subject"], opened["status"], opened["count"]) == (
            "door:b1-gate-in/main",
            "open",
            1,
        )
        service.emit([signal(subject="door:b1-gate-in/main", at=T0 + timedelta(seconds=30))])
        assert next_alert(events)["count"] == 2
        acked = http.post(
            f"/api/v1/alerts/{opened['id']}/acknowledge",
            json={"note": "seen"},
            headers=live.headers("admin"),
        )
        assert acked.status_code == 200
        change = next_alert(events)
        assert (change["id"], change["status"], change["note"]) == (
            opened["id"],
            "acknowledged",
            "seen",
        )
        assert set(change) == set(AlertOut.model_fields)
        # Quiet now: keepalive comments keep the connection alive.
        assert next(events) == ("keepalive", None)
    broadcaster = live.runtime.alerts.broadcaster if live.runtime.alerts else None
    assert broadcaster is not None
    deadline = time.monotonic() + 10
    while broadcaster.subscribers:  # the closed stream unsubscribed
        assert time.monotonic() < deadline, "the server kept a closed stream's subscription"
        time.sleep(0.02)


def test_admin_sees_every_building_and_campus_reaches_every_counselor(live: LiveServer) -> None:
    service = _service(live)
    with (
        client(live) as http,
        http.stream("GET", "/api/v1/alerts/stream", headers=live.headers("admin")) as admin_stream,
        http.stream(
            "GET", "/api/v1/alerts/stream", headers=live.headers("counselor")
        ) as counselor_stream,
    ):
        admin, counselor = sse(admin_stream), sse(counselor_stream)
        assert next(admin)[0] == "keepalive"  # nothing active yet
        assert next(counselor)[0] == "keepalive"
        service.emit([signal(subject="device:b2-kiosk", rule="device_offline", building="b2")])
        service.emit(
            [
                signal(
                    rule="duty_coverage_gap",
                    subject="building:b2",
                    building="b2",
                    level=Level.CAMPUS,
                )
            ]
        )
        assert next_alert(admin)["subject"] == "device:b2-kiosk"
        assert next_alert(admin)["subject"] == "building:b2"
        assert next_alert(counselor)["subject"] == "building:b2"


def test_the_stream_needs_a_staff_token(live: LiveServer) -> None:
    with client(live) as http:
        assert http.get("/api/v1/alerts/stream").status_code == 401
        student = http.get("/api/v1/alerts/stream", headers=live.headers("student"))
        assert student.status_code == 403


def _event(alert_id: str, building: str = "b1", level: str = "room") -> AlertEvent:
    return AlertEvent(
        Change.OPENED,
        AlertOut.model_validate(
            {
                "id": alert_id,
                "rule": "door_forced",
                "subject": f"door:{alert_id}",
                "severity": "major",
                "level": level,
                "start_level": level,
                "status": "open",
                "building": building,
                "floor": None,
                "room": None,
                "first_seen": T0,
                "last_seen": T0,
                "count": 1,
                "delayed": False,
                "message": "",
                "params": {},
                "opened_at": T0,
                "acknowledged_by": None,
                "acknowledged_at": None,
                "assignee": None,
                "resolved_by": None,
                "resolved_at": None,
                "note": None,
                "escalated_at": None,
            }
        ),
    )


def test_a_slow_subscriber_is_dropped_and_never_blocks_the_others() -> None:
    stats = AlertStats()
    broadcaster = Broadcaster(stats, max_queue=2)

    async def scenario() -> tuple[list[str], bool, bool]:
        slow = broadcaster.subscribe(None)
        reader = broadcaster.subscribe(frozenset({"b1"}))
        got: list[str] = []
        for n in range(4):
            broadcaster.deliver(_event(f"a{n}"))
            broadcaster.deliver(_event(f"b2-{n}", building="b2"))  # not in reader's scope
            got += [e.alert.id for e in await reader.next_events(1.0)]
        # The slow one was dropped when its third event did not fit; it is told so.
        leftover = await slow.next_events(1.0)
        return got, slow.dropped, len(leftover) == 2

    got, dropped, kept_two = asyncio.run(scenario())
    assert got == ["a0", "a1", "a2", "a3"]
    assert dropped
    assert kept_two
    assert stats.get("sse_dropped") == 1
    assert broadcaster.subscribers == 1
