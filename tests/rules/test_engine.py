"""The engine: duplicates, lateness, order, the outage backlog, processing time, reloads."""

from __future__ import annotations

import random
from datetime import timedelta

from protocol.ids import new_event_id
from protocol.messages import DeviceEvent, DoorEvent, DoorEventKind, Message
from rules.config import default_config
from rules.engine import Engine
from rules.sampleday import sample_day
from rules.signals import AlertSignal, SignalKind
from tests.rules.helpers import GATE, Clock, Harness, at, keys, ts_of

LATENESS = {"gate": 3.0, "kiosk": 5.0, "room": 5.0, "health": 10.0}
GATE_IN = "b1-gate-in"
STREAM_OF = {
    "AccessDecision": "gate",
    "DoorEvent": "gate",
    "PassageCount": "gate",
    "DutyCheck": "kiosk",
    "RoomTelemetry": "room",
}


def event_id(message: Message) -> str:
    assert isinstance(message, DeviceEvent)
    return message.id


def _feed(
    engine: Engine, clock: Clock, messages: list[tuple[str, Message]], batch: int = 64
) -> list[AlertSignal]:
    out: list[AlertSignal] = []
    for i in range(0, len(messages), batch):
        chunk = messages[i : i + batch]
        newest = max(ts_of(m) for _b, m in chunk)
        clock.now = max(clock.now, newest)
        out += engine.observe(chunk)
    return out


def test_a_redelivered_event_is_judged_once() -> None:
    h = Harness()
    forced = h.door(0, DoorEventKind.FORCED)
    opened = h.door(100, DoorEventKind.OPENED)
    h.feed(forced, forced, opened)
    h.feed(opened, forced, h.heartbeat(200, device=GATE))
    h.feed(opened)  # long after: below the watermark, counted as late
    assert [s.rule for s in h.raised()] == ["door_forced", "door_held_open"]
    # A repeat while the event is still held is a duplicate; once the watermark
    # has passed it, a repeat is late (and judged no more than a duplicate).
    assert h.engine.counters["duplicates"] == 2
    assert h.engine.counters["late"] == 2


def test_an_event_beyond_the_lateness_is_counted_logged_and_dropped(caplog: object) -> None:
    h = Harness()
    h.feed(h.door(100, DoorEventKind.OPENED))
    h.feed(h.door(90, DoorEventKind.FORCED))  # 10 s behind a 3 s lateness
    assert h.raised("door_forced") == []
    assert h.engine.counters["late.gate"] == 1
    h.feed(h.door(98, DoorEventKind.FORCED))  # within the lateness: judged
    assert len(h.raised("door_forced")) == 1


def test_the_same_day_in_order_and_shuffled_within_the_lateness_gives_the_same_signals() -> None:
    day = sample_day(hours=6, rooms=20, seed=3)
    end = ts_of(day.messages[-1][1]) + timedelta(hours=1)

    def run(messages: list[tuple[str, Message]]) -> list[AlertSignal]:
        clock = Clock(at(0))
        engine = Engine(day.ctx, default_config(), clock=clock)
        out = _feed(engine, clock, messages)
        clock.now = end
        return out + engine.advance_event_time(end)

    in_order = run(day.messages)
    rng = random.Random(7)

    def arrival(item: tuple[str, Message]) -> float:
        message = item[1]
        kind = STREAM_OF.get(type(message).__name__, "health")
        return ts_of(message).timestamp() + rng.random() * LATENESS[kind] * 0.99

    shuffled = sorted(day.messages, key=arrival)
    assert shuffled != day.messages
    shuffled_run = run(shuffled)
    assert keys(in_order) == keys(shuffled_run)
    assert {(i.rule, i.subject, i.at) for i in day.incidents} <= {
        (s.rule, s.subject, s.event_time) for s in in_order if s.kind is SignalKind.RAISE
    }


