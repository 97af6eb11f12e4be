"""What devices reported: the audit trail, written only by ingest.

Every table is keyed by the event's ULID, so a second delivery of the same
event is an ``ON CONFLICT DO NOTHING``: the effect is exactly once. Ids of
devices, buildings and people are plain indexed columns, not foreign keys:
the audit trail keeps what a device said even about an unknown card, person
or a device registered later.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from server.db.base import Base
from server.db.places import ID_LEN

ULID_LEN = 26


class EnvelopeMixin:
    """Columns of the contract's envelope (protocol.messages.DeviceEvent)."""

    event_id: Mapped[str] = mapped_column(String(ULID_LEN), primary_key=True)
    building_id: Mapped[str] = mapped_column(String(ID_LEN))
    device_id: Mapped[str] = mapped_column(String(ID_LEN))
    seq: Mapped[int]
    ts: Mapped[datetime]
    received_at: Mapped[datetime | None]
    replayed: Mapped[bool] = mapped_column(default=False)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:  # noqa: N805 - declared_attr takes the class
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (Index(f"ix_{name}_building_ts", "building_id", "ts"),)


class AccessEvent(EnvelopeMixin, Base):
    __tablename__ = "access_event"

    direction: Mapped[str] = mapped_column(String(8))
    credential: Mapped[str] = mapped_column(String(8))
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str | None] = mapped_column(String(ID_LEN), index=True)
    card_ref: Mapped[str | None] = mapped_column(String(16))
    nonce: Mapped[str | None] = mapped_column(String(16))
    door: Mapped[str] = mapped_column(String(ID_LEN))


class DoorEventRow(EnvelopeMixin, Base):
    __tablename__ = "door_event"

    kind: Mapped[str] = mapped_column(String(24))
    door: Mapped[str] = mapped_column(String(ID_LEN))
    grant_id: Mapped[str | None] = mapped_column(String(ULID_LEN))
    person_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    open_s: Mapped[float | None]


class PassageCountRow(EnvelopeMixin, Base):
    __tablename__ = "passage_count"

    direction: Mapped[str] = mapped_column(String(8))
    count: Mapped[int]
    grant_id: Mapped[str | None] = mapped_column(String(ULID_LEN))
    door: Mapped[str] = mapped_column(String(ID_LEN))


class DutyCheckRow(EnvelopeMixin, Base):
    """A counselor's check-in, check-out or room visit."""

    __tablename__ = "duty_check"

    action: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    room_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    nonce: Mapped[str | None] = mapped_column(String(16))


class TelemetrySample(EnvelopeMixin, Base):
    __tablename__ = "telemetry_sample"

    room_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    occupancy: Mapped[int]
    power_w: Mapped[float]
    temperature_c: Mapped[float]
    smoke: Mapped[bool]


class CommandAckRow(EnvelopeMixin, Base):
    __tablename__ = "command_ack"

    command_id: Mapped[str] = mapped_column(String(ULID_LEN), index=True)
    action: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(200), default="")


class CommandRow(Base):
    """A command sent to a device; ``status`` follows its acknowledgement."""

    __tablename__ = "command"

    id: Mapped[str] = mapped_column(String(ULID_LEN), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"), index=True)
    building_id: Mapped[str] = mapped_column(String(ID_LEN))
    action: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    issuer_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    duration_s: Mapped[float | None]
    #: pending until acknowledged; then the ack's result (ok/rejected/expired/failed).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    acked_at: Mapped[datetime | None]
    ack_detail: Mapped[str | None] = mapped_column(String(200))
