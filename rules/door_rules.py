"""Doors: forced, held open, granted but not used, tailgating."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocol.messages import DoorEvent, DoorEventKind, PassageCount
from rules.base import Rule, door_subject
from rules.config import DoorHeldOpen, RuleSettings, Tailgating
from rules.env import Env
from rules.stream import GATE, Stream


class DoorForced(Rule[RuleSettings]):
    """The contact opened with no grant and no exit request (the gate says ``forced``)."""

    id = "door_forced"
    stream_kind = GATE
    on_arrival: ClassVar = {DoorEvent: "on_door"}

    def on_door(self, building: str, msg: DoorEvent, ts: float, stream: Stream | None) -> None:
        if msg.kind is DoorEventKind.FORCED:
            self.raise_(
                door_subject(msg.device, msg.door),
                building,
                ts,
                replayed=msg.replayed,
                message=f"door {msg.door} of {msg.device} forced open",
                params={"device": msg.device, "door": msg.door},
                evidence=(msg.id,),
            )


class DoorNotUsed(Rule[RuleSettings]):
    """A grant released the lock and nobody opened the door (the gate's report)."""

    id = "door_not_used"
    stream_kind = GATE
    on_arrival: ClassVar = {DoorEvent: "on_door"}

    def on_door(self, building: str, msg: DoorEvent, ts: float, stream: Stream | None) -> None:
        if msg.kind is DoorEventKind.GRANTED_NOT_USED:
            self.raise_(
                door_subject(msg.device, msg.door),
                building,
                ts,
                replayed=msg.replayed,
                message=f"door {msg.door} of {msg.device} granted but not used",
                params={"device": msg.device, "door": msg.door, "grant_id": msg.grant_id},
                evidence=(msg.id,) + ((msg.grant_id,) if msg.grant_id else ()),
            )


class TailgatingRule(Rule[Tailgating]):
    """More people through the beam than grants in one unlock (one grant per unlock)."""

    id = "tailgating"
    stream_kind = GATE
    on_arrival: ClassVar = {PassageCount: "on_passages"}

    def on_passages(
        self, building: str, msg: PassageCount, ts: float, stream: Stream | None
    ) -> None:
        limit = self.settings.max_passages_per_grant
        if (
            msg.grant_id is not None
            and msg.count > limit
            and msg.direction.value in self.settings.directions
        ):
            self.raise_(
                door_subject(msg.device, msg.door),
                building,
                ts,
                replayed=msg.replayed,
                message=f"{msg.count} passages on one grant at {msg.device}/{msg.door}",
                params={
                    "device": msg.device,
                    "door": msg.door,
                    "passages": msg.count,
                    "grants": 1,
                    "direction": msg.direction.value,
                },
                evidence=(msg.id, msg.grant_id),
            )


@dataclass(slots=True)
class _Opening:
    since_s: float
    raised: bool = False
    evidence: str = ""


class DoorHeldOpenRule(Rule[DoorHeldOpen]):
    """Open longer than ``after_s`` (event time); clears when the door closes."""

    id = "door_held_open"
    stream_kind = GATE
    in_order: ClassVar = {DoorEvent: "on_door"}

    def __init__(self, settings: DoorHeldOpen, env: Env) -> None:
        super().__init__(settings, env)
        self._open: dict[tuple[str, str], _Opening] = {}

    def on_door(self, building: str, msg: DoorEvent, ts: float, stream: Stream | None) -> None:
        assert stream is not None
        key = (msg.device, msg.door)
        kind = msg.kind
        if kind is DoorEventKind.OPENED or kind is DoorEventKind.FORCED:
            if key not in self._open:
                fresh = self._open[key] = _Opening(ts, evidence=msg.id)
                self.env.schedule(stream, ts + self.settings.after_s, self._due, key, fresh)
        elif kind is DoorEventKind.HELD_OPEN:
            held = self._open.get(key)
            if held is None:
                since = ts - (msg.open_s or 0.0)
                held = self._open[key] = _Opening(since, evidence=msg.id)
            if not held.raised:
                self._raise(building, key, held, ts, msg.replayed)
        elif kind is DoorEventKind.CLOSED:
            opening = self._open.pop(key, None)
            if opening is not None and opening.raised:
                self.clear(
                    door_subject(*key),
                    building,
                    ts,
                    replayed=msg.replayed,
                    message=f"door {key[1]} of {key[0]} closed",
                    params={
                        "device": key[0],
                        "door": key[1],
                        "open_s": round(ts - opening.since_s, 1),
                    },
                    evidence=(msg.id,),
                )

    def _due(self, stream: Stream, key: tuple[str, str], token: _Opening, at_s: float) -> None:
        opening = self._open.get(key)
        if opening is token and not opening.raised:
            self._raise(stream.building, key, opening, at_s, stream.advanced_by_replay)

    def _raise(
        self, building: str, key: tuple[str, str], opening: _Opening, ts: float, replayed: bool
    ) -> None:
        opening.raised = True
        self.raise_(
            door_subject(*key),
            building,
            ts,
            replayed=replayed,
            message=f"door {key[1]} of {key[0]} held open over {self.settings.after_s:g} s",
            params={"device": key[0], "door": key[1], "after_s": self.settings.after_s},
            evidence=(opening.evidence,),
        )
