"""Teams' `<at>` mentions read through the same grammar as Slack's `<@U123>`: the bot's own
mention is taken out, a person's becomes who the staff directory says their object id is."""

from __future__ import annotations

from pathlib import Path

from bot.app import build_app
from bot.transports.teams.conversations import Conversations
from bot.transports.teams.mentions import prepare
from bot.transports.teams.receiving import TeamsServices, answer_message
from store.settings import Settings

BOT = "28:bot-app"


def mention(name: str, id_: str, aad: str | None = None) -> dict:
    who = {"id": id_, "name": name, **({"aadObjectId": aad} if aad else {})}
    return {"type": "mention", "text": f"<at>{name}</at>", "mentioned": who}


def test_the_bots_mention_goes_and_a_persons_becomes_one_token() -> None:
    names = {"aad-jo": "jo"}
    line, reader, mentioned = prepare(
        "<p><at>caseclock</at> case 123456 allocate <at>Jo Smith</at>&nbsp;</p>",
        [mention("caseclock", BOT), mention("Jo Smith", "29:jo", "aad-jo")], BOT, names.get)
    assert (line, mentioned) == ("case 123456 allocate <at1>", True)
    assert reader("<at1>") == ("jo", "aad-jo")
    assert reader("<at2>") is None and reader("@jo") is None
    # Without the bot's mention (a channel message to someone else), it says so.
    assert prepare("hello", [], BOT, names.get)[2] is False


def test_someone_not_in_the_directory_is_named_by_their_first_name() -> None:
    _line, reader, _ = prepare("case 1 allocate <at>Pat Doe</at>",
                               [mention("Pat Doe", "29:pat", "aad-pat")], BOT, lambda _a: None)
    assert reader("<at1>") == ("Pat", "aad-pat")


def test_an_allocation_by_mention_allocates_the_directory_person(tmp_path: Path) -> None:
    app = build_app(Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}"))
    app.casebook.add_team("north", "bexley")
    app.directory.add("ann", "manager", "north", msteams_id="aad-ann")
    app.directory.add("jo.smith", "worker", "north", msteams_id="aad-jo")
    ann = app.directory.by_name("ann")
    assert ann is not None and app.handler.handle(ann, "/referral", "820001 s17", "t").ok
    services = TeamsServices(app.handler, app.directory, Conversations(app.casebook.sessions))
    activity = {"id": "m-820001", "type": "message",
                "from": {"id": "29:ann", "aadObjectId": "aad-ann"},
                "conversation": {"id": "a:ann", "conversationType": "personal"},
                "recipient": {"id": BOT}, "text": "case 820001 allocate <at>Jo Smith</at>",
                "entities": [mention("Jo Smith", "29:jo", "aad-jo")]}
    [out] = answer_message(services, activity)
    assert out.text.startswith("Logged allocated (jo.smith) for 820001")
    assert app.casebook.case_summary("820001").allocated_worker == "jo.smith"
    stranger = {**activity, "id": "m-2", "text": "case 820001 allocate <at>Pat Doe</at>",
                "entities": [mention("Pat Doe", "29:pat", "aad-pat")]}
    [out] = answer_message(services, stranger)
    assert out.text.startswith("Nothing was stored: Pat is not in the staff directory")
