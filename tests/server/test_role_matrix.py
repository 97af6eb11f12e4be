"""Every route, called as every role: allowed or refused exactly as the table says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from devservices import MosquittoBroker
from tests.server.apiclient import SeededApi, make_settings, seeded_api

S, C, X, A = "student", "counselor", "security", "admin"
ALL: Final = frozenset({S, C, X, A})
STAFF: Final = frozenset({C, X, A})
#: An alert id no alert has (the routes answer 404 to those allowed, 403 to the others).
ALERT: Final = "01JBQ8Z0X4T6Y5V3W2N1M0K9H8"

# (method, route path) → (roles allowed, concrete path, JSON body or form).
MATRIX: Final[dict[tuple[str, str], tuple[frozenset[str], str, dict[str, Any] | None]]] = {
    ("GET", "/api/v1/me"): (ALL, "/api/v1/me", None),
    ("GET", "/api/v1/me/access-events"): (ALL, "/api/v1/me/access-events", None),
    ("GET", "/api/v1/me/qr"): (ALL, "/api/v1/me/qr", None),
    ("GET", "/api/v1/buildings"): (STAFF, "/api/v1/buildings", None),
    ("GET", "/api/v1/buildings/{building_id}"): (STAFF, "/api/v1/buildings/b1", None),
    ("GET", "/api/v1/buildings/{building_id}/floors"): (STAFF, "/api/v1/buildings/b1/floors", None),
    ("GET", "/api/v1/devices"): (STAFF, "/api/v1/devices", None),
    ("GET", "/api/v1/devices/{device_id}"): (STAFF, "/api/v1/devices/b1-gate-in", None),
    ("POST", "/api/v1/devices/{device_id}/commands"): (
        frozenset({X, A}),
        "/api/v1/devices/b1-gate-in/commands",
        {"action": "unlock", "duration_s": 5},
    ),
    ("GET", "/api/v1/devices/{device_id}/commands/{command_id}"): (
        frozenset({X, A}),
        "/api/v1/devices/b1-gate-in/commands/01JBQ8Z0X4T6Y5V3W2N1M0K9H8",
        None,
    ),
    ("GET", "/api/v1/people"): (frozenset({A}), "/api/v1/people", None),
    ("POST", "/api/v1/people"): (
        frozenset({A}),
        "/api/v1/people",
        {"id": "p-new1", "kind": "student", "full_name": "Student New", "access": ["b1"]},
    ),
    ("GET", "/api/v1/people/{person_id}"): (frozenset({A}), "/api/v1/people/p-s0002", None),
    ("POST", "/api/v1/people/{person_id}/revoke"): (
        frozenset({A}),
        "/api/v1/people/p-s0048/revoke",
        None,
    ),
    ("GET", "/api/v1/people/{person_id}/credentials"): (
        frozenset({A}),
        "/api/v1/people/p-s0002/credentials",
        None,
    ),
    ("POST", "/api/v1/people/{person_id}/credentials"): (
        frozenset({A}),
        "/api/v1/people/p-s0003/credentials",
        {"kind": "card", "card_number": "NEWCARD1"},
    ),
    ("POST", "/api/v1/credentials/{credential_id}/revoke"): (
        frozenset({A}),
        "/api/v1/credentials/5/revoke",
        None,
    ),
    ("POST", "/api/v1/users"): (
        frozenset({A}),
        "/api/v1/users",
        {"username": "new-user", "password": "long enough pw", "role": "security"},
    ),
    ("GET", "/api/v1/access-events"): (STAFF, "/api/v1/access-events", None),
    ("GET", "/api/v1/occupancy"): (STAFF, "/api/v1/occupancy", None),
    ("GET", "/api/v1/charts/gate-flows"): (
        STAFF,
        "/api/v1/charts/gate-flows?building=b1&since=2026-09-01T00:00:00Z&until=2026-09-02T00:00:00Z",
        None,
    ),
    ("GET", "/api/v1/charts/rooms"): (
        STAFF,
        "/api/v1/charts/rooms?building=b1&since=2026-09-01T00:00:00Z&until=2026-09-02T00:00:00Z",
        None,
    ),
    ("GET", "/api/v1/duty/shifts"): (frozenset({C, A}), "/api/v1/duty/shifts", None),
    ("POST", "/api/v1/duty/shifts"): (
        frozenset({A}),
        "/api/v1/duty/shifts",
        {
            "building_id": "b1",
            "person_id": "p-c001",
            "starts_at": "2026-10-01T08:00:00+08:00",
            "ends_at": "2026-10-02T08:00:00+08:00",
        },
    ),
    ("GET", "/api/v1/duty/checks"): (frozenset({C, A}), "/api/v1/duty/checks", None),
    ("GET", "/api/v1/reports/late-returns"): (
        STAFF,
        "/api/v1/reports/late-returns?building=b1&night=2026-09-01",
        None,
    ),
    ("GET", "/api/v1/reports/not-returned"): (
        STAFF,
        "/api/v1/reports/not-returned?building=b1&night=2026-09-01",
        None,
    ),
    ("GET", "/api/v1/reports/not-seen"): (STAFF, "/api/v1/reports/not-seen?days=3", None),
    ("GET", "/api/v1/reports/duty-attendance"): (
        frozenset({A}),
        "/api/v1/reports/duty-attendance?since=2026-09-01T00:00:00Z&until=2026-09-02T00:00:00Z",
        None,
    ),
    ("GET", "/api/v1/ingest/stats"): (frozenset({X, A}), "/api/v1/ingest/stats", None),
    ("GET", "/api/v1/allowlists/{building_id}"): (
        frozenset({X, A}),
        "/api/v1/allowlists/b1",
        None,
    ),
    ("POST", "/api/v1/allowlists/{building_id}/publish"): (
        frozenset({A}),
        "/api/v1/allowlists/b1/publish",
        None,
    ),
    ("POST", "/api/v1/token-keys/rotate"): (frozenset({A}), "/api/v1/token-keys/rotate", None),
    ("GET", "/api/v1/audit"): (frozenset({A}), "/api/v1/audit", None),
    ("GET", "/api/v1/privacy/me/export"): (ALL, "/api/v1/privacy/me/export", None),
    ("GET", "/api/v1/privacy/people/{person_id}/export"): (
        frozenset({A}),
        "/api/v1/privacy/people/p-s0002/export",
        None,
    ),
    ("POST", "/api/v1/privacy/people/{person_id}/erase"): (
        frozenset({A}),
        "/api/v1/privacy/people/p-s0004/erase",
        None,
    ),
    # The dashboard's read-only aggregates (server/api/routes/dashboard.py).
    ("GET", "/api/v1/dashboard/campus"): (ALL, "/api/v1/dashboard/campus", None),
    ("GET", "/api/v1/dashboard/overview"): (STAFF, "/api/v1/dashboard/overview", None),
    ("GET", "/api/v1/dashboard/buildings/{building_id}/rooms"): (
        STAFF,
        "/api/v1/dashboard/buildings/b1/rooms",
        None,
    ),
    ("GET", "/api/v1/dashboard/gate-flows/hourly"): (
        STAFF,
        "/api/v1/dashboard/gate-flows/hourly?building=b1&since=2026-09-01T00:00:00Z"
        "&until=2026-09-02T00:00:00Z",
        None,
    ),
    ("GET", "/api/v1/dashboard/decisions"): (
        STAFF,
        "/api/v1/dashboard/decisions?building=b1",
        None,
    ),
    ("GET", "/api/v1/dashboard/duty"): (frozenset({C, A}), "/api/v1/dashboard/duty", None),
    ("GET", "/api/v1/dashboard/me/qr"): (ALL, "/api/v1/dashboard/me/qr", None),
    ("GET", "/api/v1/alerts"): (STAFF, "/api/v1/alerts", None),
    # Ends after DORM_ALERT_SSE_MAX_S (short in the fixture below).
    ("GET", "/api/v1/alerts/stream"): (STAFF, "/api/v1/alerts/stream", None),
    ("GET", "/api/v1/alerts/{alert_id}"): (STAFF, f"/api/v1/alerts/{ALERT}", None),
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): (
        STAFF,
        f"/api/v1/alerts/{ALERT}/acknowledge",
        {"note": "seen"},
    ),
    ("POST", "/api/v1/alerts/{alert_id}/assign"): (
        STAFF,
        f"/api/v1/alerts/{ALERT}/assign",
        {"assignee": "4"},
    ),
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): (
        STAFF,
        f"/api/v1/alerts/{ALERT}/resolve",
        {"note": "handled"},
    ),
}
#: Routes anyone may call (no bearer token).
PUBLIC: Final = {("POST", "/api/v1/login/access-token")}


@pytest.fixture
def api(
    database_url: str, tmp_path: Path, mosquitto: MosquittoBroker, building_id: str
) -> Iterator[SeededApi]:
    settings = make_settings(
        database_url,
        tmp_path,
        mqtt_enabled=True,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        # Listen to a building nobody publishes to: this test only sends commands.
        mqtt_topic_filter=f"dorm/v1/{building_id}/#",
        alert_sse_max_s=0.3,
    )
    with seeded_api(settings) as seeded:
        yield seeded


def test_the_matrix_covers_every_route(api: SeededApi) -> None:
    # FastAPI >= 0.16x keeps included routers as private wrapper objects in
    # ``app.routes``; the OpenAPI document is the public list of every route.
    schema = api.client.get("/openapi.json").json()
    routes = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert routes == set(MATRIX) | PUBLIC


@pytest.mark.parametrize("role", ["student", "counselor", "security", "admin"])
def test_every_route_allows_and_refuses_by_role(api: SeededApi, role: str) -> None:
    for (method, route), (allowed, path, body) in MATRIX.items():
        response = api.client.request(method, path, json=body, headers=api.headers(role))
        if role in allowed:
            assert response.status_code not in (401, 403), (route, role, response.text)
            assert response.status_code < 500, (route, role, response.text)
        else:
            assert response.status_code == 403, (route, role, response.text)
        unauthenticated = api.client.request(method, path, json=body)
        assert unauthenticated.status_code == 401, route
