"""The audit trail: who read whose personal data, when, and under what scope.

Append-only: rows are only ever inserted. The ORM refuses to update or delete
one (:class:`AuditAppendOnlyError`), the migration adds database triggers that
refuse it too (SQLite and PostgreSQL), and no API route can change it.
Nothing here is personal data itself: the actor is a user account id, the
subject a pseudonymous person id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from server.db.base import Base


class AuditAppendOnlyError(RuntimeError):
    """An attempt to change or delete an audit record."""


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    #: the user account that acted (no foreign key: the record outlives the login)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: the actor's role at the time (student, counselor, security, admin, system)
    actor_role: Mapped[str] = mapped_column(String(16))
    #: read, refused, export, erase, purge
    action: Mapped[str] = mapped_column(String(16))
    #: what was read: the API route (``GET /api/v1/access-events``) or the job
    resource: Mapped[str] = mapped_column(String(200))
    #: whose data, when the request names one person (pseudonymous id)
    subject_person_id: Mapped[str | None] = mapped_column(String(32), index=True)
    #: why-scope: the remit the access fell under (``counselor of b1``, ``admin: all``)
    scope: Mapped[str] = mapped_column(String(200))
    #: the purpose the client declared (``X-Access-Purpose`` header), if any
    purpose: Mapped[str | None] = mapped_column(String(200))
    #: the request's query string (filters: building, person, time range)
    query: Mapped[str | None] = mapped_column(String(500))
    #: the HTTP status answered (403: refused)
    status: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(500))


def _refuse(mapper: Mapper[Any], connection: Any, target: AuditEntry) -> None:
    raise AuditAppendOnlyError(f"audit record {target.id} cannot be changed or deleted")


event.listen(AuditEntry, "before_update", _refuse)
event.listen(AuditEntry, "before_delete", _refuse)
