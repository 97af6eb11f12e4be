"""Schedules the rules read: registered leaves and activity-room bookings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class Leave(Base):
    """A registered absence: a person away on purpose (suppresses ``not_seen``)."""

    __tablename__ = "leave"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)


class RoomBooking(Base):
    """An activity room booked for a time (``activity_room_misuse`` reads them)."""

    __tablename__ = "room_booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("room.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    booked_by: Mapped[str | None] = mapped_column(ForeignKey("person.id"))
    purpose: Mapped[str | None] = mapped_column(String(200))
