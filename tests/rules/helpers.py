"""Deterministic messages, a site and a clock for the rules tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    DeviceEvent,
    DeviceState,
    DeviceStatus,
    Direction,
    DoorEvent,
    DoorEventKind,
    DutyAction,
    DutyCheck,
    GatewayHealth,
    Heartbeat,
    Message,
    PassageCount,
    RoomTelemetry,
)
from rules.config import RulesConfig, default_config
from rules.context import (
    Booking,
    BuildingInfo,
    CurfewTimes,
    DeviceInfo,
    DutyShift,
    Leave,
    PersonInfo,
    RoomInfo,
    SiteContext,
)
from rules.engine import Engine
from rules.signals import AlertSignal, SignalKind

#: A Monday, 10:00 UTC (the site runs on UTC in these tests).
T0: Final = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
B: Final = "b1"
GATE: Final = "b1-gate-in"
KIOSK: Final = "b1-kiosk"
SENSOR: Final = "b1-room-0412"
DORM: Final = "b1-0412"
ACTIVITY: Final = "b1-act"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Ids:
    """ULID-shaped ids from a counter (digits are Crockford base32), sortable."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def __call__(self) -> str:
        return f"{next(self._n):026d}"


def site(
    *,
    shifts: Sequence[DutyShift] = (),
    leaves: Sequence[Leave] = (),
    bookings: Sequence[Booking] = (),
) -> SiteContext:
    curfews = {day: CurfewTimes(time(23, 0), time(6, 0)) for day in range(7)}
    return SiteContext.build(
        buildings=[BuildingInfo(B, gateway_id="b1-gw", curfews=curfews)],
        rooms=[
            RoomInfo(DORM, B, "4", "dorm", capacity=4, max_power_w=1500),
            RoomInfo(ACTIVITY, B, "1", "activity", capacity=30, max_power_w=3000),
        ],
        devices=[
            DeviceInfo(GATE, B, "gate"),
            DeviceInfo(KIOSK, B, "kiosk"),
            DeviceInfo(SENSOR, B, "room_sensor", DORM),
        ],
        persons=[
            PersonInfo("p-1", "student", B),
            PersonInfo("p-2", "student", B),
            PersonInfo("c-1", "staff", B),
        ],
        shifts=shifts,
        leaves=leaves,
        bookings=bookings,
    )


class Clock:
    """Processing time, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Harness:
    """An engine, a clock that follows the fed events, and every signal kept."""

    def __init__(
        self,
        ctx: SiteContext | None = None,
        config: RulesConfig | None = None,
        *,
        live: bool = True,
    ) -> None:
        self.ids = Ids()
        self.clock = Clock(T0)
        self.engine = Engine(ctx or site(), config or default_config(), clock=self.clock)
        self.signals: list[AlertSignal] = []
        self.seq = itertools.count()
        self.live = live

    def feed(self, *messages: Message, building: str = B) -> list[AlertSignal]:
        latest = max((m.ts for m in messages if hasattr(m, "ts")), default=self.clock.now)
        if self.live and latest > self.clock.now:
            self.clock.now = latest
        out = self.engine.observe([(building, m) for m in messages])
        self.signals.extend(out)
        return out

    def idle(self, seconds: float) -> list[AlertSignal]:
        """Processing time passes with nothing arriving."""
        self.clock.now += timedelta(seconds=seconds)
        out = self.engine.advance(self.clock.now)
        self.signals.extend(out)
        return out

    def raised(self, rule: str | None = None) -> list[AlertSignal]:
        return [
            s
            for s in self.signals
            if s.kind is SignalKind.RAISE and (rule is None or s.rule == rule)
        ]

    def cleared(self, rule: str) -> list[AlertSignal]:
        return [s for s in self.signals if s.kind is SignalKind.CLEAR and s.rule == rule]

    # -- messages ----------------------------------------------------------------

    def env(self, device: str, t: float, **extra: Any) -> dict[str, Any]:
        return {"id": self.ids(), "device": device, "seq": next(self.seq), "ts": at(t), **extra}

    def access(
        self,
        t: float,
        *,
        person: str | None = "p-1",
        granted: bool = True,
        direction: Direction = Direction.ENTRY,
        reason: AccessReason | None = None,
        card_ref: str | None = None,
        device: str = GATE,
        **extra: Any,
    ) -> AccessDecision:
        return AccessDecision(
            **self.env(device, t, **extra),
            direction=direction,
            credential=CredentialKind.CARD,
            decision=Decision.GRANTED if granted else Decision.DENIED,
            reason=reason or (AccessReason.OK if granted else AccessReason.UNKNOWN_CARD),
            person=person,
            card_ref=card_ref,
        )

    def door(self, t: float, kind: DoorEventKind, *, device: str = GATE, **extra: Any) -> DoorEvent:
        return DoorEvent(**self.env(device, t, **extra), kind=kind)

    def passages(
        self,
        t: float,
        count: int,
        *,
        grant_id: str | None = "0" * 25 + "9",
        direction: Direction = Direction.ENTRY,
    ) -> PassageCount:
        return PassageCount(
            **self.env(GATE, t), direction=direction, count=count, grant_id=grant_id
        )

    def sample(
        self,
        t: float,
        *,
        room: str = DORM,
        occupancy: int = 1,
        power_w: float = 100,
        temperature_c: float = 21,
        smoke: bool = False,
        **extra: Any,
    ) -> RoomTelemetry:
        return RoomTelemetry(
            **self.env(SENSOR, t, **extra),
            room=room,
            occupancy=occupancy,
            power_w=power_w,
            temperature_c=temperature_c,
            smoke=smoke,
        )

    def duty(self, t: float, action: DutyAction, person: str = "c-1") -> DutyCheck:
        return DutyCheck(**self.env(KIOSK, t), action=action, person=person)

    def heartbeat(
        self,
        t: float,
        *,
        device: str = SENSOR,
        depth: int = 0,
        offset_ms: int = 0,
        interval_s: float = 30,
        **extra: Any,
    ) -> Heartbeat:
        return Heartbeat(
            **self.env(device, t, **extra),
            software_version="1",
            config_version="1",
            allowlist_version=1,
            outbox_depth=depth,
            clock_offset_ms=offset_ms,
            uptime_s=t if t > 0 else 0,
            interval_s=interval_s,
        )

    def gateway(
        self, t: float, *, connected: bool = True, depth: int = 0, **extra: Any
    ) -> GatewayHealth:
        return GatewayHealth(
            **self.env("b1-gw", t, **extra),
            uptime_s=100,
            received=0,
            forwarded=0,
            duplicates=0,
            outbox_depth=depth,
            outbox_max=1000,
            uplink_connected=connected,
        )

    def state(self, t: float, status: DeviceStatus, device: str = SENSOR) -> DeviceState:
        return DeviceState(device=device, status=status, ts=at(t))


def ts_of(message: Message) -> datetime:
    assert isinstance(message, DeviceEvent | DeviceState)
    return message.ts


def keys(signals: Sequence[AlertSignal]) -> list[tuple[str, str, str, datetime, bool]]:
    """What identifies a signal, sorted (the order signals of different streams come out
    may differ; their content may not)."""
    return sorted((s.rule, s.subject, s.kind.value, s.event_time, s.delayed) for s in signals)
