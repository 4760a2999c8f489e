"""Teams conversation references (teams_conversations): where the bot can send proactive
messages, a person's chat with it or a team's channel.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams_conversations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(512), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service_url", sa.String(512), nullable=False),
        sa.Column("tenant_id", sa.String(64)),
        sa.Column("bot_id", sa.String(256), nullable=False),
        sa.Column("aad_object_id", sa.String(64)),
        sa.Column("teams_team_id", sa.String(256)),
        sa.Column("channel_id", sa.String(256)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_teams_conversations_aad_object_id", "teams_conversations",
                    ["aad_object_id"])
    op.create_index("ix_teams_conversations_channel_id", "teams_conversations", ["channel_id"])


def downgrade() -> None:
    op.drop_index("ix_teams_conversations_channel_id", "teams_conversations")
    op.drop_index("ix_teams_conversations_aad_object_id", "teams_conversations")
    op.drop_table("teams_conversations")
