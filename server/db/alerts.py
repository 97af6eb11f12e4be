"""Alerts with their lifecycle, their history, and the signals merged into them.

At most one alert per ``(rule, subject)`` is not resolved: a unique *partial*
index (``WHERE status != 'resolved'``, on SQLite and PostgreSQL) makes the
database the judge when two workers open the same incident at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base
from server.db.places import ID_LEN

ULID_LEN: Final = 26
#: The predicate of the partial unique index, the same text on both databases.
NOT_RESOLVED: Final = "status != 'resolved'"


class AlertRow(Base):
    """One incident: what the dashboard lists (AlertOut) plus ordering and action state."""

    __tablename__ = "alert"
    __table_args__ = (
        Index(
            "uq_alert_rule_subject_unresolved",
            "rule",
            "subject",
            unique=True,
            sqlite_where=text(NOT_RESOLVED),
            postgresql_where=text(NOT_RESOLVED),
        ),
        Index("ix_alert_status_order", "status", "severity_rank", "first_seen"),
    )

    id: Mapped[str] = mapped_column(String(ULID_LEN), primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    severity: Mapped[str] = mapped_column(String(8))
    #: 3 = critical … 0 = info: the list is ordered by it (descending).
    severity_rank: Mapped[int] = mapped_column(SmallInteger)
    level: Mapped[str] = mapped_column(String(8))
    start_level: Mapped[str] = mapped_column(String(8))
    #: open, acknowledged or resolved.
    status: Mapped[str] = mapped_column(String(16))
    building: Mapped[str | None] = mapped_column(String(ID_LEN), index=True)
    floor: Mapped[str | None] = mapped_column(String(ID_LEN))
    room: Mapped[str | None] = mapped_column(String(ID_LEN))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    count: Mapped[int]
    delayed: Mapped[bool]
    message: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    opened_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    assignee: Mapped[str | None] = mapped_column(String(64))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))
    escalated_at: Mapped[datetime | None]
    #: When the alert's actions (fire release) were carried out; set once.
    actions_done_at: Mapped[datetime | None]


class AlertHistoryRow(Base):
    """Who did what to an alert, when, at which level (opened, acknowledged, escalated …)."""

    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alert.id"), index=True)
    at: Mapped[datetime]
    #: A user id, or ``system``.
    by: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    level: Mapped[str] = mapped_column(String(8))


class AlertSignalRow(Base):
    """Every raise signal merged into an alert, by its fingerprint: a repeat is ignored."""

    __tablename__ = "alert_signal"

    #: sha256 of rule, subject, event time and evidence ids (server.alerts.fingerprint).
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alert.id"), index=True)
    event_time: Mapped[datetime]
