"""Data subject requests: a student's own export (JSON, CSV); erasure of a departed student."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from protocol.messages import Direction
from server.db import (
    AccessEvent,
    AuditEntry,
    Credential,
    GateFlowMinute,
    Person,
    PersonPrivate,
    UserAccount,
)
from server.ingest import IngestStats
from server.ingest.writer import BatchWriter
from server.rollups import DirtyMinutes, refresh
from tests.security.apiserver import api
from tests.server.apiclient import SeededApi
from tests.server.factories import access_event, wire

__all__ = ["api"]

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


def _ingest_history(api: SeededApi) -> None:
    """Some gate passages of p-s0001 (the 'student' login) and p-s0002, rolled up."""
    rng = random.Random(3)
    events = []
    for i in range(4):
        for n, person in enumerate(("p-s0001", "p-s0002")):
            direction = Direction.ENTRY if i % 2 == 0 else Direction.EXIT
            gate = "b1-gate-in" if direction is Direction.ENTRY else "b1-gate-out"
            at = T0 + timedelta(hours=i, seconds=n)
            events.append(
                access_event(gate, 2 * i + n, rng, person=person, direction=direction, at=at)
            )
    dirty = DirtyMinutes()
    BatchWriter(api.runtime.engine, IngestStats(), observer=dirty.observe).write(
        [wire("b1", e) for e in events]
    )
    refresh(api.runtime.sessions, dirty)


def test_a_student_exports_their_own_records_as_json(api: SeededApi) -> None:
    _ingest_history(api)
    response = api.client.get("/api/v1/privacy/me/export", headers=api.headers("student"))
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    records = response.json()
    assert records["profile"]["person_id"] == "p-s0001"
    assert records["profile"]["full_name"] == "Student 0001"
    assert records["profile"]["number"] == "S20260001"
    assert records["login"] == {"username": "student", "role": "student", "active": True}
    assert [a["building"] for a in records["building_access"]] == ["b1"]
    assert len(records["access_events"]) == 4
    assert {e["direction"] for e in records["access_events"]} == {"entry", "exit"}
    assert records["credentials"]
    assert all("card_hash" not in c for c in records["credentials"])
    # Nobody else's data is in it.
    assert "Student 0002" not in response.text
    assert "p-s0002" not in response.text


def test_a_student_exports_their_own_records_as_csv(api: SeededApi) -> None:
    _ingest_history(api)
    response = api.client.get(
        "/api/v1/privacy/me/export", params={"format": "csv"}, headers=api.headers("student")
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {"section", "time", "building", "field", "value"} == set(rows[0])
    profile = {r["field"]: r["value"] for r in rows if r["section"] == "profile"}
    assert profile["full_name"] == "Student 0001"
    decisions = [r for r in rows if r["section"] == "access_events" and r["field"] == "decision"]
    assert len(decisions) == 4
    assert all(r["building"] == "b1" and r["time"] for r in decisions)
    assert "p-s0002" not in response.text


def test_an_admin_erases_a_departed_student_and_the_aggregates_stay(api: SeededApi) -> None:
    _ingest_history(api)
    admin = api.headers("admin")
    with api.runtime.sessions() as session:
        flows_before = [
            (r.building_id, r.minute, r.entries, r.exits, r.denied)
            for r in session.scalars(select(GateFlowMinute).order_by(GateFlowMinute.minute))
        ]
        events_before = session.scalar(select(func.count()).select_from(AccessEvent))
    # Not yet departed: refused.
    refused = api.client.post("/api/v1/privacy/people/p-s0002/erase", headers=admin)
    assert refused.status_code == 409
    assert api.client.post("/api/v1/people/p-s0002/revoke", headers=admin).status_code == 200
    response = api.client.post("/api/v1/privacy/people/p-s0002/erase", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["person_id"] == "p-s0002"
    assert body["erased"]["access_event (anonymised)"] == 4
    assert body["erased"]["person_private"] == 1
    assert body["erased"]["person"] == 1

    with api.runtime.sessions() as session:
        assert session.get(Person, "p-s0002") is None
        assert session.get(PersonPrivate, "p-s0002") is None
        assert not list(
            session.scalars(select(Credential).where(Credential.person_id == "p-s0002"))
        )
        assert (
            session.scalar(
                select(func.count())
                .select_from(AccessEvent)
                .where(AccessEvent.person_id == "p-s0002")
            )
            == 0
        )
        # The events stay, anonymous; the aggregates are exactly as before.
        assert session.scalar(select(func.count()).select_from(AccessEvent)) == events_before
        assert (
            session.scalar(
                select(func.count()).select_from(AccessEvent).where(AccessEvent.person_id.is_(None))
            )
            == 4
        )
        flows_after = [
            (r.building_id, r.minute, r.entries, r.exits, r.denied)
            for r in session.scalars(select(GateFlowMinute).order_by(GateFlowMinute.minute))
        ]
        # The other student is untouched.
        assert session.get(PersonPrivate, "p-s0001") is not None
        assert session.scalar(select(UserAccount).where(UserAccount.username == "student"))
        erasures = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "erase")))
    assert flows_after == flows_before
    assert [(e.subject_person_id, e.actor_role) for e in erasures] == [("p-s0002", "admin")]
    assert api.client.get("/api/v1/people/p-s0002", headers=admin).status_code == 404
    again = api.client.post("/api/v1/privacy/people/p-s0002/erase", headers=admin)
    assert again.status_code == 404


def test_an_admin_export_on_request_is_audited_and_students_may_not(api: SeededApi) -> None:
    path = "/api/v1/privacy/people/p-s0001/export"
    assert api.client.get(path, headers=api.headers("student")).status_code == 403
    assert api.client.get(path, headers=api.headers("admin")).status_code == 200
    with api.runtime.sessions() as session:
        trail = [
            (e.actor_role, e.action, e.subject_person_id)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    assert trail == [("student", "refused", "p-s0001"), ("admin", "read", "p-s0001")]
