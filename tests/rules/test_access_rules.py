"""Gate decisions: denied bursts, QR replay, anti-passback, late return."""

from __future__ import annotations

import pytest

from protocol.messages import AccessReason, Direction
from rules import access_rules
from tests.rules.helpers import GATE, Harness

CARD = "00aa11bb22cc33dd"


def test_five_denials_at_one_gate_within_50_s_raise_one_burst() -> None:
    h = Harness()
    for i in range(7):
        h.feed(h.access(i * 10, granted=False, person=None, card_ref=f"{i:016x}"))
    h.feed(h.heartbeat(200, device=GATE))
    raised = h.raised("denied_burst_gate")
    assert len(raised) == 1
    assert raised[0].subject == f"gate:{GATE}"
    assert raised[0].event_time.second == 40
    assert len(raised[0].evidence) == 5


def test_five_denials_spread_over_more_than_50_s_are_not_a_burst() -> None:
    h = Harness()
    for i in range(8):
        h.feed(h.access(i * 13, granted=False, person=None, card_ref=f"{i:016x}"))
    h.feed(h.heartbeat(300, device=GATE))
    assert h.raised("denied_burst_gate") == []


def test_one_credential_denied_three_times_in_ten_minutes() -> None:
    h = Harness()
    for t in (0, 200, 500):
        h.feed(h.access(t, granted=False, person=None, card_ref=CARD))
    h.feed(h.heartbeat(600, device=GATE))
    raised = h.raised("denied_burst_credential")
    assert [s.subject for s in raised] == [f"credential:{CARD}"]


def test_three_denials_of_one_credential_over_more_than_ten_minutes_are_not_a_burst() -> None:
    h = Harness()
    for t in (0, 400, 800, 1300):
        h.feed(h.access(t, granted=False, person=None, card_ref=CARD))
    h.feed(h.heartbeat(2000, device=GATE))
    assert h.raised("denied_burst_credential") == []


def test_a_replayed_qr_token_is_raised() -> None:
    h = Harness()
    h.feed(h.access(0, granted=False, reason=AccessReason.TOKEN_REPLAYED, person="p-1"))
    assert [(s.rule, s.subject) for s in h.raised()] == [("qr_replay", "credential:p-1")]


def test_an_expired_token_is_not_a_replay() -> None:
    h = Harness()
    h.feed(h.access(0, granted=False, reason=AccessReason.TOKEN_EXPIRED, person="p-1"))
    assert h.raised("qr_replay") == []


def test_the_gates_passback_flag_raises_anti_passback() -> None:
    h = Harness()
    h.feed(h.access(0), h.access(60, passback=True))
    assert [s.subject for s in h.raised("anti_passback")] == ["person:p-1"]
    assert h.raised("anti_passback")[0].severity.value == "info"


def test_alternating_passages_are_no_passback() -> None:
    h = Harness()
    h.feed(h.access(0), h.access(60, direction=Direction.EXIT))
    assert h.raised("anti_passback") == []


def test_an_entry_after_curfew_is_a_late_return() -> None:
    h = Harness()
    # T0 is 10:00 UTC; the curfew runs 23:00-06:00.
    h.feed(h.access(13.5 * 3600))  # 23:30
    h.feed(h.access(19.5 * 3600, person="p-2"))  # 05:30 next morning
    assert [s.subject for s in h.raised("late_return")] == ["person:p-1", "person:p-2"]


def test_entries_before_curfew_exits_and_staff_are_not_late_returns() -> None:
    h = Harness()
    h.feed(h.access(12.9 * 3600))  # 22:54
    h.feed(h.access(13.5 * 3600, direction=Direction.EXIT))
    h.feed(h.access(13.6 * 3600, person="c-1"))  # staff
    h.feed(h.access(20.5 * 3600, person="p-2"))  # 06:30
    assert h.raised("late_return") == []


def test_denial_windows_of_unknown_cards_are_forgotten_once_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(access_rules, "SWEEP_EVERY", 10)
    h = Harness()
    for i in range(100):
        h.feed(h.access(i * 700, granted=False, person=None, card_ref=f"{i:016x}"))
    rule = h.engine.rules["denied_burst_credential"]
    assert isinstance(rule, access_rules.DeniedBurstCredential)
    assert len(rule._bursts) <= 11
    assert h.raised("denied_burst_credential") == []
