"""Notifications: outbox, snoozes, checklist ticks; teams get an out-of-hours channel and
deadlines their counting unit (for "day 9 of 10").

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("teams", sa.Column("ooh_channel", sa.String(64)))
    op.add_column("deadlines", sa.Column("unit", sa.String(16), nullable=False,
                                         server_default="working_days"))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("case_ref", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False, index=True),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_at", TS),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", TS, index=True),
        sa.Column("withdrawn_at", TS),
        sa.Column("parked_at", TS),
    )
    op.create_table(
        "snoozes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_ref", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("until", TS, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.UniqueConstraint("case_ref", "rule", "seq", "stage", name="uq_snooze"),
    )
    op.create_table(
        "checklist_ticks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_ref", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("case_ref", "rule", "seq", "item", name="uq_tick"),
    )


def downgrade() -> None:
    for table in ("checklist_ticks", "snoozes", "outbox"):
        op.drop_table(table)
    op.drop_column("teams", "ooh_channel")
    op.drop_column("deadlines", "unit")
