"""What every agent shares: inbound messages, heartbeats, outbox pressure, sequence numbers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.events import EventSink, SeqStore
from edge.mqtt_link import Inbound
from protocol.ids import new_event_id
from protocol.messages import (
    AllowlistDelta,
    Command,
    CommandAction,
    Heartbeat,
    PersonKind,
    encode,
)
from protocol.topics import Family, building_topic, device_topic
from tests.edge.conftest import GateRig
from tests.edge.helpers import entry, snapshot
from transport.outbox import Outbox, Priority


def test_sequence_numbers_survive_restarts_without_repeats(tmp_path: Path) -> None:
    first = SeqStore(tmp_path, block=10)
    assert [first.next() for _ in range(12)] == list(range(12))
    # A crash here: the next process starts above everything reserved.
    second = SeqStore(tmp_path, block=10)
    assert second.next() == 20


def test_full_outbox_sheds_telemetry_before_events_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    with Outbox(tmp_path / "outbox.db", max_rows=10) as outbox:
        sink = EventSink("b1-gate-in", "b1", outbox, SeqStore(tmp_path), clock=lambda: now)

        def heartbeat() -> Heartbeat | None:
            return sink.emit(
                Heartbeat,
                priority=Priority.TELEMETRY,
                software_version="1",
                config_version="c",
                allowlist_version=1,
                outbox_depth=outbox.depth,
                clock_offset_ms=0,
                uptime_s=1.0,
            )

        def ack() -> object:
            return sink.emit(
                Heartbeat,
                software_version="1",
                config_version="c",
                allowlist_version=1,
                outbox_depth=0,
                clock_offset_ms=0,
                uptime_s=1.0,
            )

        with caplog.at_level(logging.WARNING, logger="edge.events"):
            for _ in range(5):
                assert heartbeat() is not None
            for _ in range(5):
                assert ack() is not None  # events (priority EVENT)
            assert "≥ 90%" in caplog.text
            assert ack() is not None  # full: the oldest telemetry goes
            assert outbox.shed_telemetry == 1
            assert heartbeat() is None  # telemetry is refused, not an event
            assert "shed 1 telemetry, refused 1 telemetry" in caplog.text
        assert outbox.depth == 10
        rows = outbox.next_batch(100)
        assert [r.priority for r in rows].count(Priority.EVENT) == 6


def test_bad_inbound_messages_are_counted_and_the_loop_goes_on(gate_rig: GateRig) -> None:
    gate = gate_rig.gate
    cmd_topic = device_topic("b1", "b1-gate-in", Family.COMMAND)
    gate.handle_inbound(Inbound(cmd_topic, b"{not json"))
    gate.handle_inbound(Inbound("dorm/v9/b1/whatever", b"{}"))
    gate.handle_inbound(Inbound(building_topic("b1", Family.ALLOWLIST_SNAPSHOT), b'{"x": 1}'))
    assert gate.rejected == {"malformed": 1, "unknown_topic": 1, "allowlist_snapshot": 1}
    command = Command(
        id=new_event_id(),
        device="b1-gate-in",
        action=CommandAction.UNLOCK,
        issued_at=gate_rig.now[0] - timedelta(seconds=2),
        expires_at=gate_rig.now[0] + timedelta(minutes=1),
    )
    gate.handle_inbound(Inbound(cmd_topic, encode(command)))
    assert gate_rig.hw.relay.pin.state
    assert gate.clock_offset_ms == 2000


def test_allowlist_messages_arrive_through_the_inbox(gate_rig: GateRig) -> None:
    gate = gate_rig.gate
    assert gate.allowlist_version == 1
    newer = snapshot(20, version=5)
    gate.handle_inbound(Inbound(building_topic("b1", Family.ALLOWLIST_SNAPSHOT), encode(newer)))
    assert gate.allowlist_version == 5
    assert len(gate.store.current) == 20
    delta_topic = building_topic("b1", Family.ALLOWLIST_DELTA)
    gap = AllowlistDelta(building="b1", from_version=7, version=8, issued_at=gate_rig.now[0])
    gate.handle_inbound(Inbound(delta_topic, encode(gap)))
    assert gate.allowlist_version == 5  # refused: a snapshot is needed
    assert gate.store.snapshots_needed == 1
    fits = AllowlistDelta(
        building="b1",
        from_version=5,
        version=6,
        issued_at=gate_rig.now[0],
        upserts=[entry(99, PersonKind.VISITOR)],
    )
    gate.handle_inbound(Inbound(delta_topic, encode(fits)))
    assert gate.allowlist_version == 6
    assert len(gate.store.current) == 21


def test_heartbeat_reports_versions_depth_and_offset(gate_rig: GateRig) -> None:
    gate_rig.gate.present_card("NOBODY")
    beat = gate_rig.gate.heartbeat()
    assert beat is not None
    assert beat.allowlist_version == 1
    assert beat.outbox_depth == 1  # the decision before it
    assert beat.config_version == "test"
    assert beat.interval_s == 30.0
    assert (beat.outbox_shed, beat.outbox_refused) == (0, 0)
    rows = gate_rig.outbox.next_batch(10)
    assert rows[-1].priority is Priority.TELEMETRY
    assert rows[-1].topic.endswith("/heartbeat")


def test_an_event_that_cannot_be_built_is_counted_not_raised(tmp_path: Path) -> None:
    unset_clock = datetime(1970, 1, 1, tzinfo=UTC)  # a Pi without RTC before NTP
    with Outbox(tmp_path / "outbox.db") as outbox:
        sink = EventSink("b1-gate-in", "b1", outbox, SeqStore(tmp_path), clock=lambda: unset_clock)
        made = sink.emit(
            Heartbeat,
            software_version="1",
            config_version="c",
            allowlist_version=0,
            outbox_depth=0,
            clock_offset_ms=0,
            uptime_s=0.0,
        )
        assert made is None
        assert sink.failed == 1
        assert outbox.depth == 0


def test_reload_config_outcomes(gate_rig: GateRig) -> None:
    gate = gate_rig.gate

    def command() -> Command:
        return Command(
            id=new_event_id(),
            device="b1-gate-in",
            action=CommandAction.RELOAD_CONFIG,
            issued_at=gate_rig.now[0],
            expires_at=gate_rig.now[0] + timedelta(minutes=1),
        )

    assert gate.execute(command()).result.value == "rejected"  # no file to reload
    gate.reload_config = lambda: "abc123"
    outcome = gate.execute(command())
    assert (outcome.result.value, outcome.detail) == ("ok", "configuration abc123")
    assert gate.config_version == "abc123"

    def broken() -> str:
        raise ValueError("unlock_s: must be > 0")

    gate.reload_config = broken
    failed = gate.execute(command())
    assert failed.result.value == "failed"
    assert "unlock_s" in failed.detail
    assert gate.config_version == "abc123"
