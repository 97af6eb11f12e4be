"""What every rule is built on: its settings, its scope, and how it speaks.

A rule declares which message types it takes *on arrival* (stateless
verdicts on one event, decided at once for the lowest latency) and which it
takes *in order* (stateful verdicts, fed in event-time order by the stream
when the watermark passes the event). It emits :class:`AlertSignal` values
through the engine's :class:`Env`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from protocol.messages import Message
from rules.config import RuleSettings
from rules.signals import Action, AlertSignal, ParamValue, SignalKind

if TYPE_CHECKING:
    from rules.env import Env
    from rules.stream import Stream

S = TypeVar("S", bound=RuleSettings)

#: ``handler(building, message, ts_s, stream)``; ``stream`` is None on arrival.
Handler = Callable[[str, Any, float, "Stream | None"], None]


def to_datetime(ts_s: float) -> datetime:
    return datetime.fromtimestamp(ts_s, UTC)


class Rule(Generic[S]):
    #: The rule id (fixed: the alert service and the dashboards use it).
    id: ClassVar[str]
    #: The stream kind whose timers and order the rule uses.
    stream_kind: ClassVar[str]
    #: message type -> method name, evaluated once per event when it arrives.
    on_arrival: ClassVar[Mapping[type[Message], str]] = {}
    #: message type -> method name, evaluated in event-time order.
    in_order: ClassVar[Mapping[type[Message], str]] = {}

    def __init__(self, settings: S, env: Env) -> None:
        self.settings = settings
        self.env = env
        self.alive = True

    def configure(self, settings: S) -> None:
        """New settings on reload; the rule's state is kept."""
        self.settings = settings

    def applies_to(self, building: str) -> bool:
        scope = self.settings.buildings
        return scope is None or building in scope

    def handlers(self, message_type: type[Message], *, arrival: bool) -> Handler | None:
        name = (self.on_arrival if arrival else self.in_order).get(message_type)
        if name is None:
            return None
        handler: Handler = getattr(self, name)
        return handler

    # -- hooks ---------------------------------------------------------------------

    def start(self, stream: Stream) -> None:
        """The stream's watermark became known: schedule calendar timers from it."""

    def context_changed(self) -> None:
        """The site context was replaced (new shifts, rooms, leaves…)."""

    # -- speaking ------------------------------------------------------------------

    def signal(
        self,
        kind: SignalKind,
        subject: str,
        building: str,
        ts_s: float,
        *,
        replayed: bool,
        room: str | None = None,
        message: str = "",
        params: Mapping[str, ParamValue] | None = None,
        evidence: tuple[str, ...] = (),
        actions: tuple[Action, ...] = (),
    ) -> None:
        env = self.env
        floor = None
        if room is not None:
            info = env.ctx.rooms.get(room)
            floor = info.floor if info is not None else None
        env.emit(
            AlertSignal(
                rule=self.id,
                subject=subject,
                kind=kind,
                severity=self.settings.severity,
                level=self.settings.level,
                event_time=to_datetime(ts_s),
                building=building,
                floor=floor,
                room=room,
                delayed=env.is_delayed(ts_s, replayed),
                message=message,
                params=params or {},
                evidence=evidence,
                actions=actions,
            )
        )

    def raise_(self, subject: str, building: str, ts_s: float, **kwargs: Any) -> None:
        self.signal(SignalKind.RAISE, subject, building, ts_s, **kwargs)

    def clear(self, subject: str, building: str, ts_s: float, **kwargs: Any) -> None:
        self.signal(SignalKind.CLEAR, subject, building, ts_s, **kwargs)


def door_subject(device: str, door: str) -> str:
    return f"door:{device}/{door}"
