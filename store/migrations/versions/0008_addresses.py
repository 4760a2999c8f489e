"""Addresses, not channel ids: an outbox row's recipient is "staff:NAME", "team:NAME" (the
care team's own channel) or "ooh:NAME" (its out-of-hours channel), which each transport
resolves to its own id. Rows addressed to a Slack channel id ("channel:C...") are readdressed
to the team whose channel it is, sent rows too, and their keys with them: a key holds its
recipient, and a sent row's key must still match what the sweep plans, or it would be sent
again. A channel no team has any more is the row's own team's channel.

The Microsoft Teams channel column is `msteams_channel` ("team" means a care team only).

Revision ID: 0008
Revises: 0007
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.alter_column("teams_channel", new_column_name="msteams_channel")
    conn = op.get_bind()
    # A row is its own team's first: teams may share a channel (an out-of-hours one).
    own: dict[str, dict[str, str]] = {}
    channels: dict[str, str] = {}
    for name, day, ooh in conn.execute(sa.text(
            "SELECT name, slack_channel, ooh_channel FROM teams")):
        mine = own.setdefault(name, {})
        if ooh:
            channels[ooh] = mine[ooh] = f"ooh:{name}"
        if day:
            channels[day] = mine[day] = f"team:{name}"  # both: the team's own channel
    rows = conn.execute(sa.text(
        "SELECT id, key, recipient, team, sent_at FROM outbox "
        "WHERE recipient LIKE 'channel:%' ORDER BY id")).all()
    keys = set(conn.execute(sa.text("SELECT key FROM outbox")).scalars())
    for row_id, key, recipient, team, _sent in rows:
        channel = recipient.split(":", 1)[1]
        new = own.get(team, {}).get(channel) or channels.get(channel, f"team:{team}")
        # The recipient sits in the key after the stage, before any ":snoozed:DATE".
        new_key = re.sub(rf":{re.escape(recipient)}(?=$|:)", f":{new}", key, count=1)
        if new_key in keys:
            # Two old channels are one address now (a channel the team no longer has): the
            # row keeps its key, as history; unsent, it would repeat the other, so it goes.
            conn.execute(sa.text(
                "UPDATE outbox SET recipient = :r, withdrawn_at = CASE WHEN sent_at IS NULL "
                "THEN CURRENT_TIMESTAMP ELSE withdrawn_at END WHERE id = :i"),
                {"r": new, "i": row_id})
            continue
        keys.discard(key)
        keys.add(new_key)
        conn.execute(sa.text("UPDATE outbox SET recipient = :r, key = :k WHERE id = :i"),
                     {"r": new, "k": new_key, "i": row_id})


def downgrade() -> None:
    conn = op.get_bind()
    channels: dict[str, str] = {}
    for name, day, ooh in conn.execute(sa.text(
            "SELECT name, slack_channel, ooh_channel FROM teams")):
        if day:
            channels[f"team:{name}"] = f"channel:{day}"
        if ooh:
            channels[f"ooh:{name}"] = f"channel:{ooh}"
    rows = conn.execute(sa.text(
        "SELECT id, key, recipient FROM outbox WHERE recipient LIKE 'team:%' "
        "OR recipient LIKE 'ooh:%'")).all()
    for row_id, key, recipient in rows:
        old = channels.get(recipient)
        if old is None:
            continue  # a team with no Slack channel had no such row before
        new_key = re.sub(rf":{re.escape(recipient)}(?=$|:)", f":{old}", key, count=1)
        conn.execute(sa.text("UPDATE outbox SET recipient = :r, key = :k WHERE id = :i"),
                     {"r": old, "k": new_key, "i": row_id})
    with op.batch_alter_table("teams") as batch:
        batch.alter_column("msteams_channel", new_column_name="teams_channel")
