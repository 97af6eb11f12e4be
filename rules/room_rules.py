"""Rooms: capacity, activity-room use, power, appliance steps, smoke, temperature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocol.messages import RoomTelemetry
from rules.base import Rule, to_datetime
from rules.config import ActivityRoom, ApplianceStep, ForDuration, RuleSettings, TemperatureHigh
from rules.env import Env
from rules.signals import Action
from rules.stream import ROOM, Stream


@dataclass(slots=True)
class _Episode:
    """A condition on a room: since when it holds, whether it was raised."""

    since_s: float
    evidence: str
    raised: bool = False


class _Sustained(Rule[ForDuration]):
    """A condition that must hold for ``for_s`` before it is raised; clears when it ends."""

    stream_kind = ROOM
    in_order: ClassVar = {RoomTelemetry: "on_sample"}

    def __init__(self, settings: ForDuration, env: Env) -> None:
        super().__init__(settings, env)
        self._episodes: dict[str, _Episode] = {}

    def over(self, msg: RoomTelemetry) -> tuple[bool, dict[str, float | int]] | None:
        raise NotImplementedError

    def describe(self, room: str) -> str:
        raise NotImplementedError

    def on_sample(
        self, building: str, msg: RoomTelemetry, ts: float, stream: Stream | None
    ) -> None:
        assert stream is not None
        verdict = self.over(msg)
        if verdict is None:
            return
        over, params = verdict
        room = msg.room
        episode = self._episodes.get(room)
        if over:
            if episode is None:
                episode = self._episodes[room] = _Episode(ts, msg.id)
                if self.settings.for_s > 0:
                    self.env.schedule(stream, ts + self.settings.for_s, self._due, room, episode)
            if not episode.raised and ts - episode.since_s >= self.settings.for_s:
                self._raise(building, room, episode, ts, msg.replayed, params)
        elif episode is not None:
            del self._episodes[room]
            if episode.raised:
                self.clear(
                    f"room:{room}",
                    building,
                    ts,
                    replayed=msg.replayed,
                    room=room,
                    message=f"{self.describe(room)} ended",
                    params=params,
                    evidence=(msg.id,),
                )

    def _due(self, stream: Stream, room: str, token: _Episode, at_s: float) -> None:
        if self._episodes.get(room) is token and not token.raised:
            self._raise(stream.building, room, token, at_s, stream.advanced_by_replay, {})

    def _raise(
        self,
        building: str,
        room: str,
        episode: _Episode,
        ts: float,
        replayed: bool,
        params: dict[str, float | int],
    ) -> None:
        episode.raised = True
        self.raise_(
            f"room:{room}",
            building,
            ts,
            replayed=replayed,
            room=room,
            message=f"{self.describe(room)} for {self.settings.for_s:g} s",
            params={**params, "for_s": self.settings.for_s},
            evidence=(episode.evidence,),
        )


class RoomOverCapacity(_Sustained):
    id = "room_over_capacity"

    def over(self, msg: RoomTelemetry) -> tuple[bool, dict[str, float | int]] | None:
        info = self.env.ctx.rooms.get(msg.room)
        if info is None:
            return None
        return msg.occupancy > info.capacity, {
            "occupancy": msg.occupancy,
            "capacity": info.capacity,
        }

    def describe(self, room: str) -> str:
        return f"room {room} over capacity"


class PowerOverLimit(_Sustained):
    id = "power_over_limit"

    def over(self, msg: RoomTelemetry) -> tuple[bool, dict[str, float | int]] | None:
        info = self.env.ctx.rooms.get(msg.room)
        if info is None:
            return None
        return msg.power_w > info.max_power_w, {
            "power_w": msg.power_w,
            "max_power_w": info.max_power_w,
        }

    def describe(self, room: str) -> str:
        return f"room {room} over its power limit"


class ActivityRoomMisuse(Rule[ActivityRoom]):
    """An activity room occupied outside opening hours or without a booking."""

    id = "activity_room_misuse"
    stream_kind = ROOM
    in_order: ClassVar = {RoomTelemetry: "on_sample"}

    def __init__(self, settings: ActivityRoom, env: Env) -> None:
        super().__init__(settings, env)
        self._raised: set[str] = set()

    def on_sample(
        self, building: str, msg: RoomTelemetry, ts: float, stream: Stream | None
    ) -> None:
        ctx = self.env.ctx
        info = ctx.rooms.get(msg.room)
        if info is None or info.kind != "activity":
            return
        room = msg.room
        reason = None
        if msg.occupancy > 0:
            moment = to_datetime(ts)
            local = moment.astimezone(ctx.tz).time()
            if not self.settings.opens <= local < self.settings.closes:
                reason = "outside_hours"
            elif self.settings.require_booking and not ctx.booked(room, moment):
                reason = "not_booked"
        if reason is not None and room not in self._raised:
            self._raised.add(room)
            self.raise_(
                f"room:{room}",
                building,
                ts,
                replayed=msg.replayed,
                room=room,
                message=f"activity room {room} occupied ({reason.replace('_', ' ')})",
                params={"reason": reason, "occupancy": msg.occupancy},
                evidence=(msg.id,),
            )
        elif msg.occupancy == 0 and room in self._raised:
            self._raised.discard(room)
            self.clear(
                f"room:{room}",
                building,
                ts,
                replayed=msg.replayed,
                room=room,
                message=f"activity room {room} empty",
                evidence=(msg.id,),
            )


class ApplianceStepRule(Rule[ApplianceStep]):
    """Power rose by more than ``step_w`` from one sample to the next (a kettle, a heater)."""

    id = "appliance_step"
    stream_kind = ROOM
    in_order: ClassVar = {RoomTelemetry: "on_sample"}

    def __init__(self, settings: ApplianceStep, env: Env) -> None:
        super().__init__(settings, env)
        self._last: dict[str, float] = {}

    def on_sample(
        self, building: str, msg: RoomTelemetry, ts: float, stream: Stream | None
    ) -> None:
        previous = self._last.get(msg.room)
        self._last[msg.room] = msg.power_w
        if previous is not None and msg.power_w - previous > self.settings.step_w:
            self.raise_(
                f"room:{msg.room}",
                building,
                ts,
                replayed=msg.replayed,
                room=msg.room,
                message=f"power in {msg.room} rose by {msg.power_w - previous:.0f} W at once",
                params={"step_w": round(msg.power_w - previous, 1), "power_w": msg.power_w},
                evidence=(msg.id,),
            )


class Smoke(Rule[RuleSettings]):
    """Smoke in a room: critical, decided on arrival, and the building fire-releases.

    Every smoke sample raises (the alert service folds them into one open
    alert); there is no automatic clear: people confirm a fire is out.
    """

    id = "smoke"
    stream_kind = ROOM
    on_arrival: ClassVar = {RoomTelemetry: "on_sample"}

    def on_sample(
        self, building: str, msg: RoomTelemetry, ts: float, stream: Stream | None
    ) -> None:
        if msg.smoke:
            self.raise_(
                f"room:{msg.room}",
                building,
                ts,
                replayed=msg.replayed,
                room=msg.room,
                message=f"smoke in room {msg.room}",
                params={"temperature_c": msg.temperature_c},
                evidence=(msg.id,),
                actions=(Action.FIRE_RELEASE,),
            )


class TemperatureHighRule(Rule[TemperatureHigh]):
    """Temperature at or above ``above_c``; clears below ``clear_below_c``."""

    id = "temperature_high"
    stream_kind = ROOM
    in_order: ClassVar = {RoomTelemetry: "on_sample"}

    def __init__(self, settings: TemperatureHigh, env: Env) -> None:
        super().__init__(settings, env)
        self._raised: set[str] = set()

    def on_sample(
        self, building: str, msg: RoomTelemetry, ts: float, stream: Stream | None
    ) -> None:
        room = msg.room
        if msg.temperature_c >= self.settings.above_c:
            if room not in self._raised:
                self._raised.add(room)
                self.raise_(
                    f"room:{room}",
                    building,
                    ts,
                    replayed=msg.replayed,
                    room=room,
                    message=f"room {room} at {msg.temperature_c:.1f} °C",
                    params={"temperature_c": msg.temperature_c, "above_c": self.settings.above_c},
                    evidence=(msg.id,),
                )
        elif msg.temperature_c < self.settings.clear_below_c and room in self._raised:
            self._raised.discard(room)
            self.clear(
                f"room:{room}",
                building,
                ts,
                replayed=msg.replayed,
                room=room,
                message=f"room {room} back to {msg.temperature_c:.1f} °C",
                params={"temperature_c": msg.temperature_c},
                evidence=(msg.id,),
            )
