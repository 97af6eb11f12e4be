"""Reads of personal data are recorded; refusals too; nobody can change the trail."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from server.db import AuditAppendOnlyError, AuditEntry, UserAccount
from tests.security.apiserver import any_database_url, api, api_any_db
from tests.server.apiclient import SeededApi

__all__ = ["any_database_url", "api", "api_any_db"]  # fixtures


def _user_id(api: SeededApi, username: str) -> int:
    with api.runtime.sessions() as session:
        user_id = session.scalar(select(UserAccount.id).where(UserAccount.username == username))
    assert user_id is not None
    return user_id


def _trail(api: SeededApi) -> list[AuditEntry]:
    with api.runtime.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_a_counselor_reading_a_students_history_is_recorded(api_any_db: SeededApi) -> None:
    api = api_any_db
    response = api.client.get(
        "/api/v1/access-events",
        params={"person": "p-s0001", "building": "b1"},
        headers={**api.headers("counselor"), "X-Access-Purpose": "late return follow-up"},
    )
    assert response.status_code == 200
    [entry] = _trail(api)
    assert entry.actor_user_id == _user_id(api, "counselor")
    assert entry.actor_role == "counselor"
    assert entry.action == "read"
    assert entry.subject_person_id == "p-s0001"
    assert entry.resource == "GET /api/v1/access-events (access history)"
    assert entry.scope == "counselor of b1"
    assert entry.purpose == "late return follow-up"
    assert entry.query is not None
    assert "person=p-s0001" in entry.query
    assert entry.status == 200


def test_a_student_reading_anothers_history_is_refused_and_recorded(
    api_any_db: SeededApi,
) -> None:
    api = api_any_db
    response = api.client.get(
        "/api/v1/access-events", params={"person": "p-s0025"}, headers=api.headers("student")
    )
    assert response.status_code == 403
    [entry] = _trail(api)
    assert entry.actor_user_id == _user_id(api, "student")
    assert entry.action == "refused"
    assert entry.subject_person_id == "p-s0025"
    assert entry.status == 403
    assert entry.scope == "student: own records (p-s0001)"


def test_reads_of_names_reports_and_duty_records_are_recorded(api: SeededApi) -> None:
    calls = [
        ("admin", "/api/v1/people/p-s0002", "p-s0002"),
        ("admin", "/api/v1/people", None),
        ("security", "/api/v1/reports/not-seen?days=3", None),
        ("counselor", "/api/v1/duty/checks", None),
    ]
    for user, path, _ in calls:
        assert api.client.get(path, headers=api.headers(user)).status_code == 200, path
    trail = _trail(api)
    assert [(e.actor_role, e.subject_person_id) for e in trail] == [
        (user, subject) for user, _, subject in calls
    ]
    assert all(e.action == "read" for e in trail)


def test_a_students_own_records_and_non_personal_routes_are_not_recorded(
    api: SeededApi,
) -> None:
    assert api.client.get("/api/v1/me/access-events", headers=api.headers("student")).is_success
    assert api.client.get("/api/v1/buildings", headers=api.headers("security")).is_success
    assert api.client.get("/api/v1/people").status_code == 401  # nobody identified
    assert _trail(api) == []


def test_admins_review_the_trail_others_may_not(api: SeededApi) -> None:
    api.client.get(
        "/api/v1/access-events", params={"person": "p-s0025"}, headers=api.headers("student")
    )
    api.client.get("/api/v1/people/p-s0003", headers=api.headers("admin"))
    for user in ("student", "counselor", "security"):
        assert api.client.get("/api/v1/audit", headers=api.headers(user)).status_code == 403
    page = api.client.get(
        "/api/v1/audit", params={"subject": "p-s0025"}, headers=api.headers("admin")
    )
    assert page.status_code == 200
    items = page.json()["items"]
    assert [(i["action"], i["subject_person_id"]) for i in items] == [("refused", "p-s0025")]
    # Reading the trail is itself recorded, and so are the refused attempts at it.
    actions = [(e.actor_role, e.action) for e in _trail(api) if "audit trail" in e.resource]
    assert actions == [
        ("student", "refused"),
        ("counselor", "refused"),
        ("security", "refused"),
        ("admin", "read"),
    ]


def test_no_route_can_change_the_trail(api: SeededApi) -> None:
    schema = api.client.get("/openapi.json").json()
    audit_paths = {path: set(item) for path, item in schema["paths"].items() if "audit" in path}
    assert audit_paths == {"/api/v1/audit": {"get"}}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = api.client.request(method, "/api/v1/audit", headers=api.headers("admin"))
        assert response.status_code == 405, method


def test_the_trail_is_append_only_in_the_orm_and_the_database(api_any_db: SeededApi) -> None:
    api = api_any_db
    api.client.get("/api/v1/people/p-s0002", headers=api.headers("admin"))
    [entry] = _trail(api)
    with api.runtime.sessions() as session:
        row = session.get(AuditEntry, entry.id)
        assert row is not None
        row.detail = "tampered"
        with pytest.raises(AuditAppendOnlyError):
            session.flush()
        session.rollback()
        row = session.get(AuditEntry, entry.id)
        session.delete(row)
        with pytest.raises(AuditAppendOnlyError):
            session.flush()
        session.rollback()
    # Below the ORM, the database's triggers refuse it.
    for statement in (
        update(AuditEntry).values(detail="tampered"),
        delete(AuditEntry),
    ):
        with api.runtime.engine.connect() as connection, pytest.raises(DBAPIError):
            connection.execute(statement)
    if api.runtime.engine.dialect.name == "postgresql":
        with api.runtime.engine.connect() as connection, pytest.raises(DBAPIError):
            connection.execute(text("TRUNCATE audit_log"))
    assert [e.detail for e in _trail(api)] == [None]
