"""Whom each transport tells: a person's preferred transport, else the first that reaches
them (Slack: a person with a Slack id, a team's channel), else the console."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from bot.app import build_app
from store.db import alembic_config
from store.settings import Settings


def test_a_person_is_told_where_they_prefer_else_where_they_can_be_reached(
        tmp_path: Path) -> None:
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path}/c.db",
                             slack_bot_token="xoxb-test"))
    app.casebook.add_team("north", "bexley", slack_channel="CNORTH")
    app.directory.add("jo", "worker", "north", "UJO")
    app.directory.add("sam", "worker", "north", "USAM", prefers="console")
    app.directory.add("kim", "worker", "north")
    route = app.outbox.transport_for
    assert route("staff:jo") == "slack"
    assert route("staff:sam") == "console"  # has a Slack id, but prefers the console
    assert route("staff:kim") == "console"  # no Slack id
    assert route("channel:CNORTH") == "slack"
    assert app.directory.by_name("sam").prefers == "console"  # type: ignore[union-attr]


def test_without_slack_everyone_is_told_at_the_console(tmp_path: Path) -> None:
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path}/c.db", slack_bot_token=None))
    app.casebook.add_team("north", "bexley", slack_channel="CNORTH")
    app.directory.add("jo", "worker", "north", "UJO", prefers="slack")
    route = app.outbox.transport_for
    assert route("staff:jo") == "console"  # Slack is not configured here
    assert route("channel:CNORTH") == "console"


def test_the_microsoft_id_is_kept_under_its_new_name_when_the_store_is_upgraded(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        conn.execute(text("INSERT INTO staff (name, role, slack_user_id, teams_user_id, active, "
                          "created_at) VALUES ('jo', 'worker', 'UJO', 'aad-jo', 1, "
                          "'2026-11-30 12:00:00')"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        row = conn.execute(text("SELECT msteams_user_id, prefers FROM staff")).one()
    assert tuple(row) == ("aad-jo", None)
    engine.dispose()
