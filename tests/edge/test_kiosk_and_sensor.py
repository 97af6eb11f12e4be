"""The duty kiosk and the room sensor on mock pins, with a hand-driven clock."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from gpiozero import LED, Buzzer, DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from edge.allowlist import AllowlistStore
from edge.events import EventSink, SeqStore
from edge.feedback import Feedback
from edge.kiosk import KioskAgent
from edge.meters import Pzem004tMeter, SimulatedMeter, modbus_crc, parse_power_w, with_crc
from edge.room_sensor import Ds18b20Thermometer, PirOccupancy, RoomSensorAgent, SensorTimings
from edge.timers import ManualScheduler
from protocol.codec import decode
from protocol.messages import (
    AllowlistSnapshot,
    DeviceEvent,
    DutyAction,
    DutyCheck,
    PersonKind,
    RoomTelemetry,
)
from protocol.token_issuer import SigningKey, issue_token
from tests.edge.helpers import person_id
from transport.outbox import Outbox, Priority

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def events(outbox: Outbox) -> list[DeviceEvent]:
    return [cast(DeviceEvent, decode(r.topic, r.payload)) for r in outbox.next_batch(1000)]


@dataclass
class KioskRig:
    kiosk: KioskAgent
    outbox: Outbox
    now: list[datetime]
    lines: list[str]
    green: LED


@pytest.fixture
def kiosk_rig(
    mock_factory: MockFactory, state_dir: Path, small_snapshot: AllowlistSnapshot
) -> Iterator[KioskRig]:
    now = [T0]
    outbox = Outbox(state_dir / "outbox.db")
    store = AllowlistStore("b1", state_dir)
    store.apply_snapshot(small_snapshot)
    green = LED(23)
    feedback = Feedback(green, LED(24), Buzzer(25), ManualScheduler())
    lines: list[str] = []
    kiosk = KioskAgent(
        sink=EventSink("b1-kiosk", "b1", outbox, SeqStore(state_dir), clock=lambda: now[0]),
        store=store,
        feedback=feedback,
        state_dir=state_dir,
        config_version="test",
        display=lines.append,
    )
    try:
        yield KioskRig(kiosk, outbox, now, lines, green)
    finally:
        kiosk.close()
        outbox.close()


def staff_token(key: SigningKey, at: datetime, person: int = 0) -> str:
    return issue_token(key, person_id(person), PersonKind.STAFF, at)


def test_kiosk_checks_in_then_out_and_collapses_quick_repeats(
    kiosk_rig: KioskRig, signing_key: SigningKey
) -> None:
    rig = kiosk_rig
    first = rig.kiosk.present_qr(staff_token(signing_key, rig.now[0]))
    assert first is not None
    assert first.action is DutyAction.CHECK_IN
    assert rig.green.pin.state
    rig.now[0] += timedelta(seconds=5)
    assert rig.kiosk.present_qr(staff_token(signing_key, rig.now[0])) is None  # collapsed
    rig.now[0] += timedelta(hours=24)
    second = rig.kiosk.present_qr(staff_token(signing_key, rig.now[0]))
    assert second is not None
    assert second.action is DutyAction.CHECK_OUT
    duties = [e for e in events(rig.outbox) if isinstance(e, DutyCheck)]
    assert [(d.action, d.person) for d in duties] == [
        (DutyAction.CHECK_IN, person_id(0)),
        (DutyAction.CHECK_OUT, person_id(0)),
    ]
    assert "on duty" in rig.lines[0]
    assert "off duty" in rig.lines[-1]


def test_kiosk_refuses_students_replays_and_bad_tokens(
    kiosk_rig: KioskRig, signing_key: SigningKey
) -> None:
    rig = kiosk_rig
    assert (
        rig.kiosk.present_qr(issue_token(signing_key, person_id(3), PersonKind.STUDENT, T0)) is None
    )
    token = staff_token(signing_key, T0)
    assert rig.kiosk.present_qr(token) is not None
    rig.now[0] += timedelta(seconds=15)
    assert rig.kiosk.present_qr(token) is None  # the same token again: a replay
    assert rig.kiosk.present_qr("DQ1.garbage") is None
    assert rig.lines[0] == "not on this building's duty staff"
    assert rig.lines[-2:] == ["code already used", "code refused: malformed"]
    assert len([e for e in events(rig.outbox) if isinstance(e, DutyCheck)]) == 1


def test_kiosk_duty_state_survives_a_restart(
    kiosk_rig: KioskRig, signing_key: SigningKey, state_dir: Path
) -> None:
    rig = kiosk_rig
    rig.kiosk.present_qr(staff_token(signing_key, T0))
    rig.now[0] = T0 + timedelta(hours=1)  # the sink's clock, which the agent decides on
    again = KioskAgent(
        sink=rig.kiosk.sink,
        store=rig.kiosk.store,
        feedback=rig.kiosk.feedback,
        state_dir=state_dir,
        config_version="test",
    )
    check = again.present_qr(staff_token(signing_key, T0 + timedelta(hours=1)))
    assert check is not None
    assert check.action is DutyAction.CHECK_OUT


class Readings:
    def __init__(self) -> None:
        self.power_w = 100.0
        self.temperature_c: float | None = 22.0

    def read_temperature_c(self) -> float | None:
        return self.temperature_c


def test_room_sensor_publishes_on_change_with_debounce_and_periodically(
    mock_factory: MockFactory, state_dir: Path
) -> None:
    clock = ManualScheduler()
    readings = Readings()
    outbox = Outbox(state_dir / "outbox.db")
    # On a Pi this is a MotionSensor; its smoothing thread makes tests racy, and
    # PirOccupancy needs only is_active and when_activated.
    pir = DigitalInputDevice(17)
    smoke = DigitalInputDevice(27)
    agent = RoomSensorAgent(
        room="b1-r101",
        sink=EventSink("b1-r101-sensor", "b1", outbox, SeqStore(state_dir), clock=lambda: T0),
        scheduler=clock,
        occupancy=PirOccupancy(pir, clock, hold_s=60),
        smoke=smoke,
        meter=SimulatedMeter(lambda: readings.power_w),
        thermometer=readings,
        config_version="test",
        timings=SensorTimings(sample_s=1, report_s=60, debounce_samples=2, power_delta_w=50),
    )
    try:
        agent.start()
        clock.advance(0)  # first sample: always published
        readings.power_w = 900.0  # a heater switched on
        clock.advance(1)  # seen once: not yet
        clock.advance(1)  # seen twice: published
        readings.power_w = 2000.0
        clock.advance(1)  # a one-sample spike...
        readings.power_w = 900.0
        clock.advance(1)  # ...is not published
        smoke.pin.drive_high()
        clock.advance(1)  # smoke: published at once, as an event
        smoke.pin.drive_low()
        clock.advance(1)
        clock.advance(60)  # and periodically
        telemetry = [e for e in events(outbox) if isinstance(e, RoomTelemetry)]
        assert [(t.power_w, t.smoke) for t in telemetry] == [
            (100.0, False),
            (900.0, False),
            (900.0, True),
            (900.0, False),
            (900.0, False),
        ]
        rows = outbox.next_batch(100)
        assert rows[2].priority is Priority.EVENT  # the smoke alarm outranks telemetry
        assert rows[0].priority is Priority.TELEMETRY
        pir.pin.drive_high()
        clock.advance(1)
        pir.pin.drive_low()
        clock.advance(1)
        clock.advance(1)
        occupancy = [e.occupancy for e in events(outbox) if isinstance(e, RoomTelemetry)]
        assert occupancy[-1] == 1
        clock.advance(61)  # the PIR's hold time ran out
        clock.advance(1)
        occupancy = [e.occupancy for e in events(outbox) if isinstance(e, RoomTelemetry)]
        assert occupancy[-1] == 0
    finally:
        agent.close()
        outbox.close()
        pir.close()


def test_room_sensor_waits_for_its_thermometer(mock_factory: MockFactory, state_dir: Path) -> None:
    clock = ManualScheduler()
    readings = Readings()
    readings.temperature_c = None
    outbox = Outbox(state_dir / "outbox.db")
    agent = RoomSensorAgent(
        room="b1-r101",
        sink=EventSink("b1-r101-sensor", "b1", outbox, SeqStore(state_dir), clock=lambda: T0),
        scheduler=clock,
        occupancy=PirOccupancy(DigitalInputDevice(17), clock),
        smoke=DigitalInputDevice(27),
        meter=SimulatedMeter(),
        thermometer=readings,
        config_version="test",
    )
    assert agent.sample_once() is None
    readings.temperature_c = 23.5
    published = agent.sample_once()
    assert published is not None
    assert published.temperature_c == 23.5
    outbox.close()


def pzem_response(power_w: float, address: int = 1) -> bytes:
    tenths = int(power_w * 10)
    registers = [2300, 1000, 0, tenths & 0xFFFF, tenths >> 16, 0, 0, 500, 100, 0]
    body = bytes([address, 0x04, 20]) + b"".join(r.to_bytes(2, "big") for r in registers)
    return with_crc(body)


def test_pzem_modbus_frames() -> None:
    # The CRC of the standard "read 10 input registers of slave 1" request.
    assert with_crc(bytes.fromhex("01040000000a")).hex() == "01040000000a700d"
    assert modbus_crc(b"") == 0xFFFF
    assert parse_power_w(1, pzem_response(1234.5)) == 1234.5
    assert parse_power_w(2, pzem_response(10.0)) is None  # another slave's answer
    corrupt = bytearray(pzem_response(10.0))
    corrupt[5] ^= 0xFF
    assert parse_power_w(1, bytes(corrupt)) is None


def test_pzem_meter_over_a_real_pty() -> None:
    import serial

    controller, device = os.openpty()
    port = serial.Serial(os.ttyname(device), 9600, timeout=1)

    def meter_side() -> None:
        request = b""
        while len(request) < 8:
            request += os.read(controller, 8 - len(request))
        assert request.hex() == "01040000000a700d"
        os.write(controller, pzem_response(1500.0))

    responder = threading.Thread(target=meter_side)
    responder.start()
    try:
        assert Pzem004tMeter(port, 1).read_power_w() == 1500.0
    finally:
        responder.join(5)
        port.close()
        os.close(controller)
        os.close(device)


def test_ds18b20_file(tmp_path: Path) -> None:
    sensor_dir = tmp_path / "28-0000000b1101"
    sensor_dir.mkdir()
    (sensor_dir / "w1_slave").write_text(
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    )
    assert Ds18b20Thermometer("28-0000000b1101", tmp_path).read_temperature_c() == 23.125
    assert Ds18b20Thermometer("28-000000000000", tmp_path).read_temperature_c() is None


def test_people_counter_occupancy(mock_factory: MockFactory) -> None:
    from edge.room_sensor import CountingOccupancy

    entering, leaving = DigitalInputDevice(5), DigitalInputDevice(6)
    counter = CountingOccupancy(entering, leaving, max_people=2)

    def pulse(device: DigitalInputDevice) -> None:
        device.pin.drive_high()
        device.pin.drive_low()

    pulse(leaving)
    assert counter.occupancy() == 0  # never below zero
    for _ in range(3):
        pulse(entering)
    assert counter.occupancy() == 2  # capped
    pulse(leaving)
    assert counter.occupancy() == 1
