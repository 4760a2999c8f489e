"""A prompt card's buttons in Teams (bot/transports/teams/card_actions.py): each verb runs
the shared prompt-actions service with the permissions of the commands and answers with the
card to show in place; a retried invoke (Teams retries) changes nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.directory import Actor
from bot.transports.teams.card_actions import CardServices, handle_card_action, invoke_body
from scheduler.reminders.address import Address
from scheduler.reminders.content import ActionRef, ChecklistItem, Prompt, to_json
from store.models import ChecklistTick, OutboxRow
from store.settings import Settings

REF = ActionRef("810001", "child_visited", 1, "due_today")
PROMPT = Prompt(ref=REF, lines=("Due today: case 810001, Child visited.",),
                checklist_title="Before the visit",
                checklist=(ChecklistItem(1, "Check the referral", False),
                           ChecklistItem(2, "Book an interpreter", False)))


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}"))
    app.casebook.add_team("north", "bexley")
    app.casebook.add_team("south", "bexley")
    jo = app.directory.add("jo", "worker", "north", msteams_id="aad-jo")
    app.directory.add("sam", "worker", "south", msteams_id="aad-sam")
    assert app.handler.handle(jo, "/referral", "810001 s17", source="test").ok
    with app.casebook.sessions.begin() as s:  # the prompt jo was sent
        s.add(OutboxRow(key="p:810001:child_visited:1:due_today:staff:jo", stage="due_today",
                        case_ref="810001", rule="child_visited", seq=1, recipient="staff:jo",
                        team="north", transport="teams", payload=to_json(PROMPT),
                        created_at=datetime.now(UTC), next_attempt_at=datetime.now(UTC),
                        sent_at=datetime.now(UTC)))
    return app


def services(app: App) -> CardServices:
    return CardServices(app.handler, app.handler.prompt_actions())


def actor(app: App, name: str) -> Actor:
    found = app.directory.by_name(name)
    assert found is not None
    return found


def texts(card: dict) -> list[str]:
    """Every TextBlock's text, in order (a refreshed card's result is in a Container)."""
    out: list[str] = []
    for block in card.get("body", []):
        if block.get("type") == "Container":
            out.extend(texts({"body": block["items"]}))
        elif block.get("type") == "TextBlock":
            out.append(block["text"])
    return out


def done(card: dict) -> str:
    """What the refreshed card says was done: on top of the prompt."""
    top = card["body"][0]
    assert top["type"] == "Container"
    return str(top["items"][0]["text"])


def toggles(card: dict) -> dict[str, str]:
    return {b["id"]: b["value"] for b in card["body"] if b["type"] == "Input.Toggle"}


def rows(app: App) -> int:
    with app.casebook.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxRow)) or 0)


def test_a_snooze_clicked_twice_puts_one_copy_back(app: App) -> None:
    data = {"ref": REF.to_token()}
    first = handle_card_action(services(app), actor(app, "jo"), "snooze", data)
    again = handle_card_action(services(app), actor(app, "jo"), "snooze", data)
    assert rows(app) == 2  # the prompt and one snoozed copy, however many clicks
    assert done(first).startswith("Snoozed: it comes back ")
    assert first == again
    # The refreshed card is the prompt as sent, with what was done on top.
    assert "Case 810001, Child visited." in texts(first)


def test_ticks_store_the_set_once_and_the_card_shows_them(app: App) -> None:
    data = {"ref": REF.to_token(), "item-1": "true", "item-2": "false"}
    handle_card_action(services(app), actor(app, "jo"), "tick", data)
    card = handle_card_action(services(app), actor(app, "jo"), "tick", data)
    with app.casebook.sessions() as s:
        assert list(s.scalars(select(ChecklistTick.item))) == [1]
    assert toggles(card) == {"item-1": "true", "item-2": "false"}
    assert done(card) == "Checklist saved: 1 ticked."


def test_a_reason_asks_for_its_words_then_is_stored_once_on_a_retried_invoke(app: App
                                                                            ) -> None:
    form = handle_card_action(services(app), actor(app, "jo"), "reason",
                              {"ref": REF.to_token()})
    assert form["body"][1]["type"] == "Input.Text" and form["body"][1]["id"] == "reason"
    assert form["actions"][0] == {"type": "Action.Execute", "title": "Record",
                                  "verb": "reason", "data": {"ref": REF.to_token()}}
    data = {"ref": REF.to_token(), "reason": "family away until Monday"}
    handle_card_action(services(app), actor(app, "jo"), "reason", data)
    card = handle_card_action(services(app), actor(app, "jo"), "reason", data)
    reasons = [e for e in app.casebook.timeline("810001") if e.type == "delay_reason"]
    assert len(reasons) == 1
    assert "already logged" in done(card)


def test_log_it_prefills_the_command_line_then_logs_it(app: App) -> None:
    form = handle_card_action(services(app), actor(app, "jo"), "log_it",
                              {"ref": REF.to_token()})
    assert form["body"][1]["value"].startswith("810001")
    card = handle_card_action(services(app), actor(app, "jo"), "log_it",
                              {"ref": REF.to_token(), "line": "810001 alone"})
    assert done(card).startswith("Logged child seen (alone) for 810001")
    assert [e.type for e in app.casebook.timeline("810001")][-1] == "child_seen"


def test_someone_of_another_team_is_refused_as_the_command_would_be(app: App) -> None:
    card = handle_card_action(services(app), actor(app, "sam"), "snooze",
                              {"ref": REF.to_token()})
    assert texts(card) == ["Not snoozed: there is no case 810001 in your team: log its "
                           "referral first, /referral 810001 s17."]
    assert rows(app) == 1  # nothing snoozed
    stranger = handle_card_action(services(app), None, "snooze", {"ref": REF.to_token()})
    assert "not in caseclock's staff directory" in texts(stranger)[0]


def test_a_button_that_matches_no_reminder_says_so(app: App) -> None:
    card = handle_card_action(services(app), actor(app, "jo"), "snooze", {"ref": "junk"})
    assert texts(card) == ["that button no longer matches a reminder: use the latest "
                           "message, or type the command instead."]
    assert invoke_body(card) == {"statusCode": 200,
                                 "type": "application/vnd.microsoft.card.adaptive",
                                 "value": card}


def test_a_snooze_in_the_teams_channel_snoozes_the_channels_prompt(app: App) -> None:
    with app.casebook.sessions.begin() as s:
        s.add(OutboxRow(key="p:810001:child_visited:1:due_today:team:north", stage="due_today",
                        case_ref="810001", rule="child_visited", seq=1, recipient="team:north",
                        team="north", transport="teams", payload=to_json(PROMPT),
                        created_at=datetime.now(UTC), next_attempt_at=datetime.now(UTC),
                        sent_at=datetime.now(UTC)))
    handle_card_action(services(app), actor(app, "jo"), "snooze", {"ref": REF.to_token()},
                       Address.team("north"))
    with app.casebook.sessions() as s:
        copies = list(s.scalars(select(OutboxRow.recipient).where(
            OutboxRow.key.contains(":snoozed:"))))
    assert copies == ["team:north"]  # the channel's, not jo's own


def test_the_procedures_words_are_shown_under_the_prompt(app: App) -> None:
    card = handle_card_action(services(app), actor(app, "jo"), "quote", {"ref": REF.to_token()})
    assert done(card) == "From the procedure"
    words = card["body"][0]["items"][1]["text"]
    assert words.startswith("Child visited") and "\u201c" in words
    assert "Case 810001, Child visited." in texts(card)  # the prompt, still there


def test_log_it_on_a_card_logs_for_its_own_case_only_and_a_channel_sees_only_the_reference(
        app: App) -> None:
    jo = actor(app, "jo")
    assert app.handler.handle(jo, "/referral", "810002 s17", source="test").ok
    other = handle_card_action(services(app), jo, "log_it",
                               {"ref": REF.to_token(), "line": "810002 alone"})
    assert done(other) == ("This card logs for case 810001 only: start the line with "
                           "810001, or type the command for another case in your chat with "
                           "caseclock.")
    assert [e.type for e in app.casebook.timeline("810002")] == ["referral_received"]
    # Clicked in north's channel: stored, and the card there says who logged what, for
    # which case, and nothing of what is due next.
    card = handle_card_action(services(app), jo, "log_it",
                              {"ref": REF.to_token(), "line": "810001 alone"},
                              Address.team("north"))
    assert texts(card)[0] == "jo logged /seen for 810001."
    assert [e.type for e in app.casebook.timeline("810001")][-1] == "child_seen"
