"""Upgrading a store whose unsent outbox rows hold Slack payloads (as caseclock wrote them
before content): each row becomes content that Slack renders to the very message it held.

tests/fixtures/outbox_payloads_0008.json holds rows as caseclock 947d736 stored them, made
by its own sweep and delivery: prompts with and without a checklist (ticked and not), one
awaiting authorisation, a team digest cut at 50 blocks with a section left out whole, a
manager's summary cut too, a digest with one person's lines cut, a service manager's
summary, an import summary, and an admin alert.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import (
    JSON,
    DateTime,
    String,
    column,
    create_engine,
    insert,
    select,
    table,
    text,
)
from sqlalchemy.engine import Connection

from bot.transports.plain import plain
from bot.transports.slack.blocks import render
from scheduler.reminders.content import Alert, Digest, Prompt, Summary, from_json
from store.db import alembic_config

FIXTURE = Path(__file__).parent / "fixtures" / "outbox_payloads_0008.json"
OLD: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 12, 9, 0)


def _migrate(conn: Connection, to: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    if to == "0008" and conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = "
                                          "'alembic_version'")).first():
        command.downgrade(cfg, to)
    else:
        command.upgrade(cfg, to)


@pytest.fixture
def upgraded(tmp_path: Path) -> dict[str, Any]:
    """Every fixture row stored at 0008 (plus one already sent), then upgraded to head:
    name -> stored payload."""
    engine = create_engine(f"sqlite:///{tmp_path}/old.db")
    with engine.begin() as conn:
        _migrate(conn, "0008")
        outbox = table("outbox", *_columns())
        for entry in [*OLD, {**OLD[0], "name": "sent", "sent": True,
                             "row": {**OLD[0]["row"], "key": "already-sent"}}]:
            conn.execute(insert(outbox).values(
                **entry["row"], payload=entry["payload"], created_at=NOW, next_attempt_at=NOW,
                attempts=0, sent_at=NOW if entry.get("sent") else None))
    with engine.begin() as conn:
        _migrate(conn, "head")
        rows = conn.execute(text("SELECT key, payload FROM outbox ORDER BY id")).all()
    engine.dispose()
    names = {e["row"]["key"]: e["name"] for e in OLD} | {"already-sent": "sent"}
    return {names[key]: json.loads(payload) for key, payload in rows}


def _columns() -> list[Any]:
    """The outbox's columns as 0008 has them (typed, so JSON and times are stored as the
    application stores them)."""
    types: dict[str, Any] = {"payload": JSON, "created_at": DateTime,
                             "next_attempt_at": DateTime, "sent_at": DateTime}
    return [column(n, types.get(n, String)) for n in (
        "key", "stage", "case_ref", "rule", "seq", "recipient", "team", "transport", "urgent",
        "payload", "created_at", "next_attempt_at", "attempts", "sent_at")]


@pytest.mark.parametrize("entry", OLD, ids=[e["name"] for e in OLD])
def test_an_unsent_slack_payload_becomes_content_slack_renders_to_the_same_message(
        upgraded: dict[str, Any], entry: dict[str, Any]) -> None:
    content = from_json(upgraded[entry["name"]])
    old = entry["payload"]
    message = render(content)
    assert message["blocks"] == old.get("blocks", [])
    assert message["text"] == old["text"]
    assert plain(content) == old["text"]  # the console and the dry run show the same words


def test_each_kind_is_read_as_what_it_was(upgraded: dict[str, Any]) -> None:
    kinds = {name: type(from_json(c)) for name, c in upgraded.items() if name != "sent"}
    assert kinds["prompt with a ticked checklist"] is Prompt
    assert kinds["prompt awaiting authorisation"] is Prompt
    assert kinds["team digest cut at 50 blocks"] is Digest
    assert kinds["manager summary"] is Summary and kinds["service summary"] is Summary
    assert kinds["admin alert"] is Alert
    ticked = from_json(upgraded["prompt with a ticked checklist"])
    assert isinstance(ticked, Prompt)
    assert [c.item for c in ticked.checklist if c.ticked] == [0, 2, 5]
    assert ticked.checklist_title == "Regular review of the assessment"
    assert [a.kind for a in ticked.actions] == ["log_it", "reason", "snooze", "quote"]
    assert ticked.actions[0].ref.event == "assessment_completed"
    assert ticked.quote and "15" in ticked.quote
    big = from_json(upgraded["team digest cut at 50 blocks"])
    assert isinstance(big, Digest)
    # What the 50 blocks could not show is carried as counts, by section.
    assert [(s.header, len(s.entries), s.more) for s in big.sections] == [
        ("Overdue", 47, 14), ("due in the next 3 working days", 0, 5)]
    assert big.team == "big" and big.audience == "team"


def test_a_sent_row_keeps_what_it_held(upgraded: dict[str, Any]) -> None:
    assert upgraded["sent"] == OLD[0]["payload"]


def test_an_unreadable_payload_becomes_an_alert_of_its_text(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/odd.db")
    odd = {"text": "something else", "blocks": [{"type": "image", "image_url": "x"}]}
    with engine.begin() as conn:
        _migrate(conn, "0008")
        conn.execute(insert(table("outbox", *_columns())).values(
            **{**OLD[0]["row"], "key": "odd"}, payload=odd, created_at=NOW,
            next_attempt_at=NOW, attempts=0, sent_at=None))
    with engine.begin() as conn:
        _migrate(conn, "head")
        [stored] = conn.execute(select(text("payload")).select_from(text("outbox"))).scalars()
    engine.dispose()
    assert from_json(json.loads(stored)) == Alert("something else")


def test_downgrading_gives_the_older_code_the_text_of_each_message(
        tmp_path: Path, upgraded: dict[str, Any]) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/down.db")
    with engine.begin() as conn:
        _migrate(conn, "head")
        for i, (name, content) in enumerate(upgraded.items()):
            conn.execute(insert(table("outbox", *_columns())).values(
                **{**OLD[0]["row"], "key": f"k{i}"}, payload=content, created_at=NOW,
                next_attempt_at=NOW, attempts=0, sent_at=NOW if name == "sent" else None))
    with engine.begin() as conn:
        _migrate(conn, "0008")
        stored = [json.loads(p) for p in conn.execute(
            text("SELECT payload FROM outbox ORDER BY id")).scalars()]
    engine.dispose()
    want = {e["name"]: {"text": e["payload"]["text"]} for e in OLD} | {"sent": OLD[0]["payload"]}
    assert stored == list(want[name] for name in upgraded)
