"""Service managers oversee named teams: one row per (service manager, team). A service
manager with no rows oversees every team, as every service manager did before.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_oversight",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id"), nullable=False,
                  index=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), nullable=False),
        sa.UniqueConstraint("staff_id", "team_id", name="uq_oversight"),
    )


def downgrade() -> None:
    op.drop_table("staff_oversight")
