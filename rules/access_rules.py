"""Gate decisions: denied bursts, QR replay, anti-passback, late return."""

from __future__ import annotations

from collections import deque
from typing import ClassVar, Final

from protocol.messages import AccessDecision, AccessReason, Decision, Direction
from rules.base import Rule, to_datetime
from rules.config import DeniedBurst, PersonRule, RuleSettings
from rules.env import Env
from rules.stream import GATE, Stream

#: New keys between sweeps of the keys whose window has emptied.
SWEEP_EVERY: Final = 4096


class _Burst:
    """Denials of one key within a sliding window; one raise per burst."""

    __slots__ = ("active", "evidence", "times")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.evidence: deque[str] = deque()
        self.active = False


class _DeniedBurst(Rule[DeniedBurst]):
    stream_kind = GATE
    in_order: ClassVar = {AccessDecision: "on_decision"}
    noun: ClassVar[str]

    def __init__(self, settings: DeniedBurst, env: Env) -> None:
        super().__init__(settings, env)
        self._bursts: dict[str, _Burst] = {}
        self._since_sweep = 0

    def subject(self, msg: AccessDecision) -> str | None:
        raise NotImplementedError

    def on_decision(
        self, building: str, msg: AccessDecision, ts: float, stream: Stream | None
    ) -> None:
        if msg.decision is not Decision.DENIED:
            return
        subject = self.subject(msg)
        if subject is None:
            return
        burst = self._bursts.get(subject)
        if burst is None:
            self._since_sweep += 1
            if self._since_sweep >= SWEEP_EVERY:
                self._sweep(ts)
            burst = self._bursts[subject] = _Burst()
        times, evidence = burst.times, burst.evidence
        times.append(ts)
        evidence.append(msg.id)
        horizon = ts - self.settings.window_s
        while times[0] < horizon:
            times.popleft()
            evidence.popleft()
        if len(times) < self.settings.count:
            burst.active = False
        elif not burst.active:
            burst.active = True
            self.raise_(
                subject,
                building,
                ts,
                replayed=msg.replayed,
                message=f"{len(times)} denials at {self.noun} within {self.settings.window_s:g} s",
                params={
                    "denials": len(times),
                    "window_s": self.settings.window_s,
                    "device": msg.device,
                    "reason": msg.reason.value,
                },
                evidence=tuple(evidence),
            )

    def _sweep(self, now_s: float) -> None:
        """Forget keys with no denial in the window (unknown cards would pile up)."""
        self._since_sweep = 0
        horizon = now_s - self.settings.window_s
        self._bursts = {k: b for k, b in self._bursts.items() if b.times[-1] >= horizon}


class DeniedBurstGate(_DeniedBurst):
    """≥ count denials at one gate within window_s."""

    id = "denied_burst_gate"
    noun = "one gate"

    def subject(self, msg: AccessDecision) -> str | None:
        return f"gate:{msg.device}"


class DeniedBurstCredential(_DeniedBurst):
    """One credential (card by its reference, or person) denied ≥ count times in window_s."""

    id = "denied_burst_credential"
    noun = "one credential"

    def subject(self, msg: AccessDecision) -> str | None:
        ref = msg.card_ref or msg.person
        return None if ref is None else f"credential:{ref}"


class QrReplay(Rule[RuleSettings]):
    """A QR token presented again (the gate refused it as ``token_replayed``)."""

    id = "qr_replay"
    stream_kind = GATE
    on_arrival: ClassVar = {AccessDecision: "on_decision"}

    def on_decision(
        self, building: str, msg: AccessDecision, ts: float, stream: Stream | None
    ) -> None:
        if msg.reason is AccessReason.TOKEN_REPLAYED:
            ref = msg.card_ref or msg.person
            subject = f"credential:{ref}" if ref else f"gate:{msg.device}"
            self.raise_(
                subject,
                building,
                ts,
                replayed=msg.replayed,
                message=f"QR token replayed at {msg.device}",
                params={"device": msg.device, "nonce": msg.nonce},
                evidence=(msg.id,),
            )


class AntiPassback(Rule[RuleSettings]):
    """Soft anti-passback: the gate allowed a second pass the same way and flagged it."""

    id = "anti_passback"
    stream_kind = GATE
    on_arrival: ClassVar = {AccessDecision: "on_decision"}

    def on_decision(
        self, building: str, msg: AccessDecision, ts: float, stream: Stream | None
    ) -> None:
        if msg.passback and msg.person is not None:
            self.raise_(
                f"person:{msg.person}",
                building,
                ts,
                replayed=msg.replayed,
                message=f"passed {msg.direction.value} twice in a row at {msg.device}",
                params={"device": msg.device, "direction": msg.direction.value},
                evidence=(msg.id,),
            )


class LateReturn(Rule[PersonRule]):
    """A granted entry during the building's curfew (per weekday, local time)."""

    id = "late_return"
    stream_kind = GATE
    on_arrival: ClassVar = {AccessDecision: "on_decision"}

    def on_decision(
        self, building: str, msg: AccessDecision, ts: float, stream: Stream | None
    ) -> None:
        if (
            msg.decision is not Decision.GRANTED
            or msg.direction is not Direction.ENTRY
            or msg.person is None
        ):
            return
        ctx = self.env.ctx
        person = ctx.persons.get(msg.person)
        info = ctx.buildings.get(building)
        if person is None or info is None or person.kind not in self.settings.person_kinds:
            return
        moment = to_datetime(ts)
        if info.in_curfew(moment, ctx.tz):
            self.raise_(
                f"person:{msg.person}",
                building,
                ts,
                replayed=msg.replayed,
                message=f"entered {building} after curfew",
                params={
                    "local_time": moment.astimezone(ctx.tz).strftime("%H:%M"),
                    "device": msg.device,
                },
                evidence=(msg.id,),
            )
