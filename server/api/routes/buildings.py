"""Buildings, their floors and rooms (counselors see their own buildings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from protocol.ids import ID_PATTERN
from server.api.deps import SessionDep, StaffUser, check_building, visible_buildings
from server.api.schemas import BuildingOut, FloorOut
from server.db import Building, Floor

router = APIRouter(prefix="/buildings", tags=["buildings"])

BuildingPath = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("")
def list_buildings(session: SessionDep, user: StaffUser) -> list[BuildingOut]:
    query = select(Building).order_by(Building.id)
    scope = visible_buildings(session, user)
    if scope is not None:
        query = query.where(Building.id.in_(scope))
    return [BuildingOut.model_validate(b) for b in session.scalars(query)]


def _building(session: SessionDep, user: StaffUser, building_id: str) -> Building:
    check_building(session, user, building_id)
    building = session.get(Building, building_id)
    if building is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such building")
    return building


@router.get("/{building_id}")
def read_building(session: SessionDep, user: StaffUser, building_id: BuildingPath) -> BuildingOut:
    return BuildingOut.model_validate(_building(session, user, building_id))


@router.get("/{building_id}/floors")
def list_floors(session: SessionDep, user: StaffUser, building_id: BuildingPath) -> list[FloorOut]:
    _building(session, user, building_id)
    floors = session.scalars(
        select(Floor)
        .where(Floor.building_id == building_id)
        .options(selectinload(Floor.rooms))
        .order_by(Floor.level)
    )
    return [FloorOut.model_validate(f) for f in floors]
