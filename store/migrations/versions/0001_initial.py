"""Initial schema: teams, staff, cases, append-only events, deadlines, audit.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("slack_channel", sa.String(64)),
        sa.Column("teams_channel", sa.String(256)),
        sa.Column("digest_at", sa.String(5), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id")),
        sa.Column("slack_user_id", sa.String(64), unique=True),
        sa.Column("teams_user_id", sa.String(256), unique=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False, unique=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("allocated_worker", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(16), nullable=False, unique=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(128), unique=True),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("due", TS, nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("met_at", TS),
        sa.Column("met_by_event", sa.String(16)),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("anchor_at", TS, nullable=False),
        sa.Column("hourly", sa.Boolean, nullable=False),
        sa.Column("delay_reason", sa.Text),
        sa.Column("computed_at", TS, nullable=False),
        sa.UniqueConstraint("case_id", "rule", "seq", name="uq_deadline"),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    # Events are append-only in the database itself, not only in the application.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION caseclock_events_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'events are append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION caseclock_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events "
                "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
            )


def downgrade() -> None:
    for table in ("audit", "deadlines", "events", "cases", "staff", "teams"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS caseclock_events_append_only()")
