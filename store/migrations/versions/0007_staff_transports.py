"""Staff: the Microsoft identity is `msteams_user_id` ("team" means a care team only), and
each person may prefer a transport (`prefers`: NULL means the default, Slack for someone
with a Slack id, else the console).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table where it cannot alter a column in place.
    with op.batch_alter_table("staff") as batch:
        batch.alter_column("teams_user_id", new_column_name="msteams_user_id")
        batch.add_column(sa.Column("prefers", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("prefers")
        batch.alter_column("msteams_user_id", new_column_name="teams_user_id")
