"""`caseclock teams channels` and `caseclock teams link`: which Teams channels the bot was
added to, and which care team each one is. The bot records a channel when it is added to a
team (bot/transports/teams/conversations.py); an admin says which care team it belongs to,
also for a team that already exists (moving from Slack to Teams)."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from bot.directory import check_teams_channel
from scheduler.timescales.vocabulary import EventError
from store import repo
from store.models import Team, TeamsConversation


def cmd_channels(args: argparse.Namespace) -> int:
    """List the channels the bot can write to, each with its care team or how to link it."""
    from bot.store_commands import _app

    app = _app()
    with app.casebook.sessions() as s:
        rows = s.execute(select(TeamsConversation.channel_id, TeamsConversation.teams_team_id)
                         .where(TeamsConversation.kind == "channel",
                                TeamsConversation.active.is_(True))
                         .order_by(TeamsConversation.updated_at)).all()
        linked = dict(s.execute(select(Team.msteams_channel, Team.name)
                                .where(Team.msteams_channel.is_not(None))).all())
    if not rows:
        print("The bot has not been added to any team's channel yet: add the caseclock app "
              "to the team in Teams, then run this again.")
        return 0
    for channel, teams_team in rows:
        where = f" (Teams team {teams_team})" if teams_team and teams_team != channel else ""
        care = linked.get(channel)
        print(f"{channel}{where}: " + (f"care team {care}" if care else
              f"not linked: caseclock teams link TEAM {channel}"))
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    """Make CHANNEL the care team's Teams channel (its duty prompts and digest go there)."""
    from bot.store_commands import _app

    app = _app()
    channel = check_teams_channel(args.channel)
    with app.casebook.sessions.begin() as s:
        team = repo.get_team(s, args.team)
        if team is None:
            known = ", ".join(t.name for t in repo.list_teams(s)) or "none yet"
            raise EventError(f"there is no team {args.team} (teams: {known}): add it with "
                             f"`caseclock team add {args.team} --policy NAME --teams-channel "
                             f"{channel}`.")
        other = s.scalar(select(Team.name).where(Team.msteams_channel == channel,
                                                 Team.id != team.id))
        if other is not None:
            raise EventError(f"that channel is already team {other}'s: a channel serves one "
                             "care team.")
        seen = s.scalar(select(TeamsConversation.id).where(
            TeamsConversation.channel_id == channel, TeamsConversation.active.is_(True)))
        team.msteams_channel = channel
        repo.audit(s, "cli", "cli", "teams_channel_linked", team=team.name, channel=channel)
    print(f"Team {args.team}'s Teams channel is {channel}." + (
        "" if seen else " The bot has not been added there yet: add the caseclock app to "
        "that team in Teams, or its prompts wait."))
    return 0
