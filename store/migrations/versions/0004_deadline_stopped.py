"""Deadlines missed before a closure stay missed: a stored deadline records when (and by
which event) it was stopped, so an overdue deadline of a closed case is kept but not chased.

Rows computed before this revision have no stop; they are right again at the next recompute
of their case (any new event, or the hourly recompute job).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deadlines", sa.Column("stopped_at", sa.DateTime(timezone=True)))
    op.add_column("deadlines", sa.Column("stopped_by_event", sa.String(16)))


def downgrade() -> None:
    # batch mode: SQLite rebuilds the table where it cannot drop a column in place.
    with op.batch_alter_table("deadlines") as batch:
        batch.drop_column("stopped_by_event")
        batch.drop_column("stopped_at")
