"""Where things are: campus, buildings with their curfews, floors, rooms, devices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base

ID_LEN = 32


class Campus(Base):
    __tablename__ = "campus"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))


class Building(Base):
    __tablename__ = "building"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    campus_id: Mapped[str] = mapped_column(ForeignKey("campus.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    gateway_id: Mapped[str] = mapped_column(String(ID_LEN))

    floors: Mapped[list[Floor]] = relationship(
        back_populates="building", order_by="Floor.level", cascade="all, delete-orphan"
    )


class Curfew(Base):
    """The building's access policy per night: curfew start (local ``HH:MM``) and end."""

    __tablename__ = "curfew"

    building_id: Mapped[str] = mapped_column(ForeignKey("building.id"), primary_key=True)
    #: 0 = Monday: the night that begins on this day.
    weekday: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts: Mapped[str] = mapped_column(String(5))
    ends: Mapped[str] = mapped_column(String(5))


class Floor(Base):
    __tablename__ = "floor"
    __table_args__ = (UniqueConstraint("building_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("building.id"))
    level: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(100))

    building: Mapped[Building] = relationship(back_populates="floors")
    rooms: Mapped[list[Room]] = relationship(back_populates="floor", order_by="Room.number")


class Room(Base):
    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("building_id", "number"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("building.id"), index=True)
    floor_id: Mapped[int] = mapped_column(ForeignKey("floor.id"), index=True)
    number: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int]
    max_power_w: Mapped[float]

    floor: Mapped[Floor] = relationship(back_populates="rooms")


class Device(Base):
    """A gate, kiosk or room sensor, with what its heartbeats and state last said."""

    __tablename__ = "device"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("building.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    room_id: Mapped[str | None] = mapped_column(ForeignKey("room.id"))
    place: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    last_seen_at: Mapped[datetime | None]
    software_version: Mapped[str | None] = mapped_column(String(40))
    config_version: Mapped[str | None] = mapped_column(String(40))
    allowlist_version: Mapped[int | None]
    outbox_depth: Mapped[int | None]
    clock_offset_ms: Mapped[int | None]
