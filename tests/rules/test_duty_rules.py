"""Counselors: missed check-in 15 min after shift start, building coverage gap."""

from __future__ import annotations

from protocol.messages import DutyAction
from rules.context import DutyShift
from tests.rules.helpers import KIOSK, B, Harness, at, site

SHIFT = DutyShift("s1", B, "c-1", at(3600), at(25 * 3600))


def test_no_check_in_15_min_after_the_shift_starts_is_missed_then_cleared() -> None:
    h = Harness(site(shifts=[SHIFT]))
    h.feed(h.heartbeat(0, device=KIOSK))
    h.feed(h.heartbeat(3600 + 905 + 5, device=KIOSK))
    raised = h.raised("duty_missed_checkin")
    assert [s.subject for s in raised] == ["shift:s1"]
    assert raised[0].event_time == at(4500)
    h.feed(h.duty(5000, DutyAction.CHECK_IN), h.heartbeat(5100, device=KIOSK))
    assert [s.subject for s in h.cleared("duty_missed_checkin")] == ["shift:s1"]


def test_a_check_in_on_time_or_a_little_early_is_not_missed() -> None:
    h = Harness(site(shifts=[SHIFT]))
    h.feed(h.heartbeat(0, device=KIOSK), h.duty(3000, DutyAction.CHECK_IN))
    h.feed(h.heartbeat(6000, device=KIOSK))
    assert h.raised("duty_missed_checkin") == []


def test_a_rostered_building_with_nobody_checked_in_is_a_coverage_gap() -> None:
    h = Harness(site(shifts=[SHIFT]))
    h.feed(h.heartbeat(0, device=KIOSK), h.duty(3500, DutyAction.CHECK_IN))
    h.feed(h.duty(7200, DutyAction.CHECK_OUT), h.heartbeat(7200 + 905, device=KIOSK))
    assert [s.subject for s in h.raised("duty_coverage_gap")] == [f"building:{B}"]
    h.feed(h.duty(8500, DutyAction.CHECK_IN, person="c-2"), h.heartbeat(8600, device=KIOSK))
    assert len(h.cleared("duty_coverage_gap")) == 1


def test_a_covered_or_unrostered_building_has_no_gap() -> None:
    h = Harness(site(shifts=[SHIFT]))
    h.feed(h.heartbeat(0, device=KIOSK), h.duty(3500, DutyAction.CHECK_IN))
    h.feed(h.heartbeat(20000, device=KIOSK))
    assert h.raised("duty_coverage_gap") == []
    h2 = Harness()
    h2.feed(h2.heartbeat(0, device=KIOSK), h2.heartbeat(20000, device=KIOSK))
    assert h2.raised("duty_coverage_gap") == h2.raised("duty_missed_checkin") == []


def test_a_backtest_finds_a_missed_check_in_with_no_kiosk_event_at_all() -> None:
    h = Harness(site(shifts=[SHIFT]))
    h.engine.advance_event_time(at(0))
    out = h.engine.advance_event_time(at(6 * 3600))
    assert [s.subject for s in out if s.rule == "duty_missed_checkin"] == ["shift:s1"]
    assert [s.subject for s in out if s.rule == "duty_coverage_gap"] == [f"building:{B}"]
