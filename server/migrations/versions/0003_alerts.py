"""alerts: alert, alert_history, alert_signal

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:00:00

One unresolved alert per (rule, subject): a unique partial index, written so
SQLite and PostgreSQL both build it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_RESOLVED = "status != 'resolved'"


def _ts(name: str, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, server.db.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("severity_rank", sa.SmallInteger(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("start_level", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("building", sa.String(length=32), nullable=True),
        sa.Column("floor", sa.String(length=32), nullable=True),
        sa.Column("room", sa.String(length=32), nullable=True),
        _ts("first_seen", False),
        _ts("last_seen", False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("delayed", sa.Boolean(), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        _ts("opened_at", False),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        _ts("acknowledged_at", True),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        _ts("resolved_at", True),
        sa.Column("note", sa.String(length=500), nullable=True),
        _ts("escalated_at", True),
        _ts("actions_done_at", True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_building"), ["building"], unique=False)
        batch_op.create_index(
            "ix_alert_status_order", ["status", "severity_rank", "first_seen"], unique=False
        )
        batch_op.create_index(
            "uq_alert_rule_subject_unresolved",
            ["rule", "subject"],
            unique=True,
            sqlite_where=sa.text(_NOT_RESOLVED),
            postgresql_where=sa.text(_NOT_RESOLVED),
        )

    op.create_table(
        "alert_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(length=26), nullable=False),
        _ts("at", False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_history_alert_id_alert")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_history")),
    )
    with op.batch_alter_table("alert_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_history_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "alert_signal",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.String(length=26), nullable=False),
        _ts("event_time", False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_signal_alert_id_alert")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_signal")),
    )
    with op.batch_alter_table("alert_signal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_signal_alert_id"), ["alert_id"], unique=False)


def downgrade() -> None:
    op.drop_table("alert_signal")
    op.drop_table("alert_history")
    op.drop_table("alert")
