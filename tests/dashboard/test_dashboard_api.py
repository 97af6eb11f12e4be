"""The dashboard's aggregate routes, on SQLite and PostgreSQL (no browser)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.db import AccessEvent, DutyCheckRow, DutyShift, GateFlowMinute, TelemetrySample
from server.security import utcnow
from tests.server.apiclient import SeededApi, make_settings, seeded_api

T0 = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai, the example campus


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeededApi]:
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    with seeded_api(make_settings(url, tmp_path)) as seeded:
        yield seeded


def _ulid(n: int) -> str:
    return f"01JBQ8Z0X4T6Y5V3W2N1M0K{n:03d}"


def _envelope(n: int, device: str, building: str, ts: datetime) -> dict[str, object]:
    return {"event_id": _ulid(n), "building_id": building, "device_id": device, "seq": n, "ts": ts}


def test_hourly_gate_flows_are_summed_per_local_hour(api: SeededApi) -> None:
    with api.runtime.sessions() as session, session.begin():
        session.add_all(
            [
                GateFlowMinute(building_id="b1", minute=T0 + timedelta(minutes=10), entries=2),
                GateFlowMinute(building_id="b1", minute=T0 + timedelta(minutes=50), exits=1),
                GateFlowMinute(building_id="b1", minute=T0 + timedelta(minutes=65), denied=3),
                GateFlowMinute(building_id="b2", minute=T0 + timedelta(minutes=10), entries=9),
            ]
        )
    span = {"since": T0.isoformat(), "until": (T0 + timedelta(days=1)).isoformat()}
    rows = api.client.get(
        "/api/v1/dashboard/gate-flows/hourly",
        params={"building": "b1", **span},
        headers=api.headers("counselor"),
    ).json()
    assert rows == [
        {"hour": "2026-09-01T08:00:00+08:00", "entries": 2, "exits": 1, "denied": 0},
        {"hour": "2026-09-01T09:00:00+08:00", "entries": 0, "exits": 0, "denied": 3},
    ]
    too_long = {"since": T0.isoformat(), "until": (T0 + timedelta(days=9)).isoformat()}
    refused = api.client.get(
        "/api/v1/dashboard/gate-flows/hourly",
        params={"building": "b1", **too_long},
        headers=api.headers("security"),
    )
    assert refused.status_code == 422
    other = api.client.get(
        "/api/v1/dashboard/gate-flows/hourly",
        params={"building": "b2", **span},
        headers=api.headers("counselor"),
    )
    assert other.status_code == 403


def test_duty_states_on_time_late_missed_upcoming(api: SeededApi) -> None:
    now = utcnow()
    with api.runtime.sessions() as session, session.begin():
        # Today: p-c001 on time in b1, p-c002 late in b2; a b1 shift tomorrow.
        session.add_all(
            [
                DutyShift(
                    building_id="b1",
                    person_id="p-c001",
                    starts_at=now - timedelta(hours=3),
                    ends_at=now + timedelta(hours=1),
                ),
                DutyShift(
                    building_id="b2",
                    person_id="p-c002",
                    starts_at=now - timedelta(hours=3),
                    ends_at=now + timedelta(hours=1),
                ),
                DutyShift(
                    building_id="b1",
                    person_id="p-c001",
                    starts_at=now + timedelta(days=1),
                    ends_at=now + timedelta(days=1, hours=8),
                ),
            ]
        )
        checks = [
            (
                "b1-kiosk",
                "b1",
                "p-c001",
                "check_in",
                None,
                now - timedelta(hours=3) + timedelta(minutes=5),
            ),
            ("b1-kiosk", "b1", "p-c001", "room_visit", "b1-r101", now - timedelta(hours=1)),
            ("b1-kiosk", "b1", "p-c001", "room_visit", "b1-r102", now - timedelta(minutes=50)),
            ("b2-kiosk", "b2", "p-c002", "check_in", None, now - timedelta(hours=2)),
        ]
        session.add_all(
            DutyCheckRow(**_envelope(n, d, b, ts), action=a, person_id=p, room_id=r)
            for n, (d, b, p, a, r, ts) in enumerate(checks)
        )
    admin = api.client.get(
        "/api/v1/dashboard/duty", params={"at": now.isoformat()}, headers=api.headers("admin")
    ).json()
    states = {
        (s["building_id"], s["person_id"]): s for s in admin if s["starts_at"] < now.isoformat()
    }
    assert states[("b1", "p-c001")]["state"] == "on_time"
    assert states[("b1", "p-c001")]["room_visits"] == 2
    assert states[("b2", "p-c002")]["state"] == "late"
    # A counselor sees only their building's roster.
    mine = api.client.get(
        "/api/v1/dashboard/duty", params={"at": now.isoformat()}, headers=api.headers("counselor")
    ).json()
    assert {s["building_id"] for s in mine} == {"b1"}
    tomorrow = api.client.get(
        "/api/v1/dashboard/duty",
        params={"at": (now + timedelta(days=1, hours=2)).isoformat(), "building": "b1"},
        headers=api.headers("counselor"),
    ).json()
    assert "upcoming" in {s["state"] for s in tomorrow}
    # The example roster's shifts of 1 September were never checked into: missed.
    past = api.client.get(
        "/api/v1/dashboard/duty",
        params={"at": "2026-09-01T12:00:00+08:00"},
        headers=api.headers("admin"),
    ).json()
    assert [s["state"] for s in past] == ["missed", "missed"]


def test_decisions_name_people_for_administrators_only(api: SeededApi) -> None:
    with api.runtime.sessions() as session, session.begin():
        session.add(
            AccessEvent(
                **_envelope(1, "b1-gate-in", "b1", T0),
                direction="entry",
                credential="card",
                decision="granted",
                reason="ok",
                person_id="p-s0001",
                door="main",
            )
        )
    for user, name in (("admin", "Student 0001"), ("security", None), ("counselor", None)):
        [row] = api.client.get(
            "/api/v1/dashboard/decisions", params={"building": "b1"}, headers=api.headers(user)
        ).json()
        assert (row["person_id"], row["name"]) == ("p-s0001", name), user


def test_overview_and_rooms_summarise_the_latest_state(api: SeededApi) -> None:
    with api.runtime.sessions() as session, session.begin():
        for n, (occupancy, smoke) in enumerate([(1, False), (3, True)]):
            session.add(
                TelemetrySample(
                    **_envelope(10 + n, "b1-r101-sensor", "b1", T0 + timedelta(minutes=n)),
                    room_id="b1-r101",
                    occupancy=occupancy,
                    power_w=100.0 * (n + 1),
                    temperature_c=20.0,
                    smoke=smoke,
                )
            )
    floors = api.client.get(
        "/api/v1/dashboard/buildings/b1/rooms", headers=api.headers("counselor")
    ).json()
    rooms = {r["id"]: r for f in floors for r in f["rooms"]}
    assert [f["level"] for f in floors] == [1, 2, 3]
    assert (
        rooms["b1-r101"]["occupancy"],
        rooms["b1-r101"]["smoke"],
        rooms["b1-r101"]["power_w"],
    ) == (3, True, 200.0)
    assert rooms["b1-r102"]["ts"] is None
    overview = api.client.get("/api/v1/dashboard/overview", headers=api.headers("security")).json()
    by_id = {b["id"]: b for b in overview["buildings"]}
    assert set(by_id) == {"b1", "b2"}
    assert by_id["b1"]["duty_gap"] is True  # the example roster has nobody on duty now
    assert by_id["b1"]["devices_offline"] == by_id["b1"]["devices_total"] == 6
    assert [g["id"] for g in by_id["b1"]["gates"]] == ["b1-gate-in", "b1-gate-out"]
    counselor = api.client.get(
        "/api/v1/dashboard/overview", headers=api.headers("counselor")
    ).json()
    assert [b["id"] for b in counselor["buildings"]] == ["b1"]
    assert (
        api.client.get(
            "/api/v1/dashboard/buildings/b2/rooms", headers=api.headers("counselor")
        ).status_code
        == 403
    )


def test_qr_svg_is_a_standalone_svg_document_for_own_person_only(api: SeededApi) -> None:
    mine = api.client.get("/api/v1/dashboard/me/qr", headers=api.headers("student"))
    assert mine.status_code == 200
    assert mine.json()["svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert (
        api.client.get("/api/v1/dashboard/me/qr", headers=api.headers("admin")).status_code == 404
    )
    campus = api.client.get("/api/v1/dashboard/campus", headers=api.headers("student")).json()
    assert campus["timezone"] == "Asia/Shanghai"


def test_the_dashboard_is_served_at_the_root_beside_the_api_and_its_docs(api: SeededApi) -> None:
    index = api.client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/js/main.js"></script>' in index.text
    assert api.client.get("/js/pages/alerts.js").status_code == 200
    assert api.client.get("/docs").status_code == 200
    assert "/api/v1/dashboard/overview" in api.client.get("/openapi.json").json()["paths"]
    assert api.client.get("/api/v1/buildings", headers=api.headers("security")).status_code == 200
    assert api.client.get("/no-such-file.js").status_code == 404
