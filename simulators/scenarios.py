"""Scenarios: incidents injected at chosen simulated times, and the alerts they must raise.

A scenario file (YAML, validated at load; every error names its file and
line, with siteconfig's machinery)::

    name: incidents
    day: 0                      # days after the simulation's start date (default 0)
    injects:
      - at: "09:10"             # local campus time on that day
        do: forced_door
        building: b1
        gate: entry             # entry | exit
        open_s: 20
        expect:
          - rule: door_forced
            subject: "door:b1-gate-in/*"   # fnmatch pattern on AlertOut.subject
            within_s: 600                  # first_seen at most this long after the inject
          - {rule: door_held_open, subject: "door:b1-gate-in/*", delayed: false}

Actions: ``forced_door``, ``held_open``, ``tailgating``, ``denied_burst``,
``qr_replay``, ``heater``, ``smoke``, ``missed_checkin``, ``gate_offline``,
``uplink_cut``. Rule ids are the contract's (docs/simulator.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.gate import GateAgent
from protocol.messages import Direction
from rules.signals import RuleId
from simulators.behaviour import GatePass
from simulators.campus import Campus
from simulators.runner import Simulation
from siteconfig.errors import ConfigError, ConfigIssue, Finding
from siteconfig.fields import TimeOfDay
from siteconfig.pydantic_issues import issues_from_findings, issues_from_validation_error
from siteconfig.yamlio import read_yaml

log = logging.getLogger(__name__)

STRICT: Final = ConfigDict(extra="forbid", frozen=True)


class Expect(BaseModel):
    model_config = STRICT
    rule: RuleId
    subject: str = Field(min_length=1, description="fnmatch pattern on the alert's subject")
    within_s: float = Field(default=900.0, gt=0, le=7 * 86_400)
    delayed: bool | None = None


class _Inject(BaseModel):
    model_config = STRICT
    at: TimeOfDay
    day: int = Field(default=0, ge=0, le=60)
    expect: tuple[Expect, ...] = ()


class _AtGate(_Inject):
    building: str
    gate: Literal["entry", "exit"] = "entry"


class ForcedDoor(_AtGate):
    do: Literal["forced_door"]
    open_s: float = Field(default=10.0, gt=0, le=3600)


class HeldOpen(_AtGate):
    do: Literal["held_open"]
    open_s: float = Field(default=120.0, gt=0, le=3600)


class Tailgating(_AtGate):
    do: Literal["tailgating"]
    walkers: int = Field(default=3, ge=2, le=20)


class DeniedBurst(_AtGate):
    do: Literal["denied_burst"]
    count: int = Field(default=8, ge=1, le=100)
    every_s: float = Field(default=5.0, gt=0, le=600)


class QrReplay(_AtGate):
    do: Literal["qr_replay"]
    after_s: float = Field(default=10.0, ge=0, le=60)


class Heater(_Inject):
    do: Literal["heater"]
    room: str
    power_w: float = Field(default=2000.0, gt=0, le=20_000)
    minutes: float = Field(default=30.0, gt=0, le=24 * 60)


class Smoke(_Inject):
    do: Literal["smoke"]
    room: str
    minutes: float = Field(default=5.0, gt=0, le=24 * 60)


class MissedCheckin(_Inject):
    do: Literal["missed_checkin"]
    building: str


class GateOffline(_AtGate):
    do: Literal["gate_offline"]
    minutes: float = Field(default=15.0, gt=0, le=7 * 24 * 60)


class UplinkCut(_Inject):
    do: Literal["uplink_cut"]
    building: str
    minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)


Inject = Annotated[
    ForcedDoor
    | HeldOpen
    | Tailgating
    | DeniedBurst
    | QrReplay
    | Heater
    | Smoke
    | MissedCheckin
    | GateOffline
    | UplinkCut,
    Field(discriminator="do"),
]


class Scenario(BaseModel):
    model_config = STRICT
    name: str = Field(min_length=1, max_length=80)
    description: str = ""
    injects: tuple[Inject, ...] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedScenario:
    path: Path
    scenario: Scenario


def _cross_check(scenario: Scenario, campus: Campus) -> list[Finding]:
    buildings = {b.id for b in campus.buildings}
    rooms = set(campus.rooms())
    findings: list[Finding] = []
    for index, inject in enumerate(scenario.injects):
        building = getattr(inject, "building", None)
        if building is not None and building not in buildings:
            findings.append(
                Finding(("injects", index, "building"), f"unknown building {building!r}")
            )
        room = getattr(inject, "room", None)
        if room is not None and room not in rooms:
            findings.append(
                Finding(("injects", index, "room"), f"unknown room {room!r} (no sensor there)")
            )
    return findings


def load_scenario(path: Path | str, campus: Campus) -> LoadedScenario:
    """Read and validate a scenario file; raises siteconfig's :class:`ConfigError`
    listing every problem as ``file:line:col``."""
    path = Path(path)
    doc, issues = read_yaml(path)
    scenario: Scenario | None = None
    if doc is not None and doc.root is not None:
        try:
            scenario = Scenario.model_validate(doc.data)
        except ValidationError as exc:
            issues.extend(issues_from_validation_error(doc, exc))
        if scenario is not None:
            issues.extend(issues_from_findings(doc, _cross_check(scenario, campus)))
    if scenario is None or any(issue.is_error for issue in issues):
        if not issues:
            issues.append(ConfigIssue(path, None, None, "not a scenario"))
        raise ConfigError(issues)
    return LoadedScenario(path, scenario)


def packaged_scenarios() -> list[Path]:
    """The scenario files shipped with the package."""
    return sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))


# -- injecting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    scenario: str
    action: str
    injected_at: datetime
    expect: Expect


def inject_time(sim: Simulation, inject: _Inject) -> datetime:
    day = sim.options.start.astimezone(sim.campus.tz).date() + timedelta(days=inject.day)
    at: time = inject.at
    return datetime.combine(day, at, tzinfo=sim.campus.tz)


def schedule(sim: Simulation, loaded: LoadedScenario) -> list[Expectation]:
    """Put every inject of the scenario on the simulation's loop; what to expect back."""
    expectations: list[Expectation] = []
    for inject in loaded.scenario.injects:
        at = inject_time(sim, inject)
        if at < sim.loop.now():
            log.warning("%s: %s at %s is before the start; skipped", loaded.path, inject.do, at)
            continue
        sim.loop.call_at(at, _action(sim, inject))
        for expect in inject.expect:
            expectations.append(Expectation(loaded.scenario.name, inject.do, at, expect))
    return expectations


