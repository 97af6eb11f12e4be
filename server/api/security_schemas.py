"""Response models of the security and privacy routes (audit trail, data subject requests)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_user_id: int | None
    actor_role: str
    action: str
    resource: str
    subject_person_id: str | None
    scope: str
    purpose: str | None
    query: str | None
    status: int
    detail: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    #: pass back as ``before`` for the next (older) page; None on the last page
    next_before: int | None


class ErasureOut(BaseModel):
    """What an erasure removed (counts of rows) and what it kept."""

    person_id: str
    erased: dict[str, int]
    kept: list[str]
