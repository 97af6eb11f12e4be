"""Writing audit records: one function every recorder (API middleware, jobs) goes through."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import AuditEntry, StaffBuilding, UserAccount
from server.security import Role, utcnow

log = logging.getLogger(__name__)

#: The role recorded for what the server does on its own (retention purges).
SYSTEM_ROLE = "system"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    action: str
    resource: str
    scope: str
    status: int = 200
    actor_user_id: int | None = None
    actor_role: str = SYSTEM_ROLE
    subject_person_id: str | None = None
    purpose: str | None = None
    query: str | None = None
    detail: str | None = None


def _clip(value: str | None, length: int) -> str | None:
    return None if value is None else value[:length]


def record(session: Session, entry: AuditRecord, at: datetime | None = None) -> AuditEntry:
    """Add one audit row to ``session`` (the caller commits)."""
    row = AuditEntry(
        at=at or utcnow(),
        actor_user_id=entry.actor_user_id,
        actor_role=entry.actor_role[:16],
        action=entry.action[:16],
        resource=entry.resource[:200],
        subject_person_id=_clip(entry.subject_person_id, 32),
        scope=entry.scope[:200],
        purpose=_clip(entry.purpose, 200),
        query=_clip(entry.query, 500),
        status=entry.status,
        detail=_clip(entry.detail, 500),
    )
    session.add(row)
    return row


def scope_of(session: Session, user: UserAccount) -> str:
    """The remit a user's access falls under, in words: the why-scope of a record."""
    if user.role in (Role.ADMIN, Role.SECURITY):
        return f"{user.role}: all buildings"
    if user.role == Role.COUNSELOR:
        buildings = sorted(
            session.scalars(
                select(StaffBuilding.building_id).where(StaffBuilding.person_id == user.person_id)
            )
        )
        return f"counselor of {', '.join(buildings) or 'no building'}"
    return f"{user.role}: own records ({user.person_id or 'no person'})"
