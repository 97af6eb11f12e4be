"""Reports as JSON, or as CSV with ``format=csv``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import AwareDatetime, BaseModel

from protocol.ids import ID_PATTERN
from server import reports
from server.api.deps import AdminUser, SessionDep, StaffUser, check_building, visible_buildings
from server.security import utcnow

router = APIRouter(prefix="/reports", tags=["reports"])

Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
BuildingQuery = Annotated[str, Query(pattern=ID_PATTERN)]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the report (CSV with format=csv)"}
}
#: Reports go back at most this far (bounds the work one request can ask for).
MAX_DAYS = 366


def _render(rows: Sequence[BaseModel], model: type[BaseModel], fmt: str, name: str) -> Any:
    if fmt == "csv":
        return Response(
            reports.to_csv(rows, model.model_fields),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return rows


@router.get("/late-returns", response_model=list[reports.LateReturn], responses=_CSV)
def late_returns(
    session: SessionDep,
    user: StaffUser,
    building: BuildingQuery,
    night: date,
    format: Format = "json",
) -> Any:
    """People whose first entry of the night came after the curfew began."""
    check_building(session, user, building)
    try:
        rows = reports.late_returns(session, building, night)
    except reports.ReportError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _render(rows, reports.LateReturn, format, f"late-returns-{building}-{night}")


@router.get("/not-returned", response_model=list[reports.NotReturned], responses=_CSV)
def not_returned(
    session: SessionDep,
    user: StaffUser,
    building: BuildingQuery,
    night: date,
    format: Format = "json",
) -> Any:
    """Residents not in at the night check (the curfew start)."""
    check_building(session, user, building)
    try:
        rows = reports.not_returned(session, building, night)
    except reports.ReportError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _render(rows, reports.NotReturned, format, f"not-returned-{building}-{night}")


@router.get("/not-seen", response_model=list[reports.NotSeen], responses=_CSV)
def not_seen(
    session: SessionDep,
    user: StaffUser,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 3,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    format: Format = "json",
) -> Any:
    """Active students with no access event for ``days`` days."""
    if building is not None:
        check_building(session, user, building)
    rows = reports.not_seen(session, days, utcnow(), building)
    scope = visible_buildings(session, user)
    if scope is not None:
        rows = [r for r in rows if r.home_building_id in scope]
    return _render(rows, reports.NotSeen, format, f"not-seen-{days}d")


@router.get("/duty-attendance", response_model=list[reports.DutyAttendance], responses=_CSV)
def duty_attendance(
    session: SessionDep,
    user: AdminUser,
    since: AwareDatetime,
    until: AwareDatetime,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    format: Format = "json",
) -> Any:
    """Per counselor: shifts, shifts checked in, room visits, days with >= 10 visits."""
    if not since < until or (until - since).days > MAX_DAYS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad period")
    rows = reports.duty_attendance(session, since, until, building)
    return _render(rows, reports.DutyAttendance, format, "duty-attendance")
