"""People, their credentials and logins (administrators only).

These are the only routes that return personal data (names, numbers).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from protocol.ids import ID_PATTERN
from server.api.deps import AdminUser, RuntimeDep, SessionDep
from server.api.schemas import CredentialIn, CredentialOut, PersonIn, PersonOut, UserIn, UserOut
from server.db import Credential, Person
from server.services import people as service
from server.services.allowlists import buildings_of, refresh_and_publish

router = APIRouter(tags=["people"])

PersonPath = Annotated[str, Path(pattern=ID_PATTERN)]


def _out(person: Person) -> PersonOut:
    out = PersonOut.model_validate(person)
    if person.private is not None:
        out.full_name = person.private.full_name
        out.number = person.private.number
    return out


def _person(session: SessionDep, person_id: str) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such person")
    return person


@router.get("/people")
def list_people(
    session: SessionDep,
    user: AdminUser,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[PersonOut]:
    query = select(Person).options(selectinload(Person.private)).order_by(Person.id)
    if building is not None:
        query = query.where(Person.home_building_id == building)
    return [_out(p) for p in session.scalars(query.limit(limit).offset(offset))]


@router.post("/people", status_code=status.HTTP_201_CREATED)
def create_person(
    session: SessionDep, user: AdminUser, runtime: RuntimeDep, body: PersonIn
) -> PersonOut:
    person = service.create_person(session, body)
    session.commit()
    refresh_and_publish(runtime, body.access, note="person added")
    return _out(person)


@router.get("/people/{person_id}")
def read_person(session: SessionDep, user: AdminUser, person_id: PersonPath) -> PersonOut:
    return _out(_person(session, person_id))


@router.post("/people/{person_id}/revoke")
def revoke_person(
    session: SessionDep, user: AdminUser, runtime: RuntimeDep, person_id: PersonPath
) -> PersonOut:
    """Revoke a person and all their credentials; the gates drop them with the next delta."""
    person = _person(session, person_id)
    service.revoke_person(session, person)
    session.commit()
    refresh_and_publish(runtime, buildings_of(session, person.id), note="person revoked")
    return _out(person)


@router.get("/people/{person_id}/credentials")
def list_credentials(
    session: SessionDep, user: AdminUser, person_id: PersonPath
) -> list[CredentialOut]:
    _person(session, person_id)
    rows = session.scalars(
        select(Credential).where(Credential.person_id == person_id).order_by(Credential.id)
    )
    return [CredentialOut.model_validate(c) for c in rows]


@router.post("/people/{person_id}/credentials", status_code=status.HTTP_201_CREATED)
def add_credential(
    session: SessionDep,
    user: AdminUser,
    runtime: RuntimeDep,
    person_id: PersonPath,
    body: CredentialIn,
) -> CredentialOut:
    person = _person(session, person_id)
    key = runtime.settings.card_hash_key.encode()
    credential = service.add_credential(session, person, body, key)
    session.commit()
    refresh_and_publish(runtime, buildings_of(session, person.id), note="credential added")
    return CredentialOut.model_validate(credential)


@router.post("/credentials/{credential_id}/revoke")
def revoke_credential(
    session: SessionDep,
    user: AdminUser,
    runtime: RuntimeDep,
    credential_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> CredentialOut:
    """Revoke one card or QR credential; the next allowlist delta no longer carries it."""
    credential = session.get(Credential, credential_id)
    if credential is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such credential")
    service.revoke_credential(session, credential)
    session.commit()
    refresh_and_publish(
        runtime, buildings_of(session, credential.person_id), note="credential revoked"
    )
    return CredentialOut.model_validate(credential)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, user: AdminUser, body: UserIn) -> UserOut:
    account = service.create_user(session, body)
    session.commit()
    return UserOut.model_validate(account)
