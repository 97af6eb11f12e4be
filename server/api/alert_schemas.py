"""Request and response models of the alert routes (the contract in docs/alerts.md).

AlertOut itself is defined in server.alerts.schemas (the service builds it) and
re-exported here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from rules.signals import RuleId
from server.alerts.schemas import AlertHistoryOut, AlertOut, LevelName, SeverityName, StatusName

StatusFilter = Literal["active", "open", "acknowledged", "resolved"]


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("control characters are not allowed")
    return value


Note = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_printable)]


class AlertDetailOut(AlertOut):
    history: list[AlertHistoryOut]


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class AcknowledgeIn(BaseModel):
    note: Note | None = None


class AssignIn(BaseModel):
    #: A user id (``user_account.id``) of a counselor, security guard or admin.
    assignee: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,8}$")]


class ResolveIn(BaseModel):
    note: Note


__all__ = [
    "AcknowledgeIn",
    "AlertDetailOut",
    "AlertHistoryOut",
    "AlertOut",
    "AlertPage",
    "AssignIn",
    "LevelName",
    "ResolveIn",
    "RuleId",
    "SeverityName",
    "StatusFilter",
    "StatusName",
]
