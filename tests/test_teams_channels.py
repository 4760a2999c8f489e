"""Linking the Teams channels the bot was added to with care teams, as an admin types it:
`caseclock teams channels` lists what the bot recorded, `caseclock teams link TEAM ID` makes
one a team's channel, also for a team that already exists (moving from Slack to Teams)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.transports.teams.conversations import ConversationRef, Conversations
from store.db import open_database
from tests.test_email_cli import run

CHANNEL = "19:east-general@thread.tacv2"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "HOME": str(tmp_path)}


def test_a_recorded_channel_is_listed_then_linked_to_an_existing_team(
        env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, tmp_path, "team", "add", "east", "--policy", "bexley",
               "--slack-channel", "CEAST")[0] == 0
    assert run(env, tmp_path, "teams", "channels") == (0, (
        "The bot has not been added to any team's channel yet: add the caseclock app to the "
        "team in Teams, then run this again."))
    # The bot is added to the council's "East" team in Teams: it records the channel.
    engine, sessions = open_database(env["DATABASE_URL"])
    Conversations(sessions).remember(ConversationRef(
        CHANNEL, "channel", "https://smba.example/uk/", "28:bot", "tenant",
        teams_team_id="19:east-team@thread.tacv2", channel_id=CHANNEL))
    engine.dispose()
    assert run(env, tmp_path, "teams", "channels") == (0, (
        f"{CHANNEL} (Teams team 19:east-team@thread.tacv2): not linked: caseclock teams link "
        f"TEAM {CHANNEL}"))
    assert run(env, tmp_path, "teams", "link", "east", CHANNEL) == (
        0, f"Team east's Teams channel is {CHANNEL}.")
    assert run(env, tmp_path, "teams", "channels") == (0, (
        f"{CHANNEL} (Teams team 19:east-team@thread.tacv2): care team east"))
    assert run(env, tmp_path, "team", "list")[1] == (
        f"east: policy bexley, digest at 08:30, Slack channel CEAST, Teams channel {CHANNEL}")


def test_a_wrong_team_or_a_taken_channel_is_one_sentence_and_nothing_changes(
        env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, tmp_path, "team", "add", "east", "--policy", "bexley", "--teams-channel",
               CHANNEL)[0] == 0
    assert run(env, tmp_path, "team", "add", "west", "--policy", "bexley")[0] == 0
    assert run(env, tmp_path, "teams", "link", "north", CHANNEL) == (2, (
        "caseclock: there is no team north (teams: east, west): add it with `caseclock team "
        f"add north --policy NAME --teams-channel {CHANNEL}`."))
    assert run(env, tmp_path, "teams", "link", "west", CHANNEL) == (
        2, "caseclock: that channel is already team east's: a channel serves one care team.")
    assert run(env, tmp_path, "team", "list")[1].splitlines() == [
        f"east: policy bexley, digest at 08:30, Teams channel {CHANNEL}",
        "west: policy bexley, digest at 08:30"]


def test_a_new_team_cannot_take_another_teams_channel(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    assert run(env, tmp_path, "team", "add", "east", "--policy", "bexley", "--teams-channel",
               CHANNEL)[0] == 0
    assert run(env, tmp_path, "team", "add", "west", "--policy", "bexley", "--teams-channel",
               CHANNEL) == (2, "caseclock: that Teams channel is already team east's: a "
                               "channel serves one care team; give this team its own.")
    assert run(env, tmp_path, "team", "list")[1].splitlines() == [
        f"east: policy bexley, digest at 08:30, Teams channel {CHANNEL}"]


def test_a_teams_id_or_channel_that_is_none_is_one_sentence_and_nothing_is_stored(
        env: dict[str, str], tmp_path: Path) -> None:
    assert run(env, tmp_path, "team", "add", "east", "--policy", "bexley")[0] == 0
    assert run(env, tmp_path, "staff", "add", "jo", "--team", "east", "--role", "worker",
               "--teams-id", "jo@council.gov.uk") == (2, (
        "caseclock: 'jo@council.gov.uk' is not a Microsoft Entra object id: give --teams-id "
        "the person's object id, such as 2f1c4b8e-5d3a-4e6f-9a7b-0c1d2e3f4a5b (Entra admin "
        "centre, Users, the person, Object ID)."))
    refused = ("caseclock: 'General' is not a Teams channel id: give one such as "
               "19:abc123@thread.tacv2 (`caseclock teams channels` lists those the bot was "
               "added to).")
    assert run(env, tmp_path, "team", "add", "west", "--policy", "bexley",
               "--teams-channel", "General") == (2, refused)
    assert run(env, tmp_path, "teams", "link", "east", "General") == (2, refused)
    assert run(env, tmp_path, "staff", "list")[1] == (
        "Nobody yet: `caseclock staff add NAME --team TEAM --role worker`.")
    assert run(env, tmp_path, "team", "list")[1] == "east: policy bexley, digest at 08:30"
    # The real shapes are taken.
    assert run(env, tmp_path, "staff", "add", "jo", "--team", "east", "--role", "worker",
               "--teams-id", "2F1C4B8E-5D3A-4E6F-9A7B-0C1D2E3F4A5B")[0] == 0
    assert run(env, tmp_path, "teams", "link", "east", CHANNEL)[0] == 0
