"""The rules' YAML: shipped defaults, overrides, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.catalog import RULE_CLASSES
from rules.config import RuleSet, default_config, load_rules
from rules.signals import RULE_IDS
from siteconfig.errors import ConfigError


def test_the_shipped_defaults_name_every_rule_with_the_issues_thresholds() -> None:
    config = default_config()
    assert tuple(rule.id for rule in RULE_CLASSES) == RULE_IDS
    assert tuple(RuleSet.model_fields) == RULE_IDS  # one settings field per rule
    rules = config.rules
    assert rules.door_held_open.after_s == 30
    assert (rules.denied_burst_gate.count, rules.denied_burst_gate.window_s) == (5, 50)
    assert (rules.denied_burst_credential.count, rules.denied_burst_credential.window_s) == (3, 600)
    assert rules.not_seen.after_h == 48
    assert rules.room_over_capacity.for_s == 120
    assert (str(rules.activity_room_misuse.opens), str(rules.activity_room_misuse.closes)) == (
        "08:30:00",
        "20:30:00",
    )
    assert rules.power_over_limit.for_s == 10
    assert rules.appliance_step.step_w == 1000
    assert rules.smoke.severity.value == "critical"
    assert rules.duty_missed_checkin.after_s == 900
    assert rules.clock_skew.max_offset_s == 5


def test_an_override_names_only_what_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  door_held_open:\n"
        "    after_s: 45\n"
        "  smoke:\n"
        "    buildings: [b1, b2]\n"
        "  clock_skew: {enabled: false}\n"
    )
    config = load_rules(path)
    assert config.rules.door_held_open.after_s == 45
    assert config.rules.door_held_open.severity.value == "warning"
    assert config.rules.smoke.buildings == ["b1", "b2"]
    assert not config.rules.clock_skew.enabled
    assert config.engine == default_config().engine


def test_errors_point_at_the_files_lines(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "engine:\n"
        "  lateness_s:\n"
        "    gate: -1\n"
        "rules:\n"
        "  door_held_open:\n"
        "    after_s: soon\n"
        "  tailgating:\n"
        "    directions: [sideways]\n"
        "  smoke:\n"
        "    severity: apocalyptic\n"
        "  door_forced:\n"
        "    colour: red\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    lines = {(issue.line, issue.message.split(":")[0]) for issue in caught.value.issues}
    assert (3, "engine.lateness_s.gate") in lines
    assert (6, "rules.door_held_open.after_s") in lines
    assert (8, "rules.tailgating.directions[0]") in lines
    assert (10, "rules.smoke.severity") in lines
    assert any(
        line == 12 and "unknown key 'colour'" in issue.message
        for issue in caught.value.issues
        for line in [issue.line]
    )
    assert str(path) + ":3:" in str(caught.value)


def test_an_unknown_rule_a_bad_time_and_bad_yaml_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  door_opened_twice: {enabled: true}\n  not_returned: {night_check: '25:00'}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    text = str(caught.value)
    assert ":2:3: error: rules.door_opened_twice: unknown rule" in text
    assert ":3:" in text
    assert "not a time of day" in text
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  smoke: [\n")
    with pytest.raises(ConfigError) as caught:
        load_rules(broken)
    assert "YAML syntax error" in str(caught.value)


def test_idle_advance_may_not_exceed_the_lateness(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("engine:\n  idle_advance_s: 30\n")
    with pytest.raises(ConfigError, match="idle_advance_s"):
        load_rules(path)
