"""Derived state: presence, duty rosters, allowlist versions, per-minute rollups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base
from server.db.places import ID_LEN


class Presence(Base):
    """Whether a person is in or out of a building, from the latest granted passage."""

    __tablename__ = "presence"

    person_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    building_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    #: in or out.
    state: Mapped[str] = mapped_column(String(4))
    since: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(26))


class DutyShift(Base):
    """One counselor's duty shift in one building (the roster is the set of shifts)."""

    __tablename__ = "duty_shift"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("building.id"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]


class AllowlistVersion(Base):
    """Every published allowlist of a building: the snapshot, and the delta that led to it."""

    __tablename__ = "allowlist_version"

    building_id: Mapped[str] = mapped_column(ForeignKey("building.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    issued_at: Mapped[datetime]
    #: The snapshot's wire form (JSON), so the next delta is a diff against it.
    snapshot: Mapped[bytes] = mapped_column(LargeBinary)
    #: The delta from the previous version (None for version 1).
    delta: Mapped[bytes | None] = mapped_column(LargeBinary)
    note: Mapped[str | None] = mapped_column(Text)


class GateFlowMinute(Base):
    """People through a building's gates per minute (dashboard charts)."""

    __tablename__ = "gate_flow_minute"

    building_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    entries: Mapped[int] = mapped_column(default=0)
    exits: Mapped[int] = mapped_column(default=0)
    denied: Mapped[int] = mapped_column(default=0)


class RoomMinute(Base):
    """Occupancy and power of a room per minute (dashboard charts)."""

    __tablename__ = "room_minute"

    room_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    building_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    occupancy_max: Mapped[int]
    power_w_avg: Mapped[float]
    power_w_max: Mapped[float]
    samples: Mapped[int]