def test_a_two_hour_outage_backlog_yields_exactly_its_incidents_delayed_none_twice() -> None:
    day = sample_day(hours=6, rooms=20, seed=5)
    start = ts_of(day.messages[0][1])
    down, up = start + timedelta(hours=2), start + timedelta(hours=4)
    end = start + timedelta(hours=6)
    # A door opened 10 s before the uplink fails and closed 10 s into the
    # outage (open 20 s): its close waits in the backlog while processing time
    # runs on, so it must never be "held open".
    opened_at, closed_at = down - timedelta(seconds=10), down + timedelta(seconds=10)
    door: list[tuple[str, Message]] = [
        (
            day.building,
            DoorEvent(
                id=new_event_id(int(t.timestamp() * 1000), bytes(10)),
                device=GATE_IN,
                seq=10**6 + i,
                ts=t,
                kind=kind,
                door="back",
            ),
        )
        for i, (t, kind) in enumerate(
            [(opened_at, DoorEventKind.OPENED), (closed_at, DoorEventKind.CLOSED)]
        )
    ]
    day.messages = sorted(day.messages + door, key=lambda m: (ts_of(m[1]), event_id(m[1])))

    # The reference: the same day, live, no outage.
    clock = Clock(start)
    reference = Engine(day.ctx, default_config(), clock=clock)
    expected = _feed(reference, clock, day.messages) + reference.advance_event_time(end)

    def in_outage(s: AlertSignal) -> bool:
        return down <= s.event_time < up

    # The outage: live until `down`; nothing for two hours while the server's
    # clock runs on; then the gateway drains its outbox (events first, then
    # telemetry), every message marked replayed, a few sent twice.
    clock = Clock(start)
    engine = Engine(day.ctx, default_config(), clock=clock)
    before = [m for m in day.messages if ts_of(m[1]) < down]
    backlog = [m for m in day.messages if down <= ts_of(m[1]) < up]
    after = [m for m in day.messages if ts_of(m[1]) >= up]
    _feed(engine, clock, before)
    during: list[AlertSignal] = []
    while clock.now < up:
        clock.now += timedelta(seconds=10)
        during += engine.advance(clock.now)
    assert during == []  # the building is not live: no timer fires by processing time

    def replayed(item: tuple[str, Message]) -> tuple[str, Message]:
        import msgspec

        return item[0], msgspec.structs.replace(item[1], replayed=True)

    events = [replayed(m) for m in backlog if type(m[1]).__name__ in STREAM_OF]
    telemetry = [replayed(m) for m in backlog if type(m[1]).__name__ not in STREAM_OF]
    drain = events + events[100:150] + telemetry + telemetry[:80]
    out: list[AlertSignal] = []
    for i in range(0, len(drain), 500):
        clock.now += timedelta(seconds=1)
        out += engine.observe(drain[i : i + 500])
    replay_signals = out
    assert replay_signals, "the backlog holds incidents"
    assert all(s.delayed for s in replay_signals)
    assert all(in_outage(s) for s in replay_signals)
    undelayed = [(s.rule, s.subject, s.kind.value, s.event_time) for s in replay_signals]
    assert len(undelayed) == len(set(undelayed))  # none twice
    want = sorted((s.rule, s.subject, s.kind.value, s.event_time) for s in expected if in_outage(s))
    # Timers due in the last lateness of the backlog fire with the first live messages.
    live = _feed(engine, clock, after[:2000])
    got = sorted(
        undelayed + [(s.rule, s.subject, s.kind.value, s.event_time) for s in live if in_outage(s)]
    )
    assert got == want
    assert not any(s.rule == "device_offline" for s in replay_signals + live)
    assert not any(s.subject == f"door:{GATE_IN}/back" for s in replay_signals + live)
    planted = {(i.rule, i.subject, i.at) for i in day.incidents if down <= i.at < up}
    assert planted
    assert planted <= {(r, s, t) for r, s, k, t in got if k == "raise"}


def test_processing_time_moves_only_a_live_building() -> None:
    h = Harness()
    h.feed(h.door(0, DoorEventKind.OPENED))
    h.idle(40)
    # The last live message arrived at 0 (processing time): the watermark may run
    # only idle_advance_s past it, never 40 s: the close may be in a gateway's backlog.
    assert h.raised("door_held_open") == []
    h.feed(h.gateway(45))  # a live gateway report arrives at 45 s
    h.idle(5)
    assert len(h.raised("door_held_open")) == 1


def test_a_gateway_draining_a_backlog_stops_processing_time() -> None:
    h = Harness()
    h.feed(h.door(0, DoorEventKind.OPENED), h.gateway(1, depth=5000))
    h.idle(100)
    assert h.raised("door_held_open") == []
    h.feed(h.gateway(110, depth=0))
    h.idle(5)
    assert len(h.raised("door_held_open")) == 1


