"""Rooms: capacity, activity rooms, power, appliance steps, smoke, temperature."""

from __future__ import annotations

from rules.context import Booking
from rules.signals import Action, Level, Severity
from tests.rules.helpers import ACTIVITY, DORM, SENSOR, Harness, at, site


def test_over_capacity_for_two_minutes_is_raised_then_cleared() -> None:
    h = Harness()
    for t in range(0, 140, 10):
        h.feed(h.sample(t, occupancy=6))
    raised = h.raised("room_over_capacity")
    assert len(raised) == 1
    assert raised[0].event_time == at(120)
    assert raised[0].level is Level.ROOM
    assert raised[0].room == DORM
    assert raised[0].floor == "4"
    h.feed(h.sample(150, occupancy=3), h.sample(200, occupancy=3))
    assert len(h.cleared("room_over_capacity")) == 1


def test_over_capacity_for_less_than_two_minutes_is_not_raised() -> None:
    h = Harness()
    for t in range(0, 100, 10):
        h.feed(h.sample(t, occupancy=6))
    h.feed(h.sample(100, occupancy=4), h.sample(400, occupancy=4))
    assert h.raised("room_over_capacity") == []


def test_an_activity_room_occupied_after_hours_or_unbooked() -> None:
    h = Harness()
    h.feed(h.sample(11 * 3600, room=ACTIVITY, occupancy=3))  # 21:00
    h.feed(h.sample(11 * 3600 + 60, room=ACTIVITY, occupancy=0))
    h.feed(h.sample(11 * 3600 + 120, room=ACTIVITY, occupancy=0))
    assert [s.params["reason"] for s in h.raised("activity_room_misuse")] == ["outside_hours"]
    assert len(h.cleared("activity_room_misuse")) == 1
    h2 = Harness()
    h2.feed(h2.sample(0, room=ACTIVITY, occupancy=3), h2.sample(10, room=ACTIVITY, occupancy=0))
    assert [s.params["reason"] for s in h2.raised("activity_room_misuse")] == ["not_booked"]


def test_a_booked_activity_room_in_opening_hours_and_a_dorm_room_are_fine() -> None:
    h = Harness(site(bookings=[Booking(ACTIVITY, at(0), at(3600))]))
    h.feed(h.sample(60, room=ACTIVITY, occupancy=12), h.sample(11 * 3600, occupancy=2))
    h.feed(h.sample(11 * 3600 + 60, room=ACTIVITY, occupancy=0))
    assert h.raised("activity_room_misuse") == []


def test_power_over_the_rooms_maximum_for_10_s_is_raised_and_cleared() -> None:
    h = Harness()
    h.feed(h.sample(0, power_w=2000), h.sample(5, power_w=2100), h.sample(16, power_w=2100))
    raised = h.raised("power_over_limit")
    assert len(raised) == 1
    assert raised[0].event_time == at(10)
    assert raised[0].severity is Severity.MAJOR
    h.feed(h.sample(20, power_w=300), h.sample(30, power_w=300))
    assert len(h.cleared("power_over_limit")) == 1


def test_a_short_power_peak_is_not_over_the_limit() -> None:
    h = Harness()
    h.feed(h.sample(0, power_w=2000), h.sample(5, power_w=800), h.sample(60, power_w=800))
    assert h.raised("power_over_limit") == []


def test_an_appliance_step_over_1000_w() -> None:
    h = Harness()
    h.feed(h.sample(0, power_w=100), h.sample(5, power_w=1300), h.sample(60, power_w=1300))
    assert [s.params["step_w"] for s in h.raised("appliance_step")] == [1200.0]


def test_a_gradual_rise_is_no_appliance_step() -> None:
    h = Harness()
    h.feed(*(h.sample(t * 5, power_w=100 + t * 400) for t in range(4)), h.sample(60))
    assert h.raised("appliance_step") == []


def test_smoke_is_critical_at_once_and_asks_for_fire_release() -> None:
    h = Harness()
    out = h.feed(h.sample(0, smoke=True))
    assert [s.rule for s in out] == ["smoke"]
    assert out[0].severity is Severity.CRITICAL
    assert out[0].actions == (Action.FIRE_RELEASE,)


def test_no_smoke_no_smoke_alert() -> None:
    h = Harness()
    h.feed(h.sample(0), h.sample(60, temperature_c=40))
    assert h.raised("smoke") == []


def test_temperature_high_with_hysteresis() -> None:
    h = Harness()
    h.feed(
        h.sample(0, temperature_c=46),
        h.sample(10, temperature_c=44),
        h.sample(20, temperature_c=47),
        h.sample(30, temperature_c=39),
        h.sample(60, temperature_c=39),
    )
    assert len(h.raised("temperature_high")) == 1
    assert len(h.cleared("temperature_high")) == 1


def test_warm_is_not_temperature_high() -> None:
    h = Harness()
    h.feed(h.sample(0, temperature_c=44.9), h.sample(60))
    assert h.raised("temperature_high") == []
    assert SENSOR  # the sample's device
