"""Access events (the audit trail) with filters and cursor pagination, and occupancy now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import func, select

from protocol.ids import ID_PATTERN, ULID_PATTERN
from server.api.deps import SessionDep, StaffUser, check_building, visible_buildings
from server.api.schemas import AccessEventOut, AccessEventPage, OccupancyOut
from server.db import AccessEvent, Building, Presence
from server.security import utcnow

router = APIRouter(tags=["events"])


@router.get("/access-events")
def list_access_events(
    session: SessionDep,
    user: StaffUser,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    person: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    device: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    decision: Annotated[str | None, Query(pattern="^(granted|denied)$")] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    cursor: Annotated[str | None, Query(pattern=ULID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AccessEventPage:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    query = select(AccessEvent)
    scope = visible_buildings(session, user)
    if building is not None:
        check_building(session, user, building)
        query = query.where(AccessEvent.building_id == building)
    elif scope is not None:
        query = query.where(AccessEvent.building_id.in_(scope))
    if person is not None:
        query = query.where(AccessEvent.person_id == person)
    if device is not None:
        query = query.where(AccessEvent.device_id == device)
    if decision is not None:
        query = query.where(AccessEvent.decision == decision)
    if since is not None:
        query = query.where(AccessEvent.ts >= since)
    if until is not None:
        query = query.where(AccessEvent.ts < until)
    if cursor is not None:
        query = query.where(AccessEvent.event_id < cursor)
    rows = session.scalars(query.order_by(AccessEvent.event_id.desc()).limit(limit + 1)).all()
    items = [AccessEventOut.model_validate(r) for r in rows[:limit]]
    next_cursor = items[-1].event_id if len(rows) > limit else None
    return AccessEventPage(items=items, next_cursor=next_cursor)


@router.get("/occupancy")
def occupancy_now(session: SessionDep, user: StaffUser) -> list[OccupancyOut]:
    """People inside each building now, from the latest granted passage of each person."""
    scope = visible_buildings(session, user)
    buildings = select(Building.id).order_by(Building.id)
    if scope is not None:
        buildings = buildings.where(Building.id.in_(scope))
    counts: dict[str, int] = {
        building: count
        for building, count in session.execute(
            select(Presence.building_id, func.count())
            .where(Presence.state == "in")
            .group_by(Presence.building_id)
        )
    }
    now = utcnow()
    return [
        OccupancyOut(building_id=b, inside=counts.get(b, 0), as_of=now)
        for b in session.scalars(buildings)
    ]
