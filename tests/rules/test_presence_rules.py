"""Residents: not returned at the night check, not seen for 48 h (leave suppresses)."""

from __future__ import annotations

from datetime import timedelta

from protocol.messages import Direction
from rules.context import Leave
from tests.rules.helpers import GATE, Harness, at, site


def test_a_resident_out_at_the_night_check_is_not_returned_and_clears_on_entry() -> None:
    h = Harness()
    h.feed(h.access(0), h.access(100, person="p-2"))  # both in
    h.feed(h.access(3600, direction=Direction.EXIT))  # p-1 out at 11:00
    h.feed(h.heartbeat(14 * 3600, device=GATE))  # 00:00: past the 23:30 check
    raised = h.raised("not_returned")
    assert [s.subject for s in raised] == ["person:p-1"]
    assert raised[0].event_time == at(13.5 * 3600)
    h.feed(h.access(14.1 * 3600), h.heartbeat(14.2 * 3600, device=GATE))
    assert [s.subject for s in h.cleared("not_returned")] == ["person:p-1"]


def test_nobody_is_reported_when_everyone_is_in_or_on_leave() -> None:
    leave = Leave("p-1", at(0), at(86400))
    h = Harness(site(leaves=[leave]))
    h.feed(h.access(0, direction=Direction.EXIT))  # p-1 out, but on leave
    h.feed(h.access(50, person="p-2", direction=Direction.EXIT), h.access(60, person="p-2"))
    h.feed(h.heartbeat(14 * 3600, device=GATE))
    assert h.raised("not_returned") == []


def test_no_gate_event_for_48_h_is_not_seen() -> None:
    h = Harness()
    h.feed(h.access(0))
    h.feed(h.access(47 * 3600, person="p-2"))
    assert h.raised("not_seen") == []
    h.feed(h.access(48 * 3600 + 10, person="p-2"))
    assert [s.subject for s in h.raised("not_seen")] == ["person:p-1"]
    h.feed(h.access(49 * 3600), h.heartbeat(49 * 3600 + 60, device=GATE))
    assert [s.subject for s in h.cleared("not_seen")] == ["person:p-1"]


def test_a_registered_leave_suppresses_not_seen() -> None:
    h = Harness(site(leaves=[Leave("p-1", at(3600), at(72 * 3600))]))
    h.feed(h.access(0))
    h.feed(h.access(100 * 3600, person="p-2"))
    assert h.raised("not_seen") == []
    # 48 h after the leave ended, still unseen: now it is raised.
    h.feed(h.access(121 * 3600, person="p-2"))
    raised = h.raised("not_seen")
    assert [s.subject for s in raised] == ["person:p-1"]
    assert raised[0].event_time == at(72 * 3600) + timedelta(hours=48)
