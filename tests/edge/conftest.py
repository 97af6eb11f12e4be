"""Fixtures of the edge tests: gpiozero MockFactory pins, door hardware, allowlists."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from gpiozero import LED, Button, Buzzer, Device, DigitalInputDevice, OutputDevice
from gpiozero.pins.mock import MockFactory

from edge.allowlist import AllowlistStore
from edge.door import DoorController, DoorHardware, DoorTimings
from edge.events import EventSink, SeqStore
from edge.gate import GateAgent
from edge.timers import ManualScheduler
from protocol.codec import decode
from protocol.keys import token_key
from protocol.messages import AllowlistSnapshot, DeviceEvent, Direction
from protocol.token_issuer import SigningKey
from tests.edge.helpers import CARD_KEY, GATE_PINS, snapshot
from transport.outbox import Outbox


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    """gpiozero's MockFactory as the pin factory for one test; the old one restored after."""
    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.reset()
        Device.pin_factory = previous


@pytest.fixture
def door_hw(mock_factory: MockFactory) -> Iterator[DoorHardware]:
    """Gate hardware on mock pins, the door shut (contact pressed)."""
    contact = DigitalInputDevice(GATE_PINS["door_contact"], pull_up=True)
    contact.pin.drive_low()
    hardware = DoorHardware(
        relay=OutputDevice(GATE_PINS["relay"]),
        green_led=LED(GATE_PINS["green_led"]),
        red_led=LED(GATE_PINS["red_led"]),
        buzzer=Buzzer(GATE_PINS["buzzer"]),
        door_contact=contact,
        exit_button=Button(GATE_PINS["exit_button"]),
        beam=DigitalInputDevice(GATE_PINS["people_counter"], pull_up=True),
    )
    try:
        yield hardware
    finally:
        hardware.close()


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate("k1")


@pytest.fixture
def card_key() -> bytes:
    return CARD_KEY


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    directory.mkdir()
    return directory


@pytest.fixture
def small_snapshot(signing_key: SigningKey) -> AllowlistSnapshot:
    return snapshot(
        people=10,
        keys=[token_key("k1", signing_key.public_key)],
        issued_at=datetime(2026, 3, 2, tzinfo=UTC),
    )


@dataclass
class GateRig:
    gate: GateAgent
    outbox: Outbox
    clock: ManualScheduler
    hw: DoorHardware
    now: list[datetime]

    def events(self) -> list[DeviceEvent]:
        rows = self.outbox.next_batch(10_000)
        return [cast(DeviceEvent, decode(row.topic, row.payload)) for row in rows]


@pytest.fixture
def gate_rig(
    door_hw: DoorHardware, state_dir: Path, small_snapshot: AllowlistSnapshot
) -> Iterator[GateRig]:
    """A gate agent on mock pins with a real outbox, no MQTT; time moves by hand."""
    clock = ManualScheduler()
    now = [datetime(2026, 3, 2, 4, 0, tzinfo=UTC)]  # 12:00 in Shanghai, a Monday
    outbox = Outbox(state_dir / "outbox.db")
    sink = EventSink("b1-gate-in", "b1", outbox, SeqStore(state_dir), clock=lambda: now[0])
    door = DoorController(door_hw, clock, lambda _r: None, timings=DoorTimings(unlock_s=5))
    store = AllowlistStore("b1", state_dir)
    store.apply_snapshot(small_snapshot)
    gate = GateAgent(
        direction=Direction.ENTRY,
        sink=sink,
        door=door,
        store=store,
        card_key=CARD_KEY,
        tz=ZoneInfo("Asia/Shanghai"),
        curfew=None,
        config_version="test",
    )
    try:
        yield GateRig(gate, outbox, clock, door_hw, now)
    finally:
        gate.close()
        outbox.close()
