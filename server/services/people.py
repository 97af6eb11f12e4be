"""People, credentials and logins."""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from protocol.cardhash import card_hash
from server.api.schemas import CredentialIn, PersonIn, UserIn
from server.db import (
    Building,
    BuildingAccess,
    Credential,
    Person,
    PersonPrivate,
    Room,
    UserAccount,
)
from server.security import hash_password, utcnow


def _conflict(what: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, f"{what} already exists")


def _require(session: Session, model: type[Building] | type[Room], key: str, what: str) -> None:
    if session.get(model, key) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown {what} {key!r}")


def create_person(session: Session, data: PersonIn) -> Person:
    if session.get(Person, data.id) is not None:
        raise _conflict("person")
    if data.number is not None and session.scalar(
        select(PersonPrivate.person_id).where(PersonPrivate.number == data.number)
    ):
        raise _conflict("person number")
    if data.home_building_id is not None:
        _require(session, Building, data.home_building_id, "building")
    if data.room_id is not None:
        _require(session, Room, data.room_id, "room")
    for building in set(data.access):
        _require(session, Building, building, "building")
    person = Person(
        id=data.id,
        kind=data.kind,
        status="active",
        home_building_id=data.home_building_id,
        room_id=data.room_id,
    )
    person.private = PersonPrivate(full_name=data.full_name, number=data.number)
    session.add(person)
    session.flush()
    for building in sorted(set(data.access)):
        session.add(BuildingAccess(person_id=person.id, building_id=building))
    session.flush()
    return person


def add_credential(session: Session, person: Person, data: CredentialIn, key: bytes) -> Credential:
    if (data.kind == "card") != (data.card_number is not None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "card_number is required for cards and only then"
        )
    if data.valid_from and data.valid_until and data.valid_until <= data.valid_from:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "valid_until must be after valid_from"
        )
    hashed = None if data.card_number is None else card_hash(key, data.card_number)
    if hashed is not None and session.scalar(
        select(Credential.id).where(Credential.card_hash == hashed)
    ):
        raise _conflict("card")
    credential = Credential(
        person_id=person.id,
        kind=data.kind,
        card_hash=hashed,
        status="active",
        valid_from=data.valid_from,
        valid_until=data.valid_until,
    )
    session.add(credential)
    try:
        session.flush()
    except IntegrityError:
        raise _conflict("card") from None
    return credential


def revoke_credential(session: Session, credential: Credential) -> None:
    if credential.status != "revoked":
        credential.status = "revoked"
        credential.revoked_at = utcnow()
    session.flush()


def revoke_person(session: Session, person: Person) -> None:
    person.status = "revoked"
    for credential in session.scalars(select(Credential).where(Credential.person_id == person.id)):
        revoke_credential(session, credential)
    session.flush()


def create_user(session: Session, data: UserIn) -> UserAccount:
    if session.scalar(select(UserAccount.id).where(UserAccount.username == data.username)):
        raise _conflict("user")
    if data.person_id is not None:
        if session.get(Person, data.person_id) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown person")
        if session.scalar(select(UserAccount.id).where(UserAccount.person_id == data.person_id)):
            raise _conflict("login for this person")
    user = UserAccount(
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        person_id=data.person_id,
        active=True,
    )
    session.add(user)
    session.flush()
    return user
