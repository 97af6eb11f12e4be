"""leaves and room bookings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leave",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_leave_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave")),
    )
    with op.batch_alter_table("leave", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leave_person_id"), ["person_id"], unique=False)

    op.create_table(
        "room_booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", server.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("booked_by", sa.String(length=32), nullable=True),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["booked_by"], ["person.id"], name=op.f("fk_room_booking_booked_by_person")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["room.id"], name=op.f("fk_room_booking_room_id_room")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_booking")),
    )
    with op.batch_alter_table("room_booking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_booking_room_id"), ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_booking_room_id"))
    op.drop_table("room_booking")
    with op.batch_alter_table("leave", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leave_person_id"))
    op.drop_table("leave")
