"""The alert routes through the real app: scope, ordering, pages, lifecycle, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from rules.signals import Level, Severity
from server.alerts import AlertService
from tests.alerts.support import T0, signal
from tests.server.apiclient import SeededApi, make_settings, seeded_api


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[SeededApi]:
    with seeded_api(make_settings(database_url, tmp_path)) as seeded:
        yield seeded


def _service(api: SeededApi) -> AlertService:
    assert api.runtime.alerts is not None
    return api.runtime.alerts.service


def _user_id(api: SeededApi, user: str) -> str:
    return str(api.client.get("/api/v1/me", headers=api.headers(user)).json()["id"])


def _emit_mix(api: SeededApi) -> None:
    _service(api).emit(
        [
            signal(subject="door:b1-gate-in/main", at=T0),
            signal(subject="door:b1-gate-out/main", at=T0 - timedelta(minutes=1)),
            signal(
                rule="smoke",
                subject="room:b1-r101",
                severity=Severity.CRITICAL,
                level=Level.BUILDING,
                at=T0 + timedelta(minutes=3),
            ),
            signal(
                rule="device_offline",
                subject="device:b2-kiosk",
                building="b2",
                severity=Severity.INFO,
                at=T0 - timedelta(hours=1),
            ),
        ]
    )


def _subjects(body: dict[str, object]) -> list[str]:
    items = body["items"]
    assert isinstance(items, list)
    return [item["subject"] for item in items]


def test_list_is_ordered_filtered_and_paged(api: SeededApi) -> None:
    _emit_mix(api)
    admin = api.headers("admin")
    everything = api.client.get("/api/v1/alerts", headers=admin)
    assert everything.status_code == 200, everything.text
    assert _subjects(everything.json()) == [
        "room:b1-r101",  # critical first
        "door:b1-gate-out/main",  # then the oldest
        "door:b1-gate-in/main",
        "device:b2-kiosk",
    ]
    assert everything.json()["next_cursor"] is None
    first = api.client.get("/api/v1/alerts?limit=3", headers=admin).json()
    assert _subjects(first)[:3] == _subjects(everything.json())[:3]
    second = api.client.get(
        f"/api/v1/alerts?limit=3&cursor={first['next_cursor']}", headers=admin
    ).json()
    assert (_subjects(second), second["next_cursor"]) == (["device:b2-kiosk"], None)
    assert _subjects(api.client.get("/api/v1/alerts?severity=warning", headers=admin).json()) == [
        "door:b1-gate-out/main",
        "door:b1-gate-in/main",
    ]
    assert _subjects(api.client.get("/api/v1/alerts?building=b2", headers=admin).json()) == [
        "device:b2-kiosk"
    ]
    assert _subjects(api.client.get("/api/v1/alerts?rule=smoke", headers=admin).json()) == [
        "room:b1-r101"
    ]
    assert _subjects(api.client.get("/api/v1/alerts?status=resolved", headers=admin).json()) == []
    bad = api.client.get("/api/v1/alerts?cursor=bm90LWEtY3Vyc29y", headers=admin)
    assert bad.status_code == 422
    assert "invalid cursor" in bad.text
    assert api.client.get("/api/v1/alerts?rule=no_such_rule", headers=admin).status_code == 422


def test_each_role_sees_its_scope(api: SeededApi) -> None:
    _emit_mix(api)
    counselor = api.client.get("/api/v1/alerts", headers=api.headers("counselor")).json()
    assert "device:b2-kiosk" not in _subjects(counselor)
    assert len(_subjects(counselor)) == 3
    security = api.client.get("/api/v1/alerts", headers=api.headers("security")).json()
    assert len(_subjects(security)) == 4
    assert api.client.get("/api/v1/alerts", headers=api.headers("student")).status_code == 403
    [kiosk] = api.client.get("/api/v1/alerts?building=b2", headers=api.headers("admin")).json()[
        "items"
    ]
    path = f"/api/v1/alerts/{kiosk['id']}"
    assert api.client.get(path, headers=api.headers("counselor")).status_code == 404
    refused = api.client.post(f"{path}/acknowledge", json={}, headers=api.headers("counselor"))
    assert refused.status_code == 404
    # At campus level (here: where it started), every counselor sees and acts on it.
    _service(api).emit(
        [signal(rule="duty_coverage_gap", subject="building:b2", building="b2", level=Level.CAMPUS)]
    )
    [gap] = api.client.get(
        "/api/v1/alerts?rule=duty_coverage_gap", headers=api.headers("counselor")
    ).json()["items"]
    assert (gap["building"], gap["level"]) == ("b2", "campus")
    acked = api.client.post(
        f"/api/v1/alerts/{gap['id']}/acknowledge", json={}, headers=api.headers("counselor")
    )
    assert acked.status_code == 200


def test_acknowledge_assign_resolve_through_the_api(api: SeededApi) -> None:
    _service(api).emit([signal()])
    counselor = api.headers("counselor")
    [alert] = api.client.get("/api/v1/alerts", headers=counselor).json()["items"]
    path = f"/api/v1/alerts/{alert['id']}"
    acked = api.client.post(f"{path}/acknowledge", json={"note": "checking"}, headers=counselor)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == _user_id(api, "counselor")
    again = api.client.post(f"{path}/acknowledge", headers=counselor)  # no body at all
    assert again.status_code == 409
    assert "cannot acknowledge an alert that is acknowledged" in again.text
    guard = _user_id(api, "security")
    assigned = api.client.post(f"{path}/assign", json={"assignee": guard}, headers=counselor)
    assert (assigned.status_code, assigned.json()["assignee"]) == (200, guard)
    student = _user_id(api, "student")
    wrong = api.client.post(f"{path}/assign", json={"assignee": student}, headers=counselor)
    assert wrong.status_code == 422
    nobody = api.client.post(f"{path}/assign", json={"assignee": "999999"}, headers=counselor)
    assert nobody.status_code == 422
    no_note = api.client.post(f"{path}/resolve", json={}, headers=api.headers("security"))
    assert no_note.status_code == 422
    resolved = api.client.post(
        f"{path}/resolve", json={"note": "door closed by hand"}, headers=api.headers("security")
    )
    assert resolved.status_code == 200
    assert (resolved.json()["resolved_by"], resolved.json()["note"]) == (
        guard,
        "door closed by hand",
    )
    twice = api.client.post(f"{path}/resolve", json={"note": "x"}, headers=api.headers("admin"))
    assert twice.status_code == 409
    detail = api.client.get(path, headers=counselor).json()
    assert [(h["action"], h["by"]) for h in detail["history"]] == [
        ("opened", "system"),
        ("acknowledged", _user_id(api, "counselor")),
        ("assigned", _user_id(api, "counselor")),
        ("resolved", guard),
    ]
    assert detail["history"][1]["note"] == "checking"
    assert set(detail) - {"history"} == set(alert)
    unknown = api.client.get("/api/v1/alerts/01JBQ8Z0X4T6Y5V3W2N1M0K9H8", headers=counselor)
    assert unknown.status_code == 404
