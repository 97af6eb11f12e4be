"""Stimuli on the agents' hardware, read back from the building outbox (no broker needed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from edge.mqtt_link import BrokerAddress
from protocol.codec import decode
from protocol.messages import (
    AccessDecision,
    AccessReason,
    DoorEvent,
    DoorEventKind,
    PassageCount,
    RoomTelemetry,
)
from simulators import campus as campus_mod
from simulators import population as population_mod
from simulators.behaviour import Appliance, GatePass, RoomMove
from simulators.runner import SimOptions, Simulation
from tests.simulators.helpers import CARD_KEY, MONDAY_6AM, signing_key


def _offline_sim(tmp_path: Path) -> Simulation:
    campus = campus_mod.generate(1, 4)
    population = population_mod.generate(campus, 12, seed=1, start=MONDAY_6AM.date())
    return Simulation(
        campus,
        population,
        SimOptions(
            brokers=(BrokerAddress("127.0.0.1", 9),),  # never started: events stay queued
            state_dir=tmp_path,
            card_key=CARD_KEY,
            signing_key=signing_key(),
            start=MONDAY_6AM,
            speed=None,
        ),
    )


def _events(sim: Simulation) -> list[Any]:
    rows = sim.rigs["b1"].outbox.next_batch(100_000)
    return [decode(row.topic, row.payload) for row in rows]


def test_people_queue_at_a_gate_instead_of_forcing_it(tmp_path: Path) -> None:
    sim = _offline_sim(tmp_path)
    residents = [s.id for s in sim.population.students[:5]]
    for person in residents:  # five people at the exit gate in the same second
        sim.perform(GatePass(MONDAY_6AM, "b1", "exit", person, "card"))
    qr_user = sim.population.students[5].id
    sim.perform(GatePass(MONDAY_6AM, "b1", "entry", qr_user, "qr", walkers=2))
    sim.run_until(MONDAY_6AM + timedelta(minutes=2))
    events = _events(sim)
    sim.stop()
    door = [e for e in events if isinstance(e, DoorEvent) and e.device == "b1-gate-out"]
    kinds = [e.kind for e in door]
    assert DoorEventKind.FORCED not in kinds
    assert kinds.count(DoorEventKind.OPENED) == 5
    assert sim.counts["queued"] >= 4
    decisions = [e for e in events if isinstance(e, AccessDecision)]
    assert {d.person for d in decisions} == {*residents, qr_user}
    assert all(d.reason is AccessReason.OK for d in decisions)
    qr = next(d for d in decisions if d.person == qr_user)
    assert qr.credential.value == "qr"
    assert sim.counts["qr_frames"] == 1  # read from a synthesised camera frame
    passages = [e for e in events if isinstance(e, PassageCount) and e.device == "b1-gate-in"]
    assert [p.count for p in passages] == [2]


def test_room_sensor_follows_people_and_appliances(tmp_path: Path) -> None:
    sim = _offline_sim(tmp_path)
    room = sim.campus.building("b1").dorms[0].id
    sim.start()
    sim.loop.call_later(60, lambda: sim.perform(RoomMove(sim.loop.now(), room, -2)))
    sim.loop.call_later(120, lambda: sim.perform(Appliance(sim.loop.now(), room, 1800.0, 300.0)))
    sim.run_until(MONDAY_6AM + timedelta(minutes=10))
    telemetry = [e for e in _events(sim) if isinstance(e, RoomTelemetry) and e.room == room]
    sim.stop()
    occupancy = [t.occupancy for t in telemetry]
    home = [s for s in sim.population.students if s.room == room and not s.on_leave]
    assert occupancy[0] == len(home) == 2  # 3 beds taken, one student on leave
    assert 0 in occupancy
    assert any(t.power_w > 1500 for t in telemetry)
    assert telemetry[-1].power_w < 100  # the kettle went off again
