"""Reports on a seeded campus: late returns, not returned, not seen, duty attendance."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from protocol.messages import DeviceEvent, Direction, DutyAction, DutyCheck
from server import reports
from server.ingest import BatchWriter, IngestStats
from tests.server.apiclient import SeededApi, make_settings, seeded_api
from tests.server.factories import access_event, ulid_at, wire

SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = "2026-09-01"  # a Tuesday: b1's curfew starts at 23:30 local


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, day, hour, minute, tzinfo=SHANGHAI)


def duty(
    person: str, seq: int, at: datetime, action: DutyAction, room: str | None = None
) -> DutyCheck:
    return DutyCheck(
        id=ulid_at(at, random.Random(seq)),
        device="b1-kiosk",
        seq=seq,
        ts=at,
        action=action,
        person=person,
        room=room,
    )


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[SeededApi]:
    with seeded_api(make_settings(database_url, tmp_path)) as seeded:
        rng = random.Random(31)
        events: list[DeviceEvent] = [
            access_event(
                "b1-gate-out", 1, rng, person="p-s0001", direction=Direction.EXIT, at=local(1, 20)
            ),
            access_event("b1-gate-in", 2, rng, person="p-s0001", at=local(1, 23, 50)),
            access_event("b1-gate-in", 3, rng, person="p-s0002", at=local(1, 22)),
            # A refused entry is no return.
            access_event("b1-gate-in", 4, rng, person="p-s0003", granted=False, at=local(1, 22)),
            duty("p-c001", 10, local(1, 7, 50), DutyAction.CHECK_IN),
        ]
        rooms = [f"b1-r{floor}0{n}" for floor in (1, 2, 3) for n in (1, 2, 3, 4)]
        events += [
            duty("p-c001", 20 + i, local(1, 9 + i // 2, 5 * i), DutyAction.ROOM_VISIT, room)
            for i, room in enumerate(rooms[:10])
        ]
        # A second visit to a room the same day is not another room.
        events.append(duty("p-c001", 40, local(1, 19), DutyAction.ROOM_VISIT, rooms[0]))
        BatchWriter(seeded.runtime.engine, IngestStats()).write([wire("b1", e) for e in events])
        yield seeded


def test_late_returns_and_not_returned(api: SeededApi) -> None:
    security = api.headers("security")
    late = api.client.get(
        "/api/v1/reports/late-returns", params={"building": "b1", "night": NIGHT}, headers=security
    )
    assert late.status_code == 200
    [row] = late.json()
    assert row["person_id"] == "p-s0001"
    assert datetime.fromisoformat(row["entered_at"]) == local(1, 23, 50)
    assert datetime.fromisoformat(row["curfew_started_at"]) == local(1, 23, 30)

    missing = api.client.get(
        "/api/v1/reports/not-returned",
        params={"building": "b1", "night": NIGHT, "format": "csv"},
        headers=api.headers("counselor"),
    )
    assert missing.status_code == 200
    assert missing.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(missing.text)))
    people = [r["person_id"] for r in rows]
    # b1 houses p-s0001..p-s0024; only p-s0002 was in at 23:30.
    assert people == [f"p-s{n:04d}" for n in range(1, 25) if n != 2]
    assert rows[0]["room_id"] == "b1-r101"
    assert rows[1]["last_passage_at"] == ""  # p-s0003: never granted
    # The counselor of b1 may not ask about b2.
    other = api.client.get(
        "/api/v1/reports/not-returned",
        params={"building": "b2", "night": NIGHT},
        headers=api.headers("counselor"),
    )
    assert other.status_code == 403


def test_not_seen_for_n_days(api: SeededApi) -> None:
    with api.runtime.sessions() as session:
        rows = reports.not_seen(session, 3, local(3, 12), "b1")
        later = reports.not_seen(session, 3, local(9, 12), "b1")
    seen = {"p-s0001", "p-s0002", "p-s0003"}
    assert {r.person_id for r in rows} == {f"p-s{n:04d}" for n in range(1, 25)} - seen
    assert len(later) == 24
    stale = next(r for r in later if r.person_id == "p-s0001")
    assert stale.last_seen_at == local(1, 23, 50)


def test_duty_attendance(api: SeededApi) -> None:
    response = api.client.get(
        "/api/v1/reports/duty-attendance",
        params={"since": "2026-08-31T16:00:00Z", "until": "2026-09-02T16:00:00Z"},
        headers=api.headers("admin"),
    )
    assert response.status_code == 200
    by_person = {row["person_id"]: row for row in response.json()}
    assert by_person["p-c001"] == {
        "person_id": "p-c001",
        "shifts": 1,
        "shifts_checked_in": 1,
        "room_visits": 10,
        "days_on_duty": 1,
        "days_with_enough_visits": 1,
    }
    assert by_person["p-c002"]["shifts"] == 1
    assert by_person["p-c002"]["shifts_checked_in"] == 0
    assert by_person["p-c002"]["room_visits"] == 0
    assert (
        api.client.get(
            "/api/v1/reports/duty-attendance",
            params={"since": "2026-09-02T00:00:00Z", "until": "2026-09-01T00:00:00Z"},
            headers=api.headers("admin"),
        ).status_code
        == 422
    )
