"""Devices: offline, outbox near full, clock skew."""

from __future__ import annotations

from protocol.messages import DeviceStatus
from tests.rules.helpers import GATE, SENSOR, Harness


def test_three_missed_heartbeats_are_offline_and_a_heartbeat_clears_it() -> None:
    h = Harness()
    h.feed(h.heartbeat(0), h.heartbeat(0, device=GATE))
    for t in range(30, 200, 30):
        h.feed(h.heartbeat(t, device=GATE))
    raised = h.raised("device_offline")
    assert [(s.subject, s.event_time.second) for s in raised] == [(f"device:{SENSOR}", 30)]
    h.feed(h.heartbeat(200), h.heartbeat(240, device=GATE))
    assert len(h.cleared("device_offline")) == 1


def test_regular_heartbeats_are_not_offline() -> None:
    h = Harness()
    for t in range(0, 400, 30):
        h.feed(h.heartbeat(t), h.heartbeat(t, device=GATE))
    assert h.raised("device_offline") == []


def test_a_last_will_is_offline_at_once_and_online_clears_it() -> None:
    h = Harness()
    h.feed(h.state(0, DeviceStatus.OFFLINE), h.heartbeat(20, device=GATE))
    assert len(h.raised("device_offline")) == 1
    h.feed(h.state(30, DeviceStatus.ONLINE), h.heartbeat(50, device=GATE))
    assert len(h.cleared("device_offline")) == 1


def test_outbox_near_full_on_devices_and_gateways() -> None:
    h = Harness()
    h.feed(h.heartbeat(0, depth=6000), h.gateway(0, depth=950), h.heartbeat(30, device=GATE))
    assert sorted(s.subject for s in h.raised("outbox_near_full")) == [
        "device:b1-gw",
        f"device:{SENSOR}",
    ]
    h.feed(h.heartbeat(40, depth=10), h.heartbeat(60, device=GATE))
    assert len(h.cleared("outbox_near_full")) == 1


def test_a_small_outbox_is_not_near_full() -> None:
    h = Harness()
    h.feed(h.heartbeat(0, depth=100), h.gateway(0, depth=100), h.heartbeat(30, device=GATE))
    assert h.raised("outbox_near_full") == []


def test_clock_skew_over_5_s() -> None:
    h = Harness()
    h.feed(h.heartbeat(0, offset_ms=-7000), h.heartbeat(30, device=GATE))
    assert [s.params["offset_s"] for s in h.raised("clock_skew")] == [-7.0]
    h.feed(h.heartbeat(40, offset_ms=100), h.heartbeat(60, device=GATE))
    assert len(h.cleared("clock_skew")) == 1


def test_a_small_offset_is_no_clock_skew() -> None:
    h = Harness()
    h.feed(h.heartbeat(0, offset_ms=4900), h.heartbeat(30, device=GATE))
    assert h.raised("clock_skew") == []
