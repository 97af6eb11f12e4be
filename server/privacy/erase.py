"""Erasure of a departed person's personal data, keeping the anonymous aggregates.

Deleted: the name and number (``person_private``), the login, credentials
(card hashes), building grants, staff assignments, duty shifts and checks,
current presence, and finally the person row itself. Access and door events
stay as anonymous events (their ``person_id`` set to NULL), so the
per-minute gate flows and room rollups, and any count over the events, are
unchanged. The audit trail is kept as it is (it holds the pseudonymous id
only, which no longer leads anywhere), and the erasure is itself recorded.

Only a revoked person (departed, no longer on any allowlist) can be erased.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from server.audit.recorder import AuditRecord, record, scope_of
from server.db import (
    AccessEvent,
    BuildingAccess,
    CommandRow,
    Credential,
    DoorEventRow,
    DutyCheckRow,
    DutyShift,
    Person,
    PersonPrivate,
    Presence,
    StaffBuilding,
    UserAccount,
)

KEPT = [
    "access and door events, anonymised (person removed)",
    "per-minute gate flows and room rollups",
    "the audit trail (pseudonymous id only)",
]


class ErasureError(ValueError):
    """A person who cannot be erased (yet)."""


def erase_person(session: Session, person: Person, actor: UserAccount) -> dict[str, int]:
    """Erase ``person``'s personal data (the caller commits); counts of rows by table."""
    if person.status != "revoked":
        raise ErasureError("revoke the person first: only a departed person can be erased")
    pid = person.id
    logins = list(session.scalars(select(UserAccount.id).where(UserAccount.person_id == pid)))
    counts: dict[str, int] = {}

    def run(name: str, statement: Executable) -> None:
        result = cast(CursorResult[Any], session.execute(statement))
        counts[name] = int(result.rowcount or 0)

    run(
        "access_event (anonymised)",
        update(AccessEvent).where(AccessEvent.person_id == pid).values(person_id=None),
    )
    run(
        "door_event (anonymised)",
        update(DoorEventRow).where(DoorEventRow.person_id == pid).values(person_id=None),
    )
    run("duty_check", delete(DutyCheckRow).where(DutyCheckRow.person_id == pid))
    run("duty_shift", delete(DutyShift).where(DutyShift.person_id == pid))
    run("presence", delete(Presence).where(Presence.person_id == pid))
    run("credential", delete(Credential).where(Credential.person_id == pid))
    run("building_access", delete(BuildingAccess).where(BuildingAccess.person_id == pid))
    run("staff_building", delete(StaffBuilding).where(StaffBuilding.person_id == pid))
    if logins:
        # Commands the login issued stay as operational records, without the issuer.
        session.execute(
            update(CommandRow)
            .where(CommandRow.issuer_user_id.in_(logins))
            .values(issuer_user_id=None)
        )
    run("user_account", delete(UserAccount).where(UserAccount.person_id == pid))
    run("person_private", delete(PersonPrivate).where(PersonPrivate.person_id == pid))
    session.expunge(person)
    run("person", delete(Person).where(Person.id == pid))
    record(
        session,
        AuditRecord(
            action="erase",
            resource="POST /api/v1/privacy/people/{person_id}/erase",
            scope=scope_of(session, actor),
            actor_user_id=actor.id,
            actor_role=actor.role,
            subject_person_id=pid,
            detail="; ".join(f"{name}: {n}" for name, n in counts.items()),
        ),
    )
    return counts
