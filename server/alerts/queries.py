"""Reading alerts for the API and the SSE snapshot: scope, filters, keyset pages."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.orm import Session

from rules.signals import Level
from server.alerts.errors import AlertError, AlertNotFoundError
from server.alerts.levels import can_see
from server.db import AlertHistoryRow, AlertRow

ACTIVE = ("open", "acknowledged")


class InvalidCursorError(AlertError, ValueError):
    """A ``cursor`` that no page of this API produced."""


@dataclass(frozen=True, slots=True)
class AlertFilter:
    status: str = "active"
    severity: str | None = None
    building: str | None = None
    rule: str | None = None


def in_scope(scope: frozenset[str] | None) -> ColumnElement[bool]:
    """SQL for :func:`server.alerts.levels.can_see`."""
    if scope is None:
        return true()
    return or_(AlertRow.building.in_(sorted(scope)), AlertRow.level == Level.CAMPUS.value)


def _ordered(query: Select[AlertRow]) -> Select[AlertRow]:
    return query.order_by(
        AlertRow.severity_rank.desc(), AlertRow.first_seen.asc(), AlertRow.id.asc()
    )


def encode_cursor(row: AlertRow) -> str:
    raw = json.dumps([row.severity_rank, row.first_seen.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after_cursor(cursor: str) -> ColumnElement[bool]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        rank, first_seen_iso, alert_id = json.loads(raw)
        first_seen = datetime.fromisoformat(first_seen_iso)
        if not isinstance(rank, int) or not isinstance(alert_id, str) or first_seen.tzinfo is None:
            raise TypeError("wrong cursor field types")
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursorError(f"invalid cursor: {exc}") from None
    return or_(
        AlertRow.severity_rank < rank,
        and_(AlertRow.severity_rank == rank, AlertRow.first_seen > first_seen),
        and_(
            AlertRow.severity_rank == rank,
            AlertRow.first_seen == first_seen,
            AlertRow.id > alert_id,
        ),
    )


def list_alerts(
    session: Session,
    scope: frozenset[str] | None,
    where: AlertFilter,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[AlertRow], str | None]:
    """One page, critical first then oldest first, and the cursor of the next (or None)."""
    statuses: Sequence[str] = ACTIVE if where.status == "active" else (where.status,)
    query = select(AlertRow).where(AlertRow.status.in_(statuses), in_scope(scope))
    if where.severity is not None:
        query = query.where(AlertRow.severity == where.severity)
    if where.building is not None:
        query = query.where(AlertRow.building == where.building)
    if where.rule is not None:
        query = query.where(AlertRow.rule == where.rule)
    if cursor is not None:
        query = query.where(_after_cursor(cursor))
    rows = list(session.scalars(_ordered(query).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1])
    return rows, None


def active_alerts(session: Session, scope: frozenset[str] | None) -> list[AlertRow]:
    """Every open or acknowledged alert the viewer sees (the SSE stream's first part)."""
    query = select(AlertRow).where(AlertRow.status.in_(ACTIVE), in_scope(scope))
    return list(session.scalars(_ordered(query)))


def alert_with_history(
    session: Session, alert_id: str, scope: frozenset[str] | None
) -> tuple[AlertRow, list[AlertHistoryRow]]:
    row = session.get(AlertRow, alert_id)
    if row is None or not can_see(scope, row.building, row.level):
        raise AlertNotFoundError(alert_id)
    history = session.scalars(
        select(AlertHistoryRow)
        .where(AlertHistoryRow.alert_id == alert_id)
        .order_by(AlertHistoryRow.at, AlertHistoryRow.id)
    )
    return row, list(history)
