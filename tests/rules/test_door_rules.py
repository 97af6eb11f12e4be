"""Doors: forced, held open, not used, tailgating — each fired and not fired."""

from __future__ import annotations

from protocol.messages import Direction, DoorEventKind
from tests.rules.helpers import GATE, Harness


def test_a_forced_door_is_raised_at_once_and_once() -> None:
    h = Harness()
    forced = h.door(0, DoorEventKind.FORCED)
    out = h.feed(forced)
    assert [s.rule for s in out] == ["door_forced"]
    assert out[0].subject == f"door:{GATE}/main"
    assert out[0].evidence == (forced.id,)
    assert out[0].level.value == "building"
    assert not out[0].delayed
    h.feed(forced)  # a redelivery
    assert len(h.raised("door_forced")) == 1


def test_a_granted_opening_is_not_forced() -> None:
    h = Harness()
    h.feed(h.door(0, DoorEventKind.OPENED), h.door(5, DoorEventKind.CLOSED))
    h.feed(h.heartbeat(60, device=GATE))
    assert h.raised() == []


def test_a_door_open_past_30_s_is_raised_when_the_watermark_passes_and_clears_on_close() -> None:
    h = Harness()
    h.feed(h.door(0, DoorEventKind.OPENED))
    h.feed(h.heartbeat(32, device=GATE))  # watermark 32 - 3 = 29: not yet
    assert h.raised("door_held_open") == []
    h.feed(h.heartbeat(34, device=GATE))  # watermark 31 > 30
    raised = h.raised("door_held_open")
    assert len(raised) == 1
    assert raised[0].event_time.second == 30
    h.feed(h.door(50, DoorEventKind.CLOSED), h.heartbeat(60, device=GATE))
    assert [s.params["open_s"] for s in h.cleared("door_held_open")] == [50.0]


def test_a_door_closed_within_30_s_is_not_held_open_even_when_the_close_comes_late() -> None:
    h = Harness()
    h.feed(h.door(0, DoorEventKind.OPENED))
    close = h.door(29, DoorEventKind.CLOSED)
    h.feed(h.heartbeat(31, device=GATE))  # arrives before the close (within lateness)
    h.feed(close, h.heartbeat(90, device=GATE))
    assert h.raised("door_held_open") == []


def test_the_gates_own_held_open_report_raises_once() -> None:
    h = Harness()
    h.feed(h.door(0, DoorEventKind.OPENED), h.door(31, DoorEventKind.HELD_OPEN, open_s=31.0))
    h.feed(h.heartbeat(60, device=GATE))
    assert len(h.raised("door_held_open")) == 1


def test_granted_but_not_used() -> None:
    h = Harness()
    h.feed(h.door(0, DoorEventKind.GRANTED_NOT_USED, grant_id="0" * 25 + "1"))
    assert [s.rule for s in h.raised()] == ["door_not_used"]
    h2 = Harness()
    h2.feed(h2.door(0, DoorEventKind.EXIT_REQUEST))
    assert h2.raised() == []


def test_tailgating_is_more_passages_than_grants() -> None:
    h = Harness()
    out = h.feed(h.passages(0, 2))
    assert [s.rule for s in out] == ["tailgating"]
    assert out[0].params["passages"] == 2


def test_one_passage_per_grant_an_exit_or_an_ungranted_count_is_not_tailgating() -> None:
    h = Harness()
    h.feed(
        h.passages(0, 1),
        h.passages(10, 3, direction=Direction.EXIT),
        h.passages(20, 2, grant_id=None),
    )
    assert h.raised() == []
