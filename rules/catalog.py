"""Every rule, in the fixed order the engine runs them."""

from __future__ import annotations

from typing import Any, Final

from rules.access_rules import (
    AntiPassback,
    DeniedBurstCredential,
    DeniedBurstGate,
    LateReturn,
    QrReplay,
)
from rules.base import Rule
from rules.door_rules import DoorForced, DoorHeldOpenRule, DoorNotUsed, TailgatingRule
from rules.duty_rules import DutyCoverageGapRule, DutyMissedCheckinRule
from rules.health_rules import ClockSkewRule, DeviceOfflineRule, OutboxNearFullRule
from rules.presence_rules import NotReturnedRule, NotSeenRule
from rules.room_rules import (
    ActivityRoomMisuse,
    ApplianceStepRule,
    PowerOverLimit,
    RoomOverCapacity,
    Smoke,
    TemperatureHighRule,
)

RULE_CLASSES: Final[tuple[type[Rule[Any]], ...]] = (
    DoorForced,
    DoorHeldOpenRule,
    DoorNotUsed,
    TailgatingRule,
    DeniedBurstGate,
    DeniedBurstCredential,
    QrReplay,
    AntiPassback,
    LateReturn,
    NotReturnedRule,
    NotSeenRule,
    RoomOverCapacity,
    ActivityRoomMisuse,
    PowerOverLimit,
    ApplianceStepRule,
    Smoke,
    TemperatureHighRule,
    DutyMissedCheckinRule,
    DutyCoverageGapRule,
    DeviceOfflineRule,
    OutboxNearFullRule,
    ClockSkewRule,
)
