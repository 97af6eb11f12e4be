"""The JSON shape of an alert (AlertOut), shared by the REST routes, the SSE stream and the webhook.

It lives here, not in server/api/, because the service builds it and
``server.api`` imports the runtime, which owns the service (an import cycle);
server/api/alert_schemas.py re-exports it with the request models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SeverityName = Literal["info", "warning", "major", "critical"]
LevelName = Literal["room", "floor", "building", "campus"]
StatusName = Literal["open", "acknowledged", "resolved"]


class AlertOut(BaseModel):
    """One alert as the dashboard, the SSE stream and the webhook see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    rule: str
    subject: str
    severity: SeverityName
    level: LevelName
    start_level: LevelName
    status: StatusName
    building: str | None
    floor: str | None
    room: str | None
    first_seen: datetime
    last_seen: datetime
    count: int
    delayed: bool
    message: str
    params: dict[str, Any]
    opened_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    assignee: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None
    escalated_at: datetime | None


class AlertHistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    by: str
    action: str
    note: str | None
    level: LevelName
