"""Builders shared by the edge tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from protocol.cardhash import card_hash
from protocol.messages import AllowlistEntry, AllowlistSnapshot, PersonKind, TimeWindow, TokenKey

CARD_KEY: Final = b"test-card-hash-key-0123456789abc"
GATE_PINS: Final = {
    "relay": 17,
    "door_contact": 27,
    "exit_button": 22,
    "green_led": 23,
    "red_led": 24,
    "buzzer": 25,
    "people_counter": 5,
}


def card_number(i: int) -> str:
    return f"CARD{i:08d}"


def person_id(i: int) -> str:
    return f"p-{i:06d}"


def entry(i: int, kind: PersonKind = PersonKind.STUDENT, **fields: object) -> AllowlistEntry:
    values: dict[str, object] = {"card_hashes": [card_hash(CARD_KEY, card_number(i))]}
    values.update(fields)
    return AllowlistEntry(person=person_id(i), kind=kind, **values)  # type: ignore[arg-type]


def snapshot(
    people: int,
    *,
    building: str = "b1",
    version: int = 1,
    keys: list[TokenKey] | None = None,
    issued_at: datetime | None = None,
    staff: frozenset[int] = frozenset({0}),
    schedules: dict[str, list[TimeWindow]] | None = None,
) -> AllowlistSnapshot:
    return AllowlistSnapshot(
        building=building,
        version=version,
        issued_at=issued_at or datetime(2026, 3, 2, tzinfo=UTC),
        entries=[
            entry(i, PersonKind.STAFF if i in staff else PersonKind.STUDENT) for i in range(people)
        ],
        schedules=schedules or {},
        keys=keys or [],
    )


REPO = Path(__file__).resolve().parents[2]
SITE_FILE = REPO / "firmware-config" / "site.yaml"

GATE_YAML: Final = """\
id: b1-gate-in
kind: gate
building: b1
direction: entry
location: {place: bench, floor: 1}
door: {unlock_s: 2, held_open_s: 30, relock_on_close: true}
pins:
  relay: 17
  door_contact: 27
  exit_button: 22
  green_led: 23
  red_led: 24
  buzzer: 25
  people_counter: 5
camera: {device: 0}
card_reader: {kind: stdin}
broker: {host: 127.0.0.1, port: 1883}
heartbeat_s: 30
"""


def write_gate_device(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "b1-gate-in.yaml"
    path.write_text(GATE_YAML)
    return path
