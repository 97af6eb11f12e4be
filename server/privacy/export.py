"""Everything the server holds about one person, as JSON-ready records or CSV.

Sections: the profile (with name and number), the login, credentials (a card
is listed by id and status, never by its keyed hash), building access, access
events, door events, duty checks and shifts (staff), and current presence.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import (
    AccessEvent,
    BuildingAccess,
    Credential,
    DoorEventRow,
    DutyCheckRow,
    DutyShift,
    Person,
    PersonPrivate,
    Presence,
    UserAccount,
)

Record = dict[str, Any]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def export_records(session: Session, person: Person) -> dict[str, Any]:
    """The person's records by section; values are JSON types (times as ISO 8601)."""
    private = session.get(PersonPrivate, person.id)
    login = session.scalar(select(UserAccount).where(UserAccount.person_id == person.id))
    pid = person.id
    return {
        "profile": {
            "person_id": pid,
            "kind": person.kind,
            "status": person.status,
            "home_building": person.home_building_id,
            "room": person.room_id,
            "full_name": None if private is None else private.full_name,
            "number": None if private is None else private.number,
        },
        "login": None
        if login is None
        else {"username": login.username, "role": login.role, "active": login.active},
        "credentials": [
            {
                "id": c.id,
                "kind": c.kind,
                "status": c.status,
                "valid_from": _iso(c.valid_from),
                "valid_until": _iso(c.valid_until),
                "revoked_at": _iso(c.revoked_at),
            }
            for c in session.scalars(
                select(Credential).where(Credential.person_id == pid).order_by(Credential.id)
            )
        ],
        "building_access": [
            {
                "building": a.building_id,
                "valid_from": _iso(a.valid_from),
                "valid_until": _iso(a.valid_until),
            }
            for a in session.scalars(
                select(BuildingAccess)
                .where(BuildingAccess.person_id == pid)
                .order_by(BuildingAccess.building_id)
            )
        ],
        "access_events": [
            {
                "time": _iso(e.ts),
                "building": e.building_id,
                "device": e.device_id,
                "direction": e.direction,
                "credential": e.credential,
                "decision": e.decision,
                "reason": e.reason,
                "event_id": e.event_id,
            }
            for e in session.scalars(
                select(AccessEvent).where(AccessEvent.person_id == pid).order_by(AccessEvent.ts)
            )
        ],
        "door_events": [
            {
                "time": _iso(e.ts),
                "building": e.building_id,
                "device": e.device_id,
                "kind": e.kind,
                "event_id": e.event_id,
            }
            for e in session.scalars(
                select(DoorEventRow).where(DoorEventRow.person_id == pid).order_by(DoorEventRow.ts)
            )
        ],
        "duty_checks": [
            {
                "time": _iso(e.ts),
                "building": e.building_id,
                "device": e.device_id,
                "action": e.action,
                "room": e.room_id,
                "event_id": e.event_id,
            }
            for e in session.scalars(
                select(DutyCheckRow).where(DutyCheckRow.person_id == pid).order_by(DutyCheckRow.ts)
            )
        ],
        "duty_shifts": [
            {"building": s.building_id, "starts_at": _iso(s.starts_at), "ends_at": _iso(s.ends_at)}
            for s in session.scalars(
                select(DutyShift).where(DutyShift.person_id == pid).order_by(DutyShift.starts_at)
            )
        ],
        "presence": [
            {"building": p.building_id, "state": p.state, "since": _iso(p.since)}
            for p in session.scalars(select(Presence).where(Presence.person_id == pid))
        ],
    }


CSV_COLUMNS = ("section", "time", "building", "field", "value")


def export_csv(records: dict[str, Any]) -> str:
    """One row per field: ``section, time, building, field, value`` (spreadsheet friendly)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for section, content in records.items():
        rows: list[Record] = (
            [] if content is None else [content] if isinstance(content, dict) else content
        )
        for row in rows:
            time = row.get("time") or row.get("since") or row.get("starts_at") or ""
            building = row.get("building") or row.get("home_building") or ""
            for field, value in row.items():
                if field in ("time", "building"):
                    continue
                writer.writerow((section, time, building, field, "" if value is None else value))
    return out.getvalue()
