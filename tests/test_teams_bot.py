"""The Teams bot through `caseclock serve` as its own process, as Teams reaches it: activities
posted to /api/messages with a Bot Connector token, the replies reaching a mock Bot Connector
(tests/mock_bot_connector.py) that also publishes the signing keys and the bot's token.

One server and one mock serve the whole module (starting them costs seconds); each test uses
its own case references and activity ids.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_app
from store import repo
from store.models import TeamsConversation
from store.settings import Settings
from tests.mock_bot_connector import MockBotConnector, new_key
from tests.serve_process import serve_process
from tests.test_calendar_serve import free_port

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "tenant-0001"
BOT = f"28:{APP_ID}"
JO = "0b1c2d3e-0000-4000-8000-00000000000a"
SAM = "0b1c2d3e-0000-4000-8000-00000000000b"
NORTH_CHANNEL = "19:north-channel@thread.tacv2"
NORTH_TEAM = "19:north-general@thread.tacv2"
SOUTH_CHANNEL = "19:south-channel@thread.tacv2"


@dataclass
class Served:
    port: int
    mock: MockBotConnector
    database_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def post(self, activity: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
        """POST an activity to /api/messages with `token` (None: a valid one; "": none)."""
        if token is None:
            token = self.mock.mint()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/messages",
                                     data=json.dumps(activity).encode(), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                raw = resp.read()
                return int(resp.status), json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            return err.code, None

    def events(self, case: str) -> int:
        app = build_app(Settings(database_url=self.database_url))
        with app.casebook.sessions() as s:
            row = repo.get_case(s, case)
            return len(repo.case_event_rows(s, row)) if row is not None else 0

    def conversations(self) -> list[TeamsConversation]:
        app = build_app(Settings(database_url=self.database_url))
        with app.casebook.sessions() as s:
            return list(s.scalars(select(TeamsConversation).order_by(TeamsConversation.id)))


def message(served: Served, text: str, activity_id: str, aad: str = JO,
            conversation: str = "a:personal-jo", **extra: Any) -> dict[str, Any]:
    """A message activity in a person's chat with the bot, as Teams posts it."""
    return {
        "type": "message", "id": activity_id, "channelId": "msteams",
        "serviceUrl": served.mock.service_url, "timestamp": "2026-12-01T10:00:00.000Z",
        "from": {"id": f"29:{aad}", "aadObjectId": aad, "name": "Someone"},
        "conversation": {"id": conversation, "conversationType": "personal",
                         "tenantId": TENANT},
        "recipient": {"id": BOT, "name": "caseclock"},
        "channelData": {"tenant": {"id": TENANT}},
        "text": text, **extra}


def channel_message(served: Served, text: str, activity_id: str, channel: str = NORTH_CHANNEL,
                    aad: str = JO) -> dict[str, Any]:
    """`@caseclock text` posted in a team's channel (a new thread, id `activity_id`)."""
    mention = "<at>caseclock</at>"
    return {
        "type": "message", "id": activity_id, "channelId": "msteams",
        "serviceUrl": served.mock.service_url,
        "from": {"id": f"29:{aad}", "aadObjectId": aad, "name": "Someone"},
        "conversation": {"id": f"{channel};messageid={activity_id}",
                         "conversationType": "channel", "isGroup": True, "tenantId": TENANT},
        "recipient": {"id": BOT, "name": "caseclock"},
        "channelData": {"tenant": {"id": TENANT}, "team": {"id": NORTH_TEAM},
                        "channel": {"id": channel}},
        "entities": [{"type": "mention", "text": mention,
                      "mentioned": {"id": BOT, "name": "caseclock"}}],
        "text": f"{mention} {text}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("teams")
    url = f"sqlite:///{tmp / 'caseclock.db'}"
    app = build_app(Settings(database_url=url))
    app.casebook.add_team("north", "bexley", teams_channel=NORTH_CHANNEL)
    app.directory.add("jo", "worker", "north", msteams_id=JO)
    # The south team and sam as an admin sets them up.
    cli_env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    for argv in (["team", "add", "south", "--policy", "bexley", "--teams-channel", SOUTH_CHANNEL],
                 ["staff", "add", "sam", "--team", "south", "--role", "worker",
                  "--teams-id", SAM]):
        subprocess.run([sys.executable, "-m", "bot.cli", *argv], env=cli_env, cwd=tmp,
                       check=True, capture_output=True)
    listed = subprocess.run([sys.executable, "-m", "bot.cli", "team", "list"], env=cli_env,
                            cwd=tmp, check=True, capture_output=True, text=True).stdout
    assert f"south: policy bexley, digest at 08:30, Teams channel {SOUTH_CHANNEL}" in listed
    port = free_port()
    log_path = tmp / "serve.log"
    with MockBotConnector(APP_ID) as mock, log_path.open("w") as log_file:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "TEAMS_", "DANGEROUSLY"))}
        env.update(DATABASE_URL=url, TEAMS_APP_ID=APP_ID, TEAMS_APP_PASSWORD="app-secret",
                   TEAMS_TENANT_ID=TENANT, TEAMS_OPENID_METADATA_URL=mock.metadata_url,
                   TEAMS_LOGIN_URL=mock.url, PYTHONPATH=str(ROOT), HOME=str(tmp))
        with serve_process(port, env, tmp, log_file, log_path):
            yield Served(port, mock, url, log_path)


