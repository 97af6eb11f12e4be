"""People and what lets them in.

``person`` holds the pseudonymous id used everywhere else (events, MQTT,
telemetry, tokens). Names, student numbers and login names live only in
``person_private`` and ``user_account``; nothing outside those two tables and
the API that serves them to authorised users refers to them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base
from server.db.places import ID_LEN


class Person(Base):
    __tablename__ = "person"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    #: student, staff or visitor (protocol.messages.PersonKind).
    kind: Mapped[str] = mapped_column(String(16))
    #: active or revoked; a revoked person is removed from every allowlist.
    status: Mapped[str] = mapped_column(String(16), default="active")
    home_building_id: Mapped[str | None] = mapped_column(ForeignKey("building.id"), index=True)
    room_id: Mapped[str | None] = mapped_column(ForeignKey("room.id"))

    private: Mapped[PersonPrivate | None] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )


class PersonPrivate(Base):
    """Personal data: the only table with names and student numbers."""

    __tablename__ = "person_private"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    #: Student or staff number; unique when given.
    number: Mapped[str | None] = mapped_column(String(32), unique=True)

    person: Mapped[Person] = relationship(back_populates="private")


class UserAccount(Base):
    """A login of the REST API (personal data: the user name may be a number)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: student, counselor, security or admin.
    role: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


class StaffBuilding(Base):
    """The buildings a counselor (or other staff) is responsible for."""

    __tablename__ = "staff_building"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), primary_key=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("building.id"), primary_key=True)


class BuildingAccess(Base):
    """Who may enter a building, and when the grant is valid."""

    __tablename__ = "building_access"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), primary_key=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("building.id"), primary_key=True)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]


class Credential(Base):
    """A campus card (by its keyed hash) or the right to dynamic QR codes."""

    __tablename__ = "credential"
    __table_args__ = (UniqueConstraint("card_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    #: card or qr (protocol.messages.CredentialKind).
    kind: Mapped[str] = mapped_column(String(8))
    #: HMAC-SHA256 of the card number (protocol.cardhash); None for QR.
    card_hash: Mapped[str | None] = mapped_column(String(64))
    #: active or revoked.
    status: Mapped[str] = mapped_column(String(16), default="active")
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
