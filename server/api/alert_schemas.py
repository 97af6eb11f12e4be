"""Request and response models of the alert routes (the contract in docs/alerts.md).

AlertOut itself is defined in server.alerts.schemas (the service builds it) and
re-exported here.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, Field

from server.alerts.schemas import AlertHistoryOut, AlertOut, LevelName, SeverityName, StatusName

RuleId = Literal[
    "door_forced",
    "door_held_open",
    "door_not_used",
    "tailgating",
    "denied_burst_gate",
    "denied_burst_credential",
    "qr_replay",
    "anti_passback",
    "late_return",
    "not_returned",
    "not_seen",
    "room_over_capacity",
    "activity_room_misuse",
    "power_over_limit",
    "appliance_step",
    "smoke",
    "temperature_high",
    "duty_missed_checkin",
    "duty_coverage_gap",
    "device_offline",
    "outbox_near_full",
    "clock_skew",
]
StatusFilter = Literal["active", "open", "acknowledged", "resolved"]

#: The fixed rule ids of the engine (issue 6).
RULE_IDS: Final[tuple[str, ...]] = get_args(RuleId)


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
    "RULE_IDS",
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