def test_serve_says_where_teams_is_served(served: Served) -> None:
    assert f"Teams at http://127.0.0.1:{served.port}/api/messages" in served.log()


def event_ids(served: Served, case: str) -> list[str]:
    app = build_app(Settings(database_url=served.database_url))
    with app.casebook.sessions() as s:
        row = repo.get_case(s, case)
        return [e.id for e in repo.case_event_rows(s, row)] if row is not None else []


def posted_since(served: Served, before: int, n: int) -> list[Any]:
    """The `n` activities the connector got after the first `before`; then no more."""
    got = served.mock.wait_for(before + n)[before:]
    time.sleep(0.3)  # anything else the server was going to send has arrived by now
    assert len(served.mock.activities()) == before + n, [p.body for p in got]
    return got


def test_a_signed_message_stores_the_event_once_and_replies_in_the_chat(served: Served
                                                                        ) -> None:
    before = len(served.mock.activities())
    activity = message(served, "referral 700001 s17", "msg-700001")
    assert served.post(activity)[0] == 200
    reply = posted_since(served, before, 1)[0]
    ids = event_ids(served, "700001")
    assert len(ids) == 1
    assert reply.method == "POST"
    assert reply.path == "/teams/v3/conversations/a:personal-jo/activities"
    assert reply.headers["Authorization"].startswith("Bearer ")
    text = reply.body["text"]
    assert text.startswith("Logged referral received (s17) for 700001 at ")
    assert f"(id {ids[0]})" in text and "in team north" in text
    assert reply.body == {
        "type": "message", "text": text, "textFormat": "plain",
        "from": {"id": BOT, "name": "caseclock"},
        "conversation": {"id": "a:personal-jo", "tenantId": TENANT,
                         "conversationType": "personal"}}
    # The bot's token came from the token endpoint, by client credentials for our app.
    assert served.mock.token_requests[-1]["client_id"] == [APP_ID]
    assert served.mock.token_requests[-1]["grant_type"] == ["client_credentials"]
    # Teams retries a message it thinks was missed: the same activity id is stored once.
    assert served.post(activity)[0] == 200
    again = posted_since(served, before + 1, 1)[0]
    assert event_ids(served, "700001") == ids
    assert "(already logged: this was a repeat)" in again.body["text"]


def test_the_slash_is_optional_and_help_lists_the_commands(served: Served) -> None:
    before = len(served.mock.activities())
    assert served.post(message(served, "/referral 700002 s47", "msg-700002"))[0] == 200
    assert served.post(message(served, "help", "msg-help"))[0] == 200
    first, help_ = posted_since(served, before, 2)
    assert first.body["text"].startswith("Logged referral received (s47) for 700002")
    assert served.events("700002") == 1
    assert "/seen" in help_.body["text"] and "/referral" in help_.body["text"]
    assert "/due" in help_.body["text"]


@pytest.mark.parametrize("what", ["unsigned", "forged", "expired", "wrong audience",
                                  "another service url"])
