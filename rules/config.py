"""The rules' YAML: pydantic models, the shipped defaults and override files.

An override file names only what it changes; it is merged key by key over
``rules/defaults.yaml`` and the result is validated. Errors point at the
override file's lines with siteconfig's machinery (``path:line:col: error:``),
so a typo reads the same here as in a site file.
"""

from __future__ import annotations

import re
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from protocol.ids import ID_PATTERN
from rules.signals import RULE_IDS, Level, Severity
from siteconfig.errors import ConfigError, ConfigIssue
from siteconfig.pydantic_issues import issues_from_validation_error
from siteconfig.yamlio import YamlDocument, read_yaml

_MODEL: Final = ConfigDict(extra="forbid", frozen=True)
_HHMM: Final = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

Seconds = Annotated[float, Field(ge=0, le=86_400 * 30)]
PositiveSeconds = Annotated[float, Field(gt=0, le=86_400 * 30)]
BuildingId = Annotated[str, Field(pattern=ID_PATTERN)]


def _parse_hhmm(value: object) -> object:
    if isinstance(value, str):
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day HH:MM")
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    return value


class Lateness(BaseModel):
    model_config = _MODEL

    gate: Seconds
    kiosk: Seconds
    room: Seconds
    health: Seconds


class EngineSettings(BaseModel):
    model_config = _MODEL

    lateness_s: Lateness
    delayed_after_s: PositiveSeconds
    idle_advance_s: Seconds
    backlog_depth: Annotated[int, Field(ge=0)]
    max_future_s: PositiveSeconds

    @model_validator(mode="after")
    def _idle_within_lateness(self) -> EngineSettings:
        smallest = min(self.lateness_s.gate, self.lateness_s.kiosk, self.lateness_s.room)
        if self.idle_advance_s > smallest:
            raise ValueError(
                f"idle_advance_s ({self.idle_advance_s:g}) must not exceed the smallest "
                f"lateness ({smallest:g}): processing time would overtake events in flight"
            )
        return self


class RuleSettings(BaseModel):
    """What every rule has: on/off, severity, starting level, scope."""

    model_config = _MODEL

    enabled: bool = True
    severity: Severity
    level: Level
    #: Buildings the rule runs in; None (the default) means all.
    buildings: list[BuildingId] | None = None


class DoorHeldOpen(RuleSettings):
    after_s: PositiveSeconds


class Tailgating(RuleSettings):
    max_passages_per_grant: Annotated[int, Field(ge=1, le=100)]
    directions: list[Literal["entry", "exit"]] = Field(min_length=1)


class DeniedBurst(RuleSettings):
    count: Annotated[int, Field(ge=2, le=1000)]
    window_s: PositiveSeconds


class PersonRule(RuleSettings):
    person_kinds: list[Literal["student", "staff", "visitor"]] = Field(min_length=1)


class NotReturned(PersonRule):
    night_check: time

    _hhmm = field_validator("night_check", mode="before")(_parse_hhmm)


class NotSeen(PersonRule):
    after_h: Annotated[float, Field(gt=0, le=24 * 60)]


class ForDuration(RuleSettings):
    for_s: Seconds


class ActivityRoom(RuleSettings):
    opens: time
    closes: time
    require_booking: bool

    _hhmm = field_validator("opens", "closes", mode="before")(_parse_hhmm)

    @model_validator(mode="after")
    def _order(self) -> ActivityRoom:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class ApplianceStep(RuleSettings):
    step_w: Annotated[float, Field(gt=0, le=100_000)]


class TemperatureHigh(RuleSettings):
    above_c: Annotated[float, Field(ge=-40, le=125)]
    clear_below_c: Annotated[float, Field(ge=-40, le=125)]

    @model_validator(mode="after")
    def _hysteresis(self) -> TemperatureHigh:
        if self.clear_below_c > self.above_c:
            raise ValueError("clear_below_c must not be above above_c")
        return self


