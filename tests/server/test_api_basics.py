"""Login, scoping and the student's own records, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from protocol.keys import load_public_keys
from protocol.messages import PersonKind
from protocol.tokens import verify_token
from server.ingest import BatchWriter, IngestStats
from tests.server.apiclient import PASSWORD, SeededApi, make_settings, seeded_api
from tests.server.factories import access_event, wire


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[SeededApi]:
    with seeded_api(make_settings(database_url, tmp_path)) as seeded:
        yield seeded


def test_login_refuses_a_wrong_password_and_a_forged_token(api: SeededApi) -> None:
    client = api.client
    wrong = client.post(
        "/api/v1/login/access-token", data={"username": "admin", "password": PASSWORD + "x"}
    )
    assert wrong.status_code == 400
    unknown = client.post(
        "/api/v1/login/access-token", data={"username": "nobody", "password": PASSWORD}
    )
    assert unknown.status_code == 400
    forged = api.tokens["admin"][:-4] + "AAAA"
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )
    assert client.get("/api/v1/me").status_code == 401
    me = client.get("/api/v1/me", headers=api.headers("admin"))
    assert me.status_code == 200
    assert me.json()["role"] == "admin"


def test_counselor_sees_only_own_buildings(api: SeededApi) -> None:
    client = api.client
    counselor = api.headers("counselor")
    buildings = client.get("/api/v1/buildings", headers=counselor).json()
    assert [b["id"] for b in buildings] == ["b1"]
    assert client.get("/api/v1/buildings/b2", headers=counselor).status_code == 403
    assert client.get("/api/v1/access-events?building=b2", headers=counselor).status_code == 403
    devices = client.get("/api/v1/devices", headers=counselor).json()
    assert devices
    assert {d["building_id"] for d in devices} == {"b1"}
    all_buildings = client.get("/api/v1/buildings", headers=api.headers("security")).json()
    assert [b["id"] for b in all_buildings] == ["b1", "b2"]
    floors = client.get("/api/v1/buildings/b1/floors", headers=counselor).json()
    assert [f["level"] for f in floors] == [1, 2, 3]
    assert "b1-r101" in {r["id"] for r in floors[0]["rooms"]}


def test_a_student_reads_only_own_records(api: SeededApi) -> None:
    rng = random.Random(5)
    mine = [access_event("b1-gate-in", i, rng, person="p-s0001") for i in range(3)]
    theirs = [access_event("b2-gate-in", 10 + i, rng, person="p-s0025") for i in range(4)]
    BatchWriter(api.runtime.engine, IngestStats()).write(
        [wire("b1", m) for m in mine] + [wire("b2", m) for m in theirs]
    )
    client = api.client
    own = client.get("/api/v1/me/access-events", headers=api.headers("student"))
    assert own.status_code == 200
    assert sorted(e["event_id"] for e in own.json()) == sorted(m.id for m in mine)
    other = client.get("/api/v1/me/access-events", headers=api.headers("student-b2")).json()
    assert sorted(e["event_id"] for e in other) == sorted(m.id for m in theirs)
    student = api.headers("student")
    for path in (
        "/api/v1/access-events?person=p-s0025",
        "/api/v1/access-events",
        "/api/v1/people/p-s0025",
        "/api/v1/people/p-s0025/credentials",
        "/api/v1/occupancy",
        "/api/v1/duty/checks",
    ):
        assert client.get(path, headers=student).status_code == 403, path


def test_access_events_paginate_by_cursor_and_filter(api: SeededApi) -> None:
    rng = random.Random(6)
    events = [access_event("b1-gate-in", i, rng, granted=i % 3 != 0) for i in range(25)]
    BatchWriter(api.runtime.engine, IngestStats()).write([wire("b1", m) for m in events])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"building": "b1", "limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get(
            "/api/v1/access-events", params=params, headers=api.headers("security")
        )
        assert page.status_code == 200
        body = page.json()
        seen += [item["event_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((m.id for m in events), reverse=True)
    denied = api.client.get(
        "/api/v1/access-events",
        params={"decision": "denied", "limit": 100},
        headers=api.headers("admin"),
    ).json()["items"]
    assert len(denied) == 9


def test_student_qr_verifies_with_the_published_keys(api: SeededApi) -> None:
    response = api.client.get("/api/v1/me/qr", headers=api.headers("student"))
    assert response.status_code == 200
    body = response.json()
    keys = load_public_keys(api.runtime.key_dir)
    claims = verify_token(body["token"], keys, datetime.now(UTC))
    assert claims.subject == "p-s0001"
    assert claims.kind is PersonKind.STUDENT
    # Admin logins have no person, so no QR.
    assert api.client.get("/api/v1/me/qr", headers=api.headers("admin")).status_code == 404
