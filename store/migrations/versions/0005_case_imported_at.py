"""A case brought in by `caseclock import` records when: a deadline already missed at that
moment is summarised once to the team's manager, not prompted one by one.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("imported_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    # batch mode: SQLite rebuilds the table where it cannot drop a column in place.
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("imported_at")
