"""Per-minute series for the dashboard's charts (gate flows, room occupancy and power)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime
from sqlalchemy import select

from protocol.ids import ID_PATTERN
from server.api.deps import SessionDep, StaffUser, check_building
from server.api.schemas import GateFlowOut, RoomMinuteOut
from server.db import GateFlowMinute, RoomMinute

router = APIRouter(prefix="/charts", tags=["charts"])

BuildingQuery = Annotated[str, Query(pattern=ID_PATTERN)]
#: One request covers at most a week of minutes.
MAX_SPAN: Final = timedelta(days=7)


def _check_span(since: AwareDatetime, until: AwareDatetime) -> None:
    if not since < until or until - since > MAX_SPAN:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "since must precede until, at most 7 days"
        )


@router.get("/gate-flows")
def gate_flows(
    session: SessionDep,
    user: StaffUser,
    building: BuildingQuery,
    since: AwareDatetime,
    until: AwareDatetime,
) -> list[GateFlowOut]:
    """Entries, exits and refusals per minute (minutes without events are absent)."""
    check_building(session, user, building)
    _check_span(since, until)
    rows = session.scalars(
        select(GateFlowMinute)
        .where(
            GateFlowMinute.building_id == building,
            GateFlowMinute.minute >= since,
            GateFlowMinute.minute < until,
        )
        .order_by(GateFlowMinute.minute)
    )
    return [GateFlowOut.model_validate(r) for r in rows]


@router.get("/rooms")
def room_minutes(
    session: SessionDep,
    user: StaffUser,
    building: BuildingQuery,
    since: AwareDatetime,
    until: AwareDatetime,
    room: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> list[RoomMinuteOut]:
    """Highest occupancy, mean and peak power per room and minute."""
    check_building(session, user, building)
    _check_span(since, until)
    query = select(RoomMinute).where(
        RoomMinute.building_id == building, RoomMinute.minute >= since, RoomMinute.minute < until
    )
    if room is not None:
        query = query.where(RoomMinute.room_id == room)
    rows = session.scalars(query.order_by(RoomMinute.room_id, RoomMinute.minute).limit(20_000))
    return [RoomMinuteOut.model_validate(r) for r in rows]