def _gate_direction(inject: _AtGate) -> Direction:
    return Direction.ENTRY if inject.gate == "entry" else Direction.EXIT


def _some_student(sim: Simulation, building: str) -> str:
    """Who the incidents happen to: a student of ``building`` on registered leave, so the
    day's own comings and goings do not cross theirs (no spurious anti-passback)."""
    residents = sim.population.students_in(building)
    if not residents:
        raise ValueError(f"nobody lives in {building}")
    away = [s for s in residents if s.on_leave]
    return (away or residents)[0].id


def _action(sim: Simulation, inject: Inject) -> Callable[[], None]:
    loop = sim.loop
    if isinstance(inject, ForcedDoor):
        forced_gate = sim.gate(inject.building, _gate_direction(inject))

        def force() -> None:
            sim.reserve_gate(forced_gate, inject.open_s + 5.0)
            sim.force_door(forced_gate, inject.open_s)

        return force
    if isinstance(inject, HeldOpen | Tailgating):
        walkers = inject.walkers if isinstance(inject, Tailgating) else 1
        open_s = inject.open_s if isinstance(inject, HeldOpen) else 3.0
        return lambda: sim.gate_pass(
            GatePass(
                loop.now(),
                inject.building,
                inject.gate,
                _some_student(sim, inject.building),
                "card",
                walkers=walkers,
                open_s=open_s,
            )
        )
    if isinstance(inject, DeniedBurst):
        gate = sim.gate(inject.building, _gate_direction(inject))

        def burst() -> None:
            for i in range(inject.count):
                loop.call_later(i * inject.every_s, partial(_card, gate, f"X{i:05d}BAD"))

        return burst
    if isinstance(inject, QrReplay):
        gate = sim.gate(inject.building, _gate_direction(inject))

        def replay() -> None:
            text = sim.qr_text(_some_student(sim, inject.building))
            for shown in sim.show_qr(text):
                gate.present_qr(shown)
                # The screenshot of the same code, shown again moments later.
                loop.call_later(inject.after_s, partial(_present, gate, shown))

        return replay
    if isinstance(inject, Heater):
        return lambda: sim.appliance(inject.room, inject.power_w, inject.minutes * 60)
    if isinstance(inject, Smoke):
        return lambda: sim.smoke(inject.room, inject.minutes * 60)
    if isinstance(inject, MissedCheckin):
        return lambda: sim.skip_checkin.add(inject.building)
    if isinstance(inject, GateOffline):
        device = sim.gate(inject.building, _gate_direction(inject)).device
        link = sim.rigs[inject.building].link

        def off() -> None:
            link.set_device_online(device, False)
            loop.call_later(inject.minutes * 60, lambda: link.set_device_online(device, True))

        return off
    link = sim.rigs[inject.building].link

    def cut() -> None:
        link.cut()
        loop.call_later(inject.minutes * 60, link.restore)

    return cut


def _present(gate: GateAgent, text: str) -> None:
    gate.present_qr(text)


def _card(gate: GateAgent, number: str) -> None:
    gate.present_card(number)
