"""Matching expected alerts against AlertOut items, and the pass/fail table."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from simulators.checker import evaluate, print_table
from simulators.scenarios import Expect, Expectation

AT = datetime(2026, 3, 2, 1, 10, tzinfo=UTC)


def _alert(rule: str, subject: str, seen: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{rule}-{subject}",
        "rule": rule,
        "subject": subject,
        "severity": extra.pop("severity", "major"),
        "first_seen": seen.isoformat().replace("+00:00", "Z"),
        "delayed": extra.pop("delayed", False),
        **extra,
    }


def _expect(rule: str, subject: str, **kw: Any) -> Expectation:
    return Expectation("s", "forced_door", AT, Expect(rule=rule, subject=subject, **kw))  # type: ignore[arg-type]


def test_rule_subject_window_and_delayed_must_all_match() -> None:
    expectations = [
        _expect("door_forced", "door:b1-gate-in/*", within_s=300),
        _expect("smoke", "*b2-r201*", within_s=60),
        _expect("door_forced", "door:b1-gate-in/*", within_s=5000, delayed=True),
        _expect("tailgating", "*b2-gate-in*"),
    ]
    alerts = [
        _alert("door_forced", "door:b1-gate-in/main", AT + timedelta(seconds=2)),
        _alert("smoke", "room:b2-r201", AT + timedelta(minutes=5)),  # too late
        _alert("door_forced", "door:b1-gate-in/main", AT + timedelta(hours=1), delayed=True),
        _alert("tailgating", "door:b2-gate-in/main", AT - timedelta(minutes=1)),  # before
        _alert("device_offline", "device:b2-gate-out", AT, severity="critical"),
    ]
    outcomes, unexpected = evaluate(expectations, alerts)
    assert [o.passed for o in outcomes] == [True, False, True, False]
    assert outcomes[2].alert is alerts[2]
    assert [a["rule"] for a in unexpected] == ["device_offline"]
    out = io.StringIO()
    assert not print_table(outcomes, unexpected, out)
    text = out.getvalue()
    assert text.count("PASS") == 2
    assert text.count("FAIL") == 2
    assert "2/4 expected alerts raised; 1 unexpected critical" in text


def test_all_passed_and_nothing_critical_is_a_pass() -> None:
    outcomes, unexpected = evaluate(
        [_expect("smoke", "*r1*")], [_alert("smoke", "room:b1-r1", AT, severity="critical")]
    )
    assert unexpected == []  # the critical alert was expected
    assert print_table(outcomes, unexpected, io.StringIO())
