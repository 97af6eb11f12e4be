"""Seed the domain from firmware-config's site and device files and from CSV imports.

``people.csv`` (one row per person; names and numbers go only to ``person_private``)::

    person_id,kind,full_name,number,home_building,room,access,card_number
    p-0001,student,Student 0001,S0001,b1,b1-r101,b1,CARD0001

``access`` is a ``;``-separated list of buildings the person may enter;
``card_number`` is hashed with the site key (protocol.cardhash) and never
stored in clear. Every student and staff member also gets a QR credential.

``roster.csv`` (one duty shift per row, times RFC 3339 with zone)::

    building,person_id,starts_at,ends_at
    b1,p-c001,2026-09-01T08:00:00+08:00,2026-09-02T08:00:00+08:00

Seeding is idempotent: rows that exist are updated, not duplicated.

    python -m server.seed --config firmware-config --people server/examples/people.csv \\
        --roster server/examples/roster.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from protocol.cardhash import card_hash
from protocol.ids import is_valid_id
from server.db import (
    Building,
    BuildingAccess,
    Campus,
    Credential,
    Curfew,
    Device,
    DutyShift,
    Floor,
    Person,
    PersonPrivate,
    Room,
    StaffBuilding,
)
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from server.settings import Settings
from siteconfig import CampusConfig, GateDevice, KioskDevice, RoomSensorDevice, load_config_dir
from siteconfig.site_models import WEEKDAYS

logger = logging.getLogger(__name__)

PEOPLE_COLUMNS = ("person_id", "kind", "full_name", "number", "home_building", "room", "access")


class SeedError(ValueError):
    """An import file that cannot be loaded, with the line that is wrong."""


@dataclass(frozen=True)
class SeedCounts:
    buildings: int = 0
    rooms: int = 0
    devices: int = 0
    people: int = 0
    shifts: int = 0


def seed_site(session: Session, config: CampusConfig) -> SeedCounts:
    """Campus, buildings (with curfews), floors, rooms and devices from firmware-config."""
    site = config.site
    session.merge(Campus(id=site.campus.id, name=site.campus.name, timezone=site.campus.timezone))
    session.flush()
    rooms = 0
    for b in site.buildings:
        session.merge(
            Building(id=b.id, campus_id=site.campus.id, name=b.name, gateway_id=b.gateway_id)
        )
        session.flush()
        for weekday in range(len(WEEKDAYS)):
            session.merge(
                Curfew(
                    building_id=b.id,
                    weekday=weekday,
                    starts=b.curfew.start_for(weekday).strftime("%H:%M"),
                    ends=b.curfew.ends.strftime("%H:%M"),
                )
            )
        for f in b.floors:
            floor = session.scalar(
                select(Floor).where(Floor.building_id == b.id, Floor.level == f.level)
            )
            if floor is None:
                floor = Floor(building_id=b.id, level=f.level)
                session.add(floor)
            floor.name = f.name
            session.flush()
            for r in f.rooms:
                rooms += 1
                session.merge(
                    Room(
                        id=r.id,
                        building_id=b.id,
                        floor_id=floor.id,
                        number=str(r.number),
                        kind=r.kind,
                        capacity=r.capacity,
                        max_power_w=float(r.max_power_w),
                    )
                )
        session.flush()
    for d in config.devices.values():
        device = session.get(Device, d.id) or Device(id=d.id, status="unknown")
        device.building_id = d.building
        device.kind = d.kind
        if isinstance(d, RoomSensorDevice):
            device.room_id = d.room
        elif isinstance(d, GateDevice | KioskDevice):
            device.place = d.location.place
        session.add(device)
    session.flush()
    return SeedCounts(buildings=len(site.buildings), rooms=rooms, devices=len(config.devices))


def _line_error(path: str, line: int, message: str) -> SeedError:
    return SeedError(f"{path}:{line}: {message}")


def import_people(
    session: Session, text: str, card_key: bytes, *, source: str = "people.csv"
) -> int:
    """Create or update people (and their private record, grants, card and QR credential)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = set(PEOPLE_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise SeedError(f"{source}: missing columns {sorted(missing)}")
    count = 0
    for row in reader:
        line = reader.line_num
        person_id = row["person_id"].strip()
        kind = row["kind"].strip()
        if not is_valid_id(person_id):
            raise _line_error(source, line, f"person_id {person_id!r} is not a pseudonymous id")
        if kind not in ("student", "staff", "visitor"):
            raise _line_error(source, line, f"unknown kind {kind!r}")
        home = row["home_building"].strip() or None
        room = row["room"].strip() or None
        access = [b.strip() for b in row["access"].split(";") if b.strip()]
        for building in [*access, *([home] if home else [])]:
            if session.get(Building, building) is None:
                raise _line_error(source, line, f"unknown building {building!r}")
        if room is not None and session.get(Room, room) is None:
            raise _line_error(source, line, f"unknown room {room!r}")
        person = session.get(Person, person_id) or Person(id=person_id, status="active")
        person.kind, person.home_building_id, person.room_id = kind, home, room
        session.add(person)
        session.flush()
        private = session.get(PersonPrivate, person_id) or PersonPrivate(person_id=person_id)
        private.full_name = row["full_name"].strip()
        private.number = row["number"].strip() or None
        session.add(private)
        session.execute(delete(BuildingAccess).where(BuildingAccess.person_id == person_id))
        session.add_all(BuildingAccess(person_id=person_id, building_id=b) for b in set(access))
        if kind == "staff":
            session.execute(delete(StaffBuilding).where(StaffBuilding.person_id == person_id))
            session.add_all(StaffBuilding(person_id=person_id, building_id=b) for b in set(access))
        card_number = (row.get("card_number") or "").strip()
        if card_number:
            hashed = card_hash(card_key, card_number)
            if session.scalar(select(Credential.id).where(Credential.card_hash == hashed)) is None:
                session.add(Credential(person_id=person_id, kind="card", card_hash=hashed))
        has_qr = session.scalar(
            select(Credential.id).where(Credential.person_id == person_id, Credential.kind == "qr")
        )
        if has_qr is None and kind in ("student", "staff"):
            session.add(Credential(person_id=person_id, kind="qr"))
        session.flush()
        count += 1
    return count


def import_roster(session: Session, text: str, *, source: str = "roster.csv") -> int:
    """Add duty shifts (an identical shift already present is not added twice)."""
    reader = csv.DictReader(io.StringIO(text))
    count = 0
    for row in reader:
        line = reader.line_num
        try:
            starts = datetime.fromisoformat(row["starts_at"].strip())
            ends = datetime.fromisoformat(row["ends_at"].strip())
        except (KeyError, ValueError) as exc:
            raise _line_error(source, line, f"bad time: {exc}") from None
        if starts.tzinfo is None or ends.tzinfo is None or ends <= starts:
            raise _line_error(source, line, "times need a zone and the end must follow the start")
        building, person_id = row["building"].strip(), row["person_id"].strip()
        person = session.get(Person, person_id)
        if person is None or person.kind != "staff":
            raise _line_error(source, line, f"{person_id!r} is not a known staff member")
        if session.get(Building, building) is None:
            raise _line_error(source, line, f"unknown building {building!r}")
        exists = session.scalar(
            select(DutyShift.id).where(
                DutyShift.building_id == building,
                DutyShift.person_id == person_id,
                DutyShift.starts_at == starts,
            )
        )
        if exists is None:
            session.add(
                DutyShift(building_id=building, person_id=person_id, starts_at=starts, ends_at=ends)
            )
            count += 1
    session.flush()
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.seed", description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("firmware-config"))
    parser.add_argument("--people", type=Path)
    parser.add_argument("--roster", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade_to_head(engine)
        with make_sessionmaker(engine)() as session, session.begin():
            counts = seed_site(session, load_config_dir(args.config))
            people = 0
            if args.people is not None:
                people = import_people(
                    session,
                    args.people.read_text(encoding="utf-8"),
                    settings.card_hash_key.encode(),
                    source=str(args.people),
                )
            shifts = 0
            if args.roster is not None:
                shifts = import_roster(
                    session, args.roster.read_text(encoding="utf-8"), source=str(args.roster)
                )
        logger.info(
            "seeded %d buildings, %d rooms, %d devices, %d people, %d shifts",
            counts.buildings,
            counts.rooms,
            counts.devices,
            people,
            shifts,
        )
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":  # pragma: no cover - `python -m server.seed`
    raise SystemExit(main())
