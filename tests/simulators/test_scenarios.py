"""Scenario files: errors with file:line, and injects that reach the wire as the incidents."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from devservices import MosquittoBroker
from protocol.messages import (
    AccessDecision,
    AccessReason,
    DeviceState,
    DeviceStatus,
    DoorEvent,
    DoorEventKind,
    DutyAction,
    DutyCheck,
    PassageCount,
    RoomTelemetry,
)
from simulators import campus as campus_mod
from simulators.scenarios import load_scenario, packaged_scenarios, schedule
from siteconfig import ConfigError
from tests.simulators.helpers import MONDAY_6AM, Capture, small_sim

CAMPUS = campus_mod.generate(2, 8)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_packaged_scenarios_load_on_the_example_campus() -> None:
    from tests.edge.helpers import REPO

    campus = campus_mod.from_config_dir(REPO / "firmware-config")
    files = packaged_scenarios()
    assert files
    for path in files:
        loaded = load_scenario(path, campus)
        assert loaded.scenario.injects


def test_errors_name_file_line_and_reason(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: broken
        injects:
          - at: "09:10"
            do: forced_door
            building: b1
            expect:
              - {rule: door_forcd, subject: "door:*"}
          - at: "25:00"
            do: smoke
            room: b1-r101
          - at: "10:00"
            do: heater
            room: b9-r999
          - at: "11:00"
            do: explode
            building: b1
          - at: "12:00"
            do: tailgating
            building: b1
            walkers: 1
            colour: red
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_scenario(path, CAMPUS)
    issues = caught.value.issues
    text = "\n".join(issue.format() for issue in issues)

    def has(line: int, words: str) -> bool:
        return any(i.path == path and i.line == line and words in i.message for i in issues)

    assert has(7, "door_forcd")
    assert has(8, "HH:MM")
    assert has(15, "explode")
    assert has(20, "walkers")
    assert has(21, "unknown key 'colour'")
    # Rooms and buildings are checked against the campus once the structure is right.
    assert "b9-r999" not in text


def test_cross_checks_only_after_structure_passes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: wrong building
        injects:
          - {at: "09:00", do: uplink_cut, building: b7}
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_scenario(path, CAMPUS)
    assert [i.line for i in caught.value.issues] == [3]
    assert "unknown building 'b7'" in caught.value.issues[0].message
    rooms = _write(tmp_path, 'name: r\ninjects:\n  - {at: "09:00", do: smoke, room: b9-r999}\n')
    with pytest.raises(ConfigError, match=r"scenario.yaml:3:.*unknown room 'b9-r999'"):
        load_scenario(rooms, CAMPUS)


def test_syntax_errors_and_empty_files(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"scenario.yaml:\d+"):
        load_scenario(path, CAMPUS)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty"):
        load_scenario(empty, CAMPUS)


INCIDENTS = """\
name: morning incidents
injects:
  - {at: "06:10", do: forced_door, building: b1, gate: entry, open_s: 10,
     expect: [{rule: door_forced, subject: "door:b1-gate-in/*"}]}
  - {at: "06:20", do: held_open, building: b1, gate: exit, open_s: 90}
  - {at: "06:30", do: tailgating, building: b2, gate: entry, walkers: 3}
  - {at: "06:40", do: denied_burst, building: b2, gate: entry, count: 8, every_s: 3}
  - {at: "06:50", do: qr_replay, building: b1, gate: entry}
  - {at: "07:00", do: heater, room: b1-r102, power_w: 2200, minutes: 20}
  - {at: "07:05", do: smoke, room: b2-r103, minutes: 3}
  - {at: "07:10", do: gate_offline, building: b2, gate: exit, minutes: 10}
  - {at: "07:30", do: uplink_cut, building: b1, minutes: 10}
  - {at: "07:35", do: forced_door, building: b1, gate: entry, open_s: 5}
  - {at: "07:45", do: missed_checkin, building: b2}
"""


def test_injects_reach_the_broker_as_incidents(
    private_broker: MosquittoBroker, tmp_path: Path
) -> None:
    sim = small_sim(private_broker, tmp_path / "state")
    loaded = load_scenario(_write(tmp_path, INCIDENTS), sim.campus)
    expectations = schedule(sim, loaded)
    assert [e.expect.rule for e in expectations] == ["door_forced"]
    assert expectations[0].injected_at == MONDAY_6AM + timedelta(minutes=10)
    capture = Capture(private_broker)
    sim.start()
    assert sim.wait_connected(10)
    try:
        sim.run_until(MONDAY_6AM + timedelta(hours=2, minutes=30))
        assert sim.flush(20)
    finally:
        sim.stop()
    capture.close()
    got = capture.decoded()
    assert sim.loop.errors == 0

    def of(device: str, cls: type) -> list:  # type: ignore[type-arg]
        return [m for t, m in got if isinstance(m, cls) and f"/dev/{device}/" in t]

    forced = [e for e in of("b1-gate-in", DoorEvent) if e.kind is DoorEventKind.FORCED]
    assert [e.ts for e in forced][:1] == [MONDAY_6AM + timedelta(minutes=10)]
    assert len(forced) == 2
    # The second forced door happened while the building's link was cut: sent later, replayed.
    assert forced[1].replayed
    assert any(e.kind is DoorEventKind.HELD_OPEN for e in of("b1-gate-out", DoorEvent))
    assert any(p.count == 3 for p in of("b2-gate-in", PassageCount))
    unknown = [d for d in of("b2-gate-in", AccessDecision) if d.reason is AccessReason.UNKNOWN_CARD]
    assert len(unknown) == 8
    replayed = [
        d for d in of("b1-gate-in", AccessDecision) if d.reason is AccessReason.TOKEN_REPLAYED
    ]
    assert len(replayed) == 1
    assert any(t.power_w > 2000 for t in of("b1-r102-sensor", RoomTelemetry))
    assert any(t.smoke for t in of("b2-r103-sensor", RoomTelemetry))
    states = [s.status for s in of("b2-gate-out", DeviceState)]
    assert DeviceStatus.OFFLINE in states
    assert states[-1] is DeviceStatus.ONLINE or states.count(DeviceStatus.ONLINE) >= 2
    checkins = {
        t.split("/")[2]
        for t, m in got
        if isinstance(m, DutyCheck) and m.action is DutyAction.CHECK_IN
    }
    assert checkins == {"b1"}  # b2's counselor missed the 07:55 check-in
