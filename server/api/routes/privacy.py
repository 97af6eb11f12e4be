"""Data subject requests: a person's own export, and an administrator's export and erasure."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse, Response

from protocol.ids import ID_PATTERN
from server.api.deps import AdminUser, CurrentUser, RuntimeDep, SessionDep
from server.api.security_schemas import ErasureOut
from server.db import Person
from server.privacy import ErasureError, erase_person, export_csv, export_records
from server.privacy.erase import KEPT
from server.services.allowlists import buildings_of, refresh_and_publish

router = APIRouter(prefix="/privacy", tags=["privacy"])

PersonPath = Annotated[str, Path(pattern=ID_PATTERN)]
Format = Annotated[Literal["json", "csv"], Query()]
_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}}}
}


def _export(person: Person, records: dict[str, Any], fmt: str) -> Response:
    if fmt == "csv":
        return Response(
            export_csv(records),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{person.id}-export.csv"'},
        )
    return JSONResponse(
        records,
        headers={"Content-Disposition": f'attachment; filename="{person.id}-export.json"'},
    )


@router.get("/me/export", responses=_EXPORT_RESPONSES)
def export_my_records(session: SessionDep, user: CurrentUser, format: Format = "json") -> Response:
    """Everything held about the signed-in person (JSON or CSV)."""
    person = None if user.person_id is None else session.get(Person, user.person_id)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this login has no person record")
    return _export(person, export_records(session, person), format)


@router.get("/people/{person_id}/export", responses=_EXPORT_RESPONSES)
def export_person(
    session: SessionDep, user: AdminUser, person_id: PersonPath, format: Format = "json"
) -> Response:
    """A person's records, for a request made to the administration (recorded in the audit)."""
    person = session.get(Person, person_id)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such person")
    return _export(person, export_records(session, person), format)


@router.post("/people/{person_id}/erase")
def erase(
    session: SessionDep, user: AdminUser, runtime: RuntimeDep, person_id: PersonPath
) -> ErasureOut:
    """Erase a departed (revoked) person's personal data; anonymous aggregates stay."""
    person = session.get(Person, person_id)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such person")
    buildings = buildings_of(session, person_id)
    try:
        counts = erase_person(session, person, user)
    except ErasureError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    # Already off the allowlists since the revocation; publish in case a grant changed.
    refresh_and_publish(runtime, buildings, note="person erased")
    return ErasureOut(person_id=person_id, erased=counts, kept=KEPT)
