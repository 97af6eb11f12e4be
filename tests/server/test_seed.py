"""Seeding from firmware-config and the CSV imports: complete, idempotent, strict."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from protocol.cardhash import card_hash
from server.db import (
    Building,
    BuildingAccess,
    Credential,
    Curfew,
    Device,
    DutyShift,
    Person,
    PersonPrivate,
    Room,
    StaffBuilding,
)
from server.seed import SeedError, import_people, import_roster, seed_site
from siteconfig import load_config_dir
from tests.server.apiclient import EXAMPLES, REPO

KEY = b"test-card-hash-key-0123456789"


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _seed_all(session: Session) -> None:
    seed_site(session, load_config_dir(REPO / "firmware-config"))
    import_people(session, (EXAMPLES / "people.csv").read_text(), KEY)
    import_roster(session, (EXAMPLES / "roster.csv").read_text())


def test_seeding_twice_gives_the_same_domain(engine: Engine) -> None:
    counts = []
    for _ in range(2):
        with Session(engine) as session, session.begin():
            _seed_all(session)
        with Session(engine) as session:
            counts.append(
                [
                    _count(session, model)
                    for model in (
                        Building,
                        Room,
                        Device,
                        Curfew,
                        Person,
                        Credential,
                        BuildingAccess,
                        StaffBuilding,
                        DutyShift,
                    )
                ]
            )
    assert counts[0] == counts[1]
    assert counts[0][:5] == [2, 28, 12, 14, 51]
    with Session(engine) as session:
        friday = session.get(Curfew, ("b1", 4))
        assert friday is not None
        assert (friday.starts, friday.ends) == ("00:30", "06:00")
        card = session.scalar(
            select(Credential).where(Credential.card_hash == card_hash(KEY, "CARD000001"))
        )
        assert card is not None
        assert card.person_id == "p-s0001"
        private = session.get(PersonPrivate, "p-s0001")
        assert private is not None
        assert private.number == "S20260001"
        sensor = session.get(Device, "b1-r101-sensor")
        assert sensor is not None
        assert (sensor.kind, sensor.room_id) == ("room-sensor", "b1-r101")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("P-1,student,X,,b1,,b1,", "people.csv:2: person_id 'P-1' is not a pseudonymous id"),
        ("p-1,alien,X,,b1,,b1,", "people.csv:2: unknown kind 'alien'"),
        ("p-1,student,X,,b9,,b9,", "people.csv:2: unknown building 'b9'"),
        ("p-1,student,X,,b1,b1-r999,b1,", "people.csv:2: unknown room 'b1-r999'"),
    ],
)
def test_bad_people_rows_are_reported_with_their_line(
    engine: Engine, row: str, message: str
) -> None:
    header = "person_id,kind,full_name,number,home_building,room,access,card_number\n"
    with Session(engine) as session:
        seed_site(session, load_config_dir(REPO / "firmware-config"))
        with pytest.raises(SeedError) as caught:
            import_people(session, header + row + "\n", KEY)
    assert str(caught.value) == message


def test_a_roster_needs_staff_and_zoned_times(engine: Engine) -> None:
    with Session(engine) as session:
        _seed_all(session)
        header = "building,person_id,starts_at,ends_at\n"
        with pytest.raises(SeedError, match=r"roster\.csv:2: 'p-s0001' is not a known staff"):
            import_roster(
                session, header + "b1,p-s0001,2026-09-01T08:00:00+08:00,2026-09-02T08:00:00+08:00"
            )
        with pytest.raises(SeedError, match=r"roster\.csv:2: times need a zone"):
            import_roster(session, header + "b1,p-c001,2026-09-01T08:00:00,2026-09-02T08:00:00")
