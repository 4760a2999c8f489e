"""Email: a member of staff's address (`staff.email`) and a team's digest address
(`teams.digest_email`), for Outlook email through Microsoft Graph.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table where it cannot alter it in place.
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("email", sa.String(320)))
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("digest_email", sa.String(320)))


def downgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("digest_email")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("email")
