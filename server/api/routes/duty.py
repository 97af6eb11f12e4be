"""Duty rosters (shifts) and the counselors' check-ins and room visits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime
from sqlalchemy import select

from protocol.ids import ID_PATTERN
from server.api.deps import AdminUser, CounselorUser, SessionDep, check_building, visible_buildings
from server.api.schemas import DutyCheckOut, ShiftIn, ShiftOut
from server.db import Building, DutyCheckRow, DutyShift, Person

router = APIRouter(prefix="/duty", tags=["duty"])


@router.get("/shifts")
def list_shifts(
    session: SessionDep,
    user: CounselorUser,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    since: AwareDatetime | None = None,
) -> list[ShiftOut]:
    query = select(DutyShift).order_by(DutyShift.starts_at, DutyShift.id)
    scope = visible_buildings(session, user)
    if building is not None:
        check_building(session, user, building)
        query = query.where(DutyShift.building_id == building)
    elif scope is not None:
        query = query.where(DutyShift.building_id.in_(scope))
    if since is not None:
        query = query.where(DutyShift.ends_at > since)
    return [ShiftOut.model_validate(s) for s in session.scalars(query.limit(1000))]


@router.post("/shifts", status_code=status.HTTP_201_CREATED)
def create_shift(session: SessionDep, user: AdminUser, body: ShiftIn) -> ShiftOut:
    if body.ends_at <= body.starts_at:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "a shift must end after it starts"
        )
    if session.get(Building, body.building_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown building")
    person = session.get(Person, body.person_id)
    if person is None or person.kind != "staff":
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown staff member")
    shift = DutyShift(**body.model_dump())
    session.add(shift)
    session.commit()
    return ShiftOut.model_validate(shift)


@router.get("/checks")
def list_checks(
    session: SessionDep,
    user: CounselorUser,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[DutyCheckOut]:
    query = select(DutyCheckRow).order_by(DutyCheckRow.ts.desc())
    scope = visible_buildings(session, user)
    if building is not None:
        check_building(session, user, building)
        query = query.where(DutyCheckRow.building_id == building)
    elif scope is not None:
        query = query.where(DutyCheckRow.building_id.in_(scope))
    if since is not None:
        query = query.where(DutyCheckRow.ts >= since)
    return [DutyCheckOut.model_validate(c) for c in session.scalars(query.limit(limit))]