def test_an_activity_without_a_valid_token_gets_401_and_stores_nothing(served: Served,
                                                                       what: str) -> None:
    case = {"unsigned": "710001", "forged": "710002", "expired": "710003",
            "wrong audience": "710004", "another service url": "710005"}[what]
    token = {
        "unsigned": "",
        "forged": served.mock.mint(key=new_key()),  # same key id, another key
        # Past the SDK's five minutes of allowed clock skew.
        "expired": served.mock.mint(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200,
                                    nbf=int(time.time()) - 7200),
        "wrong audience": served.mock.mint(aud="another-bot-app-id"),
        "another service url": served.mock.mint(serviceurl="https://evil.example/"),
    }[what]
    before = len(served.mock.activities())
    conversation = f"a:personal-{case}"
    status, _ = served.post(message(served, f"referral {case} s17", f"msg-{case}",
                                    conversation=conversation), token=token)
    assert status == 401
    time.sleep(0.3)
    assert served.events(case) == 0
    assert len(served.mock.activities()) == before  # no reply either
    assert conversation not in {c.conversation_id for c in served.conversations()}
    # The same activity, signed properly, is taken: the refusal was the token's.
    assert served.post(message(served, f"referral {case} s17", f"msg-{case}",
                               conversation=conversation))[0] == 200
    posted_since(served, before, 1)
    assert served.events(case) == 1


def test_someone_not_in_the_directory_is_refused_politely_and_nothing_is_stored(
        served: Served) -> None:
    before = len(served.mock.activities())
    stranger = "aad-9999-stranger"
    assert served.post(message(served, "referral 720001 s17", "msg-720001", aad=stranger,
                               conversation="a:personal-stranger"))[0] == 200
    reply = posted_since(served, before, 1)[0]
    assert reply.path == "/teams/v3/conversations/a:personal-stranger/activities"
    assert reply.body["text"] == (
        "Sorry, you are not in caseclock's staff directory, so nothing was stored: ask your "
        "team manager to add you (caseclock staff add NAME --team TEAM --role worker "
        f"--teams-id {stranger}).")
    assert served.events("720001") == 0
    # Nothing of theirs is kept either: not even where to write to them.
    kept = [c.conversation_id for c in served.conversations()]
    assert "a:personal-stranger" not in kept


def test_an_activity_from_another_tenant_is_ignored_and_nothing_is_stored(
        served: Served) -> None:
    # Signed by the Bot Framework (any tenant's activity is), but not the council's tenant.
    before = len(served.mock.activities())
    foreign = message(served, "referral 730001 s17", "msg-730001")
    foreign["conversation"] = {**foreign["conversation"], "tenantId": "another-council"}
    foreign["channelData"] = {"tenant": {"id": "another-council"}}
    assert served.post(foreign)[0] == 200
    assert served.events("730001") == 0
    assert len(served.mock.activities()) == before  # no reply either
    # The council's own tenant, the same message: stored.
    assert served.post(message(served, "referral 730001 s17", "msg-730002"))[0] == 200
    assert served.events("730001") == 1


def test_installation_and_adding_the_bot_to_a_team_store_the_references(served: Served
                                                                        ) -> None:
    install = {
        "type": "installationUpdate", "action": "add", "id": "inst-sam",
        "channelId": "msteams", "serviceUrl": served.mock.service_url,
        "from": {"id": "29:sam", "aadObjectId": SAM},
        "conversation": {"id": "a:personal-sam", "conversationType": "personal",
                         "tenantId": TENANT},
        "recipient": {"id": BOT, "name": "caseclock"},
        "channelData": {"tenant": {"id": TENANT}}}
    added = {
        "type": "conversationUpdate", "id": "upd-south", "channelId": "msteams",
        "serviceUrl": served.mock.service_url,
        "from": {"id": "29:admin", "aadObjectId": "aad-admin"},
        "conversation": {"id": SOUTH_CHANNEL, "conversationType": "channel",
                         "tenantId": TENANT},
        "recipient": {"id": BOT, "name": "caseclock"},
        "membersAdded": [{"id": BOT}],
        "channelData": {"eventType": "teamMemberAdded", "tenant": {"id": TENANT},
                        "team": {"id": "19:south-general@thread.tacv2", "name": "South"}}}
    assert served.post(install)[0] == 200
    assert served.post(added)[0] == 200
    rows = {c.conversation_id: c for c in served.conversations()}
    sam = rows["a:personal-sam"]
    assert (sam.kind, sam.service_url, sam.bot_id, sam.tenant_id, sam.aad_object_id,
            sam.active) == ("personal", served.mock.service_url, BOT, TENANT, SAM, True)
    south = rows[SOUTH_CHANNEL]
    assert (south.kind, south.channel_id, south.teams_team_id, south.tenant_id, south.bot_id
            ) == ("channel", SOUTH_CHANNEL, "19:south-general@thread.tacv2", TENANT, BOT)
    assert "care team south" in served.log()  # linked by `team add --teams-channel`
    # Uninstalled: nothing more is sent there until it is installed again.
    assert served.post({**install, "action": "remove", "id": "inst-sam-2"})[0] == 200
    assert {c.conversation_id: c.active for c in served.conversations()}[
        "a:personal-sam"] is False