class DutyMissedCheckin(RuleSettings):
    after_s: Seconds
    early_s: Seconds


class DutyCoverageGap(RuleSettings):
    grace_s: Seconds


class DeviceOffline(RuleSettings):
    missed_heartbeats: Annotated[float, Field(ge=1, le=100)]


class OutboxNearFull(RuleSettings):
    fraction: Annotated[float, Field(gt=0, le=1)]
    device_depth: Annotated[int, Field(ge=1)]


class ClockSkew(RuleSettings):
    max_offset_s: PositiveSeconds


class RuleSet(BaseModel):
    """One entry per rule id (the ids are fixed: other parts use them)."""

    model_config = _MODEL

    door_forced: RuleSettings
    door_held_open: DoorHeldOpen
    door_not_used: RuleSettings
    tailgating: Tailgating
    denied_burst_gate: DeniedBurst
    denied_burst_credential: DeniedBurst
    qr_replay: RuleSettings
    anti_passback: RuleSettings
    late_return: PersonRule
    not_returned: NotReturned
    not_seen: NotSeen
    room_over_capacity: ForDuration
    activity_room_misuse: ActivityRoom
    power_over_limit: ForDuration
    appliance_step: ApplianceStep
    smoke: RuleSettings
    temperature_high: TemperatureHigh
    duty_missed_checkin: DutyMissedCheckin
    duty_coverage_gap: DutyCoverageGap
    device_offline: DeviceOffline
    outbox_near_full: OutboxNearFull
    clock_skew: ClockSkew


class RulesConfig(BaseModel):
    model_config = _MODEL

    engine: EngineSettings
    rules: RuleSet

    def settings(self, rule_id: str) -> RuleSettings:
        value = getattr(self.rules, rule_id)
        assert isinstance(value, RuleSettings)
        return value


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def _defaults_doc() -> YamlDocument:
    resource = resources.files("rules").joinpath("defaults.yaml")
    with resources.as_file(resource) as path:
        doc, issues = read_yaml(Path(path))
    if doc is None or issues:  # pragma: no cover - the shipped file is tested
        raise ConfigError(issues)
    return doc


def default_config() -> RulesConfig:
    """The shipped defaults (``rules/defaults.yaml``)."""
    return RulesConfig.model_validate(_defaults_doc().data)


def load_rules(path: Path | str | None = None) -> RulesConfig:
    """The defaults, overridden by ``path`` if given; raises :class:`ConfigError`
    listing every problem as ``path:line:col: error: message``."""
    defaults = _defaults_doc()
    if path is None:
        return RulesConfig.model_validate(defaults.data)
    doc, issues = read_yaml(Path(path))
    if doc is None or any(issue.is_error for issue in issues):
        raise ConfigError(issues)
    if doc.data is None:
        return RulesConfig.model_validate(defaults.data)
    if not isinstance(doc.data, dict):
        raise ConfigError([ConfigIssue(doc.path, 1, 1, "the file must be a mapping")])
    unknown = [
        key for key in (doc.data.get("rules") or {}) if isinstance(key, str) and key not in RULE_IDS
    ]
    merged = _merge(defaults.data, doc.data)
    try:
        return RulesConfig.model_validate(merged)
    except ValidationError as exc:
        found = issues_from_validation_error(doc, exc)
        if unknown:
            found = [i for i in found if "unknown key" not in i.message] + [
                _unknown_rule(doc, key) for key in unknown
            ]
        raise ConfigError(found) from exc


def _unknown_rule(doc: YamlDocument, key: str) -> ConfigIssue:
    from siteconfig.yamlio import locate

    where = locate(doc.root, ("rules", key), at_key=True)
    return ConfigIssue(
        doc.path,
        where.line,
        where.column,
        f"rules.{key}: unknown rule '{key}'; the rules are: {', '.join(RULE_IDS)}",
    )
