"""The signed-in user's own records: profile, access history, dynamic QR code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import or_, select

from protocol.messages import PersonKind
from protocol.token_issuer import issue_token
from protocol.tokens import SKEW_STEPS, STEP_S, step_of
from server.api.deps import CurrentUser, RuntimeDep, SessionDep
from server.api.schemas import AccessEventOut, QrOut, UserOut
from server.db import AccessEvent, Credential, Person
from server.security import utcnow
from server.tokenkeys import ensure_signing_key

router = APIRouter(prefix="/me", tags=["me"])


def _own_person(session: SessionDep, user: CurrentUser) -> Person:
    person = None if user.person_id is None else session.get(Person, user.person_id)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this login has no person record")
    return person


@router.get("")
def read_me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.get("/access-events")
def my_access_events(
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AccessEventOut]:
    person = _own_person(session, user)
    rows = session.scalars(
        select(AccessEvent)
        .where(AccessEvent.person_id == person.id)
        .order_by(AccessEvent.event_id.desc())
        .limit(limit)
    )
    return [AccessEventOut.model_validate(row) for row in rows]


@router.get("/qr")
def my_qr(session: SessionDep, user: CurrentUser, runtime: RuntimeDep) -> QrOut:
    """A fresh dynamic QR token (valid about a minute); the app refreshes it every 30 s."""
    person = _own_person(session, user)
    if person.status != "active":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "access revoked")
    if person.kind not in (PersonKind.STUDENT, PersonKind.STAFF):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "no QR codes for this kind of person")
    now = utcnow()
    has_qr = session.scalar(
        select(Credential.id).where(
            Credential.person_id == person.id,
            Credential.kind == "qr",
            Credential.status == "active",
            or_(Credential.valid_from.is_(None), Credential.valid_from <= now),
            or_(Credential.valid_until.is_(None), Credential.valid_until > now),
        )
    )
    if has_qr is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "no active QR credential")
    key = ensure_signing_key(runtime.key_dir)
    token = issue_token(key, person.id, PersonKind(person.kind), now)
    valid_until = datetime.fromtimestamp((step_of(now) + 1 + SKEW_STEPS) * STEP_S, tz=UTC)
    return QrOut(token=token, kid=key.kid, valid_until=valid_until)