def test_a_channel_mention_answers_in_the_thread_with_only_the_reference(served: Served
                                                                         ) -> None:
    # jo's chat with the bot is known (from a message), where the details go.
    before = len(served.mock.activities())
    assert served.post(message(served, "referral 730001 s17", "msg-730001"))[0] == 200
    posted_since(served, before, 1)
    before += 1
    assert served.post(channel_message(served, "seen 730001 alone", "1733000000001"))[0] == 200
    thread, personal = posted_since(served, before, 2)
    seen = event_ids(served, "730001")[-1]
    assert thread.path == (f"/teams/v3/conversations/{NORTH_CHANNEL};messageid=1733000000001"
                           "/activities")
    assert thread.body["text"] == f"jo logged child seen for 730001 (id {seen})."
    assert personal.path == "/teams/v3/conversations/a:personal-jo/activities"
    assert personal.body["text"].startswith("Logged child seen (alone) for 730001 at ")
    assert "Child visited" in personal.body["text"]  # the deadlines: the person's only
    assert "Child visited" not in thread.body["text"]
    assert served.events("730001") == 2


def test_a_case_of_another_team_is_not_named_in_that_channel(served: Served) -> None:
    before = len(served.mock.activities())
    assert served.post(message(served, "referral 740001 s17", "msg-740001"))[0] == 200
    posted_since(served, before, 1)
    before += 1
    # jo (north) logs a north case from the south team's channel: the thread hears nothing
    # of it; the reply goes to jo's chat.
    status, _ = served.post(channel_message(served, "seen 740001", "1733000000002",
                                            channel=SOUTH_CHANNEL))
    assert status == 200
    personal = posted_since(served, before, 1)[0]
    assert personal.path == "/teams/v3/conversations/a:personal-jo/activities"
    assert personal.body["text"].startswith("Logged child seen for 740001")
    assert served.events("740001") == 2


def test_a_channel_message_without_the_mention_is_not_a_command(served: Served) -> None:
    before = len(served.mock.activities())
    activity = channel_message(served, "seen 750001", "1733000000003")
    activity["entities"], activity["text"] = [], "seen 750001"
    assert served.post(activity)[0] == 200
    time.sleep(0.3)
    assert len(served.mock.activities()) == before


def test_a_card_button_is_answered_with_the_card_to_show_in_place(served: Served) -> None:
    before = len(served.mock.activities())
    assert served.post(message(served, "referral 760001 s17", "msg-760001"))[0] == 200
    posted_since(served, before, 1)
    invoke = {
        "type": "invoke", "name": "adaptiveCard/action", "id": "inv-760001",
        "channelId": "msteams", "serviceUrl": served.mock.service_url,
        "from": {"id": "29:jo", "aadObjectId": JO},
        "conversation": {"id": "a:personal-jo", "conversationType": "personal",
                         "tenantId": TENANT},
        "recipient": {"id": BOT, "name": "caseclock"},
        "value": {"action": {"type": "Action.Execute", "verb": "quote",
                             "data": {"ref": "760001|child_visited|1|due_today"}}}}
    status, body = served.post(invoke)
    assert status == 200
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    [block] = body["value"]["body"]
    assert block["text"].startswith("From the procedure\n\nChild visited")
    # Someone of another team gets the command's refusal, and learns nothing of the case.
    status, body = served.post({**invoke, "id": "inv-760001-sam",
                                "from": {"id": "29:sam", "aadObjectId": SAM}})
    assert status == 200
    assert body["value"]["body"][0]["text"] == ("there is no case 760001 in your team: log its "
                                                "referral first, /referral 760001 s17.")
    # An invoke is authenticated like any activity.
    assert served.post(invoke, token=served.mock.mint(aud="another-bot-app-id"))[0] == 401


def test_a_body_over_256_kb_or_not_json_is_refused_before_it_is_read(served: Served) -> None:
    url = f"http://127.0.0.1:{served.port}/api/messages"
    for body, status in ((b"{" + b" " * (300 * 1024) + b"}", 413), (b"not json", 400),
                         (b"[1, 2]", 400)):
        req = urllib.request.Request(url, data=body, headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {served.mock.mint()}"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=20)
        assert err.value.code == status
    # Without a token, nothing is read at all: 401 however large or malformed the body.
    for body in (b"{" + b" " * (300 * 1024) + b"}", b"not json"):
        req = urllib.request.Request(url, data=body, headers={
            "Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=20)
        assert err.value.code == 401
