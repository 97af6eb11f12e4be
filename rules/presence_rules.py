"""Residents: not back at the night check, not seen for days."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import ClassVar

from protocol.messages import AccessDecision, Decision, Direction
from rules.base import Rule, to_datetime
from rules.config import NotReturned, NotSeen
from rules.env import Env
from rules.stream import GATE, Stream


def next_local(after_s: float, at: time, tz: object) -> float:
    """The first local ``at`` strictly after ``after_s`` (epoch seconds)."""
    local = to_datetime(after_s).astimezone(tz)  # type: ignore[arg-type]
    day = local.date()
    while True:
        candidate = datetime.combine(day, at, tzinfo=tz)  # type: ignore[arg-type]
        if candidate.timestamp() > after_s:
            return candidate.timestamp()
        day += timedelta(days=1)


class NotReturnedRule(Rule[NotReturned]):
    """At the building's night check, residents whose last granted passage was out."""

    id = "not_returned"
    stream_kind = GATE
    in_order: ClassVar = {AccessDecision: "on_decision"}

    def __init__(self, settings: NotReturned, env: Env) -> None:
        super().__init__(settings, env)
        #: (building, person) -> (direction of the last granted passage, event id)
        self._presence: dict[tuple[str, str], tuple[Direction, str]] = {}
        self._raised: set[tuple[str, str]] = set()

    def _check_time(self, building: str) -> time:
        info = self.env.ctx.buildings.get(building)
        if info is not None and info.night_check is not None:
            return info.night_check
        return self.settings.night_check

    def start(self, stream: Stream) -> None:
        at = next_local(stream.watermark, self._check_time(stream.building), self.env.ctx.tz)
        self.env.schedule(stream, at, self._night_check, stream.building)

    def on_decision(
        self, building: str, msg: AccessDecision, ts: float, stream: Stream | None
    ) -> None:
        if msg.decision is not Decision.GRANTED or msg.person is None:
            return
        key = (building, msg.person)
        self._presence[key] = (msg.direction, msg.id)
        if msg.direction is Direction.ENTRY and key in self._raised:
            self._raised.discard(key)
            self.clear(
                f"person:{msg.person}",
                building,
                ts,
                replayed=msg.replayed,
                message=f"back in {building}",
                evidence=(msg.id,),
            )

    def _night_check(self, stream: Stream, building: str, token: object, at_s: float) -> None:
        ctx = self.env.ctx
        moment = to_datetime(at_s)
        for person in ctx.residents(building, self.settings.person_kinds):
            key = (building, person.id)
            last = self._presence.get(key)
            if last is None or last[0] is not Direction.EXIT or key in self._raised:
                continue
            if ctx.on_leave(person.id, moment):
                continue
            self._raised.add(key)
            self.raise_(
                f"person:{person.id}",
                building,
                at_s,
                replayed=stream.advanced_by_replay,
                message=f"not back in {building} at the night check",
                params={"night_check": self._check_time(building).strftime("%H:%M")},
                evidence=(last[1],),
            )
        self.env.schedule(
            stream,
            next_local(at_s, self._check_time(building), ctx.tz),
            self._night_check,
            building,
        )


class NotSeenRule(Rule[NotSeen]):
    """A resident with no gate event for ``after_h`` hours, unless on a registered leave."""

    id = "not_seen"
    stream_kind = GATE
    in_order: ClassVar = {AccessDecision: "on_decision"}

    def __init__(self, settings: NotSeen, env: Env) -> None:
        super().__init__(settings, env)
        self._last: dict[str, tuple[float, str]] = {}
        self._raised: set[str] = set()
        #: People with a timer running: one each, moved on when it falls due
        #: (not one per gate event, which would keep two days of them queued).
        self._armed: set[str] = set()

    def on_decision(
        self, building: str, msg: AccessDecision, ts: float, stream: Stream | None
    ) -> None:
        person = msg.person
        if person is None or stream is None:
            return
        info = self.env.ctx.persons.get(person)
        if info is None or info.kind not in self.settings.person_kinds:
            return
        previous = self._last.get(person)
        if previous is not None and previous[0] >= ts:
            return
        self._last[person] = (ts, msg.id)
        if person not in self._armed:
            self._armed.add(person)
            self.env.schedule(stream, ts + self.settings.after_h * 3600, self._due, person)
        if person in self._raised:
            self._raised.discard(person)
            self.clear(
                f"person:{person}",
                building,
                ts,
                replayed=msg.replayed,
                message="seen again",
                evidence=(msg.id,),
            )

    def _due(self, stream: Stream, person: str, token: object, at_s: float) -> None:
        last = self._last.get(person)
        if last is None or person in self._raised:
            self._armed.discard(person)
            return
        after_s = self.settings.after_h * 3600
        deadline = last[0] + after_s
        window_start = at_s - after_s
        away = [
            leave
            for leave in self.env.ctx.leaves.get(person, ())
            if leave.starts_at.timestamp() < at_s and leave.ends_at.timestamp() > window_start
        ]
        if away:
            deadline = max(deadline, max(leave.ends_at.timestamp() for leave in away) + after_s)
        if deadline > at_s:
            self.env.schedule(stream, deadline, self._due, person)
            return
        self._armed.discard(person)
        self._raised.add(person)
        self.raise_(
            f"person:{person}",
            stream.building,
            at_s,
            replayed=stream.advanced_by_replay,
            message=f"no gate event for {self.settings.after_h:g} h",
            params={"after_h": self.settings.after_h},
            evidence=(last[1],),
        )
