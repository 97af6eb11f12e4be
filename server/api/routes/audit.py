"""The audit trail, for administrators: read only (no route changes it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import select

from protocol.ids import ID_PATTERN
from server.api.deps import AdminUser, SessionDep
from server.api.security_schemas import AuditEntryOut, AuditPage
from server.db import AuditEntry

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def list_audit(
    session: SessionDep,
    user: AdminUser,
    actor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    subject: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    action: Annotated[str | None, Query(pattern="^[a-z]{1,16}$")] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Newest first; pass ``next_before`` back as ``before`` for older records."""
    query = select(AuditEntry)
    if actor is not None:
        query = query.where(AuditEntry.actor_user_id == actor)
    if subject is not None:
        query = query.where(AuditEntry.subject_person_id == subject)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)).all()
    items = [AuditEntryOut.model_validate(row) for row in rows[:limit]]
    return AuditPage(items=items, next_before=items[-1].id if len(rows) > limit else None)
