"""What the Teams bot says where (bot/transports/teams/receiving.py, answer_message): in a
team's channel the thread hears only what the team may see, in the case's own channel."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.transports.teams.conversations import ConversationRef, Conversations
from bot.transports.teams.receiving import OPEN_CHAT, TeamsServices, answer_message
from store.settings import Settings

BOT = "28:bot"
NORTH = "19:north@thread.tacv2"
SOUTH = "19:south@thread.tacv2"


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}"))
    app.casebook.add_team("north", "bexley", teams_channel=NORTH)
    app.casebook.add_team("south", "bexley", teams_channel=SOUTH)
    jo = app.directory.add("jo", "worker", "north", msteams_id="aad-jo")
    app.directory.add("kim", "worker", "north", msteams_id="aad-kim")  # never opened the app
    assert app.handler.handle(jo, "/referral", "830001 s17", "t").ok
    Conversations(app.casebook.sessions).remember(ConversationRef(
        "a:jo", "personal", "https://svc/", BOT, aad_object_id="aad-jo"))
    return app


def said(app: App, text: str, channel: str, aad: str = "aad-jo",
         activity_id: str = "m1") -> list[tuple[str, str | None]]:
    services = TeamsServices(app.handler, app.directory, Conversations(app.casebook.sessions))
    activity = {"id": activity_id, "type": "message", "text": f"<at>caseclock</at> {text}",
                "from": {"id": "29:x", "aadObjectId": aad},
                "recipient": {"id": BOT},
                "conversation": {"id": f"{channel};messageid=1", "conversationType": "channel"},
                "channelData": {"channel": {"id": channel}},
                "entities": [{"type": "mention", "text": "<at>caseclock</at>",
                              "mentioned": {"id": BOT}}]}
    return [(o.text, o.to.conversation_id if o.to else None)
            for o in answer_message(services, activity)]


def test_a_case_is_shared_in_its_own_teams_channel_and_nowhere_else(app: App) -> None:
    [(view, where)] = said(app, "case 830001 share", NORTH)
    assert where is None and view.startswith("Case 830001: team north")
    [(refusal, where)] = said(app, "case 830001 share", SOUTH)
    assert where == "a:jo"
    assert refusal == "Nothing was posted: a case can only be shared in its team's own channel."


def test_due_and_case_views_asked_in_a_channel_go_to_the_persons_chat(app: App) -> None:
    [(due, where)] = said(app, "due team", NORTH)
    assert where == "a:jo" and due.startswith("Due for your team: ")
    assert "830001 Child visited" in due
    [(view, where)] = said(app, "case 830001", NORTH, activity_id="m2")
    assert where == "a:jo" and view.startswith("Case 830001")


def test_someone_the_bot_cannot_write_to_privately_is_told_how_in_the_thread(app: App
                                                                            ) -> None:
    out = said(app, "seen 830001", NORTH, aad="aad-kim")
    seen = app.casebook.timeline("830001")[-1]
    assert out == [(f"kim logged child seen for 830001 (id {seen.id}).", None),
                   (OPEN_CHAT, None)]
    assert "Child visited" not in " ".join(t for t, _ in out)