def test_reloading_rules_keeps_state_of_rules_that_stay() -> None:
    h = Harness()
    h.feed(h.door(0, DoorEventKind.OPENED), h.heartbeat(5, device=GATE))
    config = default_config()
    changed = config.model_copy(
        update={
            "rules": config.rules.model_copy(
                update={
                    "door_held_open": config.rules.door_held_open.model_copy(
                        update={"after_s": 60.0}
                    ),
                    "door_forced": config.rules.door_forced.model_copy(update={"enabled": False}),
                }
            )
        }
    )
    h.engine.reload_rules(changed)
    h.feed(h.door(10, DoorEventKind.FORCED, door="side"), h.heartbeat(40, device=GATE))
    # The main door's opening (state and timer) survived the reload; forced is off.
    assert [(s.rule, s.subject) for s in h.raised()] == [("door_held_open", f"door:{GATE}/main")]
    h.feed(h.heartbeat(65, device=GATE))
    assert len(h.raised()) == 1  # the side door's opening uses the new 60 s
    h.feed(h.heartbeat(80, device=GATE))
    assert [s.subject for s in h.raised()][1:] == [f"door:{GATE}/side"]
    h.engine.reload_rules(default_config())
    h.feed(h.door(90, DoorEventKind.FORCED, door="side"), h.heartbeat(100, device=GATE))
    assert [s.rule for s in h.raised()][2:] == ["door_forced"]


def test_reloading_the_context_applies_new_rooms_and_bookings() -> None:
    from rules.context import RoomInfo, SiteContext

    h = Harness()
    h.feed(h.sample(0, room="b1-new", occupancy=9), h.sample(200, room="b1-new", occupancy=9))
    assert h.raised("room_over_capacity") == []  # an unknown room has no capacity
    ctx = h.engine.ctx
    h.engine.reload_context(
        SiteContext.build(
            tz=ctx.tz,
            buildings=ctx.buildings.values(),
            devices=ctx.devices.values(),
            persons=ctx.persons.values(),
            rooms=[*ctx.rooms.values(), RoomInfo("b1-new", "b1", "2", "dorm", 4, 1500)],
        )
    )
    h.feed(*(h.sample(t, room="b1-new", occupancy=9) for t in range(210, 400, 20)))
    assert [s.subject for s in h.raised("room_over_capacity")] == ["room:b1-new"]


def test_a_rule_scoped_to_other_buildings_is_silent_here() -> None:
    config = default_config()
    scoped = config.model_copy(
        update={
            "rules": config.rules.model_copy(
                update={
                    "door_forced": config.rules.door_forced.model_copy(
                        update={"buildings": ["b2"]}
                    ),
                }
            )
        }
    )
    h = Harness(config=scoped)
    h.feed(h.door(0, DoorEventKind.FORCED))
    h.feed(h.door(0, DoorEventKind.FORCED), building="b2")
    assert [s.building for s in h.raised("door_forced")] == ["b2"]


def test_a_device_clock_far_in_the_future_does_not_make_everyone_late() -> None:
    h = Harness(live=False)  # processing time stays where the test puts it
    h.feed(h.door(0, DoorEventKind.OPENED))
    h.feed(h.door(3600, DoorEventKind.FORCED, door="side"))  # a clock an hour ahead
    assert len(h.raised("door_forced")) == 1  # judged on arrival all the same
    h.clock.now = at(10)
    h.feed(h.door(5, DoorEventKind.CLOSED), h.heartbeat(10, device=GATE))
    assert h.engine.counters.get("late", 0) == 0
    assert h.engine.counters["future"] == 1
    assert h.raised("door_held_open") == []


def test_a_devices_own_backlog_is_judged_by_the_single_event_rules_once() -> None:
    h = Harness()
    h.feed(h.access(0, device="b1-gate-out"), h.access(600, device="b1-gate-out"))
    # The gate was cut off from its gateway for ten minutes; its outbox now
    # delivers what happened then (the gateway stamps when it got them).
    forced = h.door(100, DoorEventKind.FORCED, received_at=at(601))
    passages = h.passages(110, 3)
    stale = h.door(120, DoorEventKind.OPENED, received_at=at(601))
    h.feed(forced, stale, forced)
    assert [s.rule for s in h.raised()] == ["door_forced"]
    assert h.raised()[0].delayed  # 500 s behind processing time
    assert h.engine.counters["device_backlog"] == 2
    assert h.engine.counters["duplicates"] == 1
    # Without a gateway stamp showing a device backlog, it is simply late.
    h.feed(passages)
    assert h.engine.counters["late"] == 1
    assert h.raised("tailgating") == []


def test_messages_the_rules_do_not_take_are_counted_and_skipped() -> None:
    from protocol.messages import Command, CommandAction

    h = Harness()
    command = Command(
        id=h.ids(), device=GATE, action=CommandAction.UNLOCK, issued_at=at(0), expires_at=at(60)
    )
    out = h.feed(command, h.door(1, DoorEventKind.FORCED), command)
    assert [s.rule for s in out] == ["door_forced"]
    assert h.engine.counters["ignored"] == 2
    assert h.engine.counters["events"] == 1
