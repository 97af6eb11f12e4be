"""Counselors on duty: missed check-in, nobody checked in."""

from __future__ import annotations

from typing import ClassVar

from protocol.messages import DutyAction, DutyCheck
from rules.base import Rule
from rules.config import DutyCoverageGap, DutyMissedCheckin
from rules.context import DutyShift
from rules.env import Env
from rules.stream import KIOSK, Stream


class _ShiftTimers:
    """Schedules per-shift timers once per shift, on start and on context reload."""

    def __init__(self) -> None:
        self.scheduled: set[tuple[str, str]] = set()
        self.streams: dict[str, Stream] = {}


class DutyMissedCheckinRule(Rule[DutyMissedCheckin]):
    """The shift's counselor has not checked in ``after_s`` after the shift started."""

    id = "duty_missed_checkin"
    stream_kind = KIOSK
    in_order: ClassVar = {DutyCheck: "on_check"}

    def __init__(self, settings: DutyMissedCheckin, env: Env) -> None:
        super().__init__(settings, env)
        self._timers = _ShiftTimers()
        self._checkins: dict[tuple[str, str], float] = {}
        self._raised: dict[str, DutyShift] = {}

    def start(self, stream: Stream) -> None:
        self._timers.streams[stream.building] = stream
        self._schedule(stream)

    def context_changed(self) -> None:
        for stream in self._timers.streams.values():
            self._schedule(stream)

    def _schedule(self, stream: Stream) -> None:
        for shift in self.env.ctx.shifts:
            key = (shift.building, shift.id)
            due = shift.starts_at.timestamp() + self.settings.after_s
            if (
                shift.building == stream.building
                and key not in self._timers.scheduled
                and (due > stream.watermark)
            ):
                self._timers.scheduled.add(key)
                self.env.schedule(stream, due, self._due, shift)

    def on_check(self, building: str, msg: DutyCheck, ts: float, stream: Stream | None) -> None:
        if msg.action is not DutyAction.CHECK_IN:
            return
        self._checkins[(building, msg.person)] = ts
        for shift_id, shift in list(self._raised.items()):
            if (
                shift.building == building
                and shift.person == msg.person
                and ts < (shift.ends_at.timestamp())
            ):
                del self._raised[shift_id]
                self.clear(
                    f"shift:{shift_id}",
                    building,
                    ts,
                    replayed=msg.replayed,
                    message="checked in late",
                    evidence=(msg.id,),
                )

    def _due(self, stream: Stream, shift: DutyShift, token: object, at_s: float) -> None:
        current = {s.id: s for s in self.env.ctx.shifts}.get(shift.id)
        if current is None or current.person != shift.person:
            return  # the roster changed
        checked = self._checkins.get((shift.building, shift.person))
        if checked is not None and checked >= shift.starts_at.timestamp() - self.settings.early_s:
            return
        self._raised[shift.id] = shift
        self.raise_(
            f"shift:{shift.id}",
            shift.building,
            at_s,
            replayed=stream.advanced_by_replay,
            message=f"no check-in {self.settings.after_s / 60:g} min after the shift began",
            params={"person": shift.person, "after_s": self.settings.after_s},
        )


class DutyCoverageGapRule(Rule[DutyCoverageGap]):
    """During a rostered shift, nobody checked in at the building for ``grace_s``."""

    id = "duty_coverage_gap"
    stream_kind = KIOSK
    in_order: ClassVar = {DutyCheck: "on_check"}

    def __init__(self, settings: DutyCoverageGap, env: Env) -> None:
        super().__init__(settings, env)
        self._timers = _ShiftTimers()
        self._on_duty: dict[str, set[str]] = {}
        self._raised: set[str] = set()

    def start(self, stream: Stream) -> None:
        self._timers.streams[stream.building] = stream
        self._schedule(stream)

    def context_changed(self) -> None:
        for stream in self._timers.streams.values():
            self._schedule(stream)

    def _schedule(self, stream: Stream) -> None:
        for shift in self.env.ctx.shifts:
            key = (shift.building, shift.id)
            if shift.building != stream.building or key in self._timers.scheduled:
                continue
            self._timers.scheduled.add(key)
            for at in (
                shift.starts_at.timestamp() + self.settings.grace_s,
                shift.ends_at.timestamp(),
            ):
                if at > stream.watermark:
                    self.env.schedule(stream, at, self._evaluate, shift.building)

    def _required(self, building: str, at_s: float) -> bool:
        return any(
            s.building == building and s.starts_at.timestamp() <= at_s < s.ends_at.timestamp()
            for s in self.env.ctx.shifts
        )

    def on_check(self, building: str, msg: DutyCheck, ts: float, stream: Stream | None) -> None:
        assert stream is not None
        on_duty = self._on_duty.setdefault(building, set())
        if msg.action is DutyAction.CHECK_IN:
            on_duty.add(msg.person)
            if building in self._raised:
                self._raised.discard(building)
                self.clear(
                    f"building:{building}",
                    building,
                    ts,
                    replayed=msg.replayed,
                    message=f"a counselor checked in at {building}",
                    evidence=(msg.id,),
                )
        elif msg.action is DutyAction.CHECK_OUT:
            on_duty.discard(msg.person)
            if not on_duty:
                self.env.schedule(stream, ts + self.settings.grace_s, self._evaluate, building)

    def _evaluate(self, stream: Stream, building: str, token: object, at_s: float) -> None:
        required = self._required(building, at_s)
        covered = bool(self._on_duty.get(building))
        if required and not covered and building not in self._raised:
            self._raised.add(building)
            self.raise_(
                f"building:{building}",
                building,
                at_s,
                replayed=stream.advanced_by_replay,
                message=f"no counselor checked in at {building}",
                params={"grace_s": self.settings.grace_s},
            )
        elif building in self._raised and not required:
            self._raised.discard(building)
            self.clear(
                f"building:{building}",
                building,
                at_s,
                replayed=stream.advanced_by_replay,
                message="no shift rostered any more",
            )
