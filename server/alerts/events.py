"""What the service tells its delivery sinks: one change of one alert."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from server.alerts.schemas import AlertOut


class Change(enum.StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    change: Change
    alert: AlertOut


class AlertEventSink(Protocol):
    """A delivery channel (SSE broadcaster, webhook). ``deliver`` must never block."""

    def deliver(self, event: AlertEvent) -> None: ...
