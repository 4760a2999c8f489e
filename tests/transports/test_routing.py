"""Whom each transport tells: a person's preferred transport, else the first that reaches
them (Slack: a person with a Slack id, a team's channel), else the console; where a chat
platform is configured, nobody reached is parked and the admins are told."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from bot.app import build_app
from bot.directory import Directory
from bot.transports.console import ConsoleTransport
from bot.transports.registry import router
from scheduler.reminders.outbox import Outbox
from store.db import alembic_config
from store.models import OutboxRow
from store.settings import Settings
from tests.builders import at
from tests.test_outbox import Rig, rig  # noqa: F401  (the Slack outbox fixture)


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
    assert route("staff:kim") == "unreachable"  # no Slack id: not printed into a log
    assert route("team:north") == "slack"
    assert app.directory.by_name("sam").prefers == "console"  # type: ignore[union-attr]


def test_without_slack_everyone_is_told_at_the_console(tmp_path: Path) -> None:
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path}/c.db", slack_bot_token=None))
    app.casebook.add_team("north", "bexley", slack_channel="CNORTH")
    app.directory.add("jo", "worker", "north", "UJO", prefers="slack")
    route = app.outbox.transport_for
    assert route("staff:jo") == "console"  # Slack is not configured here
    assert route("team:north") == "console"


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


def test_a_server_parks_a_prompt_nobody_can_be_reached_by_and_tells_the_admins(
        rig: Rig,  # noqa: F811  (the fixture imported above)
        capsys: pytest.CaptureFixture[str]) -> None:
    # kim has no Slack id: the prompts of her cases are parked, not printed into the
    # server's output (which is its log), and the admins are told how to reach her.
    directory = Directory(rig.casebook.sessions)
    directory.add("kim", "worker", "north")
    rig.casebook.log("123499", "referral_received", at(2026, 12, 18, 10), {"track": "s17"},
                     actor="priya", source="test", team="north")
    rig.casebook.log("123499", "allocated", at(2026, 12, 18, 11, 30), {"worker": "kim"},
                     actor="priya", source="test")
    transports = {"slack": rig.transport, "console": ConsoleTransport()}
    outbox = Outbox(rig.casebook.sessions, rig.casebook.library, transports,
                    router(transports, directory), pace=0.0, base_backoff=0.01)
    rig.clock.now = at(2026, 12, 30, 9)
    outbox.sweep(rig.clock.now)
    rig.drain(outbox)
    with rig.casebook.sessions() as s:
        kims = s.scalars(select(OutboxRow).where(OutboxRow.recipient == "staff:kim")).all()
        jos = s.scalars(select(OutboxRow).where(OutboxRow.recipient == "staff:jo")).all()
    assert kims and all(r.parked_at is not None for r in kims), kims
    assert jos and all(r.sent_at is not None for r in jos)  # jo's went through Slack
    assert "123499" not in capsys.readouterr().out
    alerts = [c.body["text"] for c in rig.slack.of("chat.postMessage")
              if c.body["channel"] == "DUADA"]
    assert len(alerts) == len(kims)
    assert all("to kim" in a and "no configured transport reaches them" in a for a in alerts)
    # The admin adds kim's Slack id and re-queues what was parked: it is routed again, now
    # to Slack, and reaches her once.
    directory.remove("kim")  # as the directory asks: remove, then add with the new details
    directory.add("kim", "worker", "north", "UKIM")
    assert outbox.retry_parked(rig.clock.now) == len(kims)
    rig.drain(outbox)
    with rig.casebook.sessions() as s:
        kims = s.scalars(select(OutboxRow).where(OutboxRow.recipient == "staff:kim")).all()
    assert kims and all(r.sent_at is not None and r.transport == "slack" for r in kims)
    to_kim = [c for c in rig.slack.of("chat.postMessage") if c.body["channel"] == "DUKIM"]
    assert len(to_kim) == len(kims)


def test_rows_addressed_to_slack_channel_ids_are_readdressed_to_teams_on_upgrade(
        tmp_path: Path) -> None:
    # Before addresses, a team channel's rows named the Slack channel id; their keys held it
    # too. Sent rows must keep matching what the sweep plans now, or they would go again.
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    cfg = alembic_config()
    old = {
        "123456:allocation:1:2026-11-30T17:00:00+00:00:overdue:channel:CNORTH": "channel:CNORTH",
        "123456:allocation:1:2026-11-30T17:00:00+00:00:overdue:channel:COOH": "channel:COOH",
        "digest:north:2026-11-30:channel:CNORTH": "channel:CNORTH",
        "123456:assessment_initial_15:1:2026-12-10T17:00:00+00:00:upcoming:channel:CNORTH"
        ":snoozed:2026-12-01": "channel:CNORTH",
        "123456:allocation:1:2026-11-30T17:00:00+00:00:overdue:channel:CGONE": "channel:CGONE",
        "123456:allocation:1:2026-11-30T17:00:00+00:00:overdue:staff:jo": "staff:jo",
    }
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        conn.execute(text("INSERT INTO teams (name, policy, slack_channel, ooh_channel, "
                          "teams_channel, digest_at, created_at) VALUES ('north', 'bexley', "
                          "'CNORTH', 'COOH', '19:abc@thread.tacv2', '08:30', "
                          "'2026-11-30 12:00:00')"))
        # south shares north's out-of-hours channel: each team's rows stay its own.
        conn.execute(text("INSERT INTO teams (name, policy, slack_channel, ooh_channel, "
                          "digest_at, created_at) VALUES ('south', 'bexley', 'CSOUTH', "
                          "'COOH', '08:30', '2026-11-30 12:00:00')"))
        conn.execute(text(
            "INSERT INTO outbox (key, stage, case_ref, rule, seq, recipient, team, "
            "transport, urgent, payload, created_at, next_attempt_at, attempts) VALUES "
            "('654321:allocation:1:2026-11-30T17:00:00+00:00:overdue:channel:COOH', "
            "'overdue', '654321', 'allocation', 1, 'channel:COOH', 'south', 'slack', 0, "
            "'{}', '2026-11-30 17:00:00', '2026-11-30 17:00:00', 0)"))
        for key, recipient in old.items():
            conn.execute(text(
                "INSERT INTO outbox (key, stage, case_ref, rule, seq, recipient, team, "
                "transport, urgent, payload, created_at, next_attempt_at, attempts, sent_at) "
                "VALUES (:k, 'overdue', '123456', 'allocation', 1, :r, 'north', 'slack', 0, "
                "'{}', '2026-11-30 17:00:00', '2026-11-30 17:00:00', 1, "
                "'2026-11-30 17:00:01')"), {"k": key, "r": recipient})
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
        rows = dict(conn.execute(text("SELECT key, recipient FROM outbox")).all())
        channel = conn.execute(text("SELECT msteams_channel FROM teams WHERE name = 'north'")
                               ).scalar_one()
    assert rows == {
        "123456:allocation:1:2026-11-30T17:00:00+00:00:overdue:team:north": "team:north",
        "123456:allocation:1:2026-11-30T17:00:00+00:00:overdue:ooh:north": "ooh:north",
        "digest:north:2026-11-30:team:north": "team:north",
        "123456:assessment_initial_15:1:2026-12-10T17:00:00+00:00:upcoming:team:north"
        ":snoozed:2026-12-01": "team:north",
        # a channel no team has any more is the row's own team's channel; its key is taken
        # by the row above, so it keeps its own (sent: history)
        "123456:allocation:1:2026-11-30T17:00:00+00:00:overdue:channel:CGONE": "team:north",
        "123456:allocation:1:2026-11-30T17:00:00+00:00:overdue:staff:jo": "staff:jo",
        "654321:allocation:1:2026-11-30T17:00:00+00:00:overdue:ooh:south": "ooh:south",
    }
    assert channel == "19:abc@thread.tacv2"
    engine.dispose()
