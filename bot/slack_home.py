"""The Slack App Home tab: my deadlines; for managers, what awaits their authorisation and what
is overdue in their team(s).

Built from the same handler and store queries as `/due`, so the tab and the command agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.commands.handler import CommandHandler
from bot.directory import Actor
from bot.render import day_text, moment_text
from scheduler.timescales.calendar import local_date
from store import repo
from store.models import Case, DeadlineRow

NOT_IN_DIRECTORY = "You are not in caseclock's staff directory yet: ask your team manager."
SECTION_LIMIT = 2900  # Slack refuses a section's text over 3,000 characters


def _fit(lines: list[str], empty: str) -> str:
    """The lines as one section's text, cut (saying how many were left out) to fit Slack."""
    if not lines:
        return empty
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        more = f"\n...and {len(lines) - i} more: type /due team."
        if used + len(line) + 1 + len(more) > SECTION_LIMIT:
            out.append(more.strip())
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def _team_ids(handler: CommandHandler, actor: Actor) -> list[int] | None:
    """The teams a manager oversees (None: every team, for service managers and admins)."""
    if actor.sees_every_team:
        return None
    with handler.casebook.sessions() as s:
        team = repo.get_team(s, actor.team) if actor.team else None
        return [team.id] if team is not None else []


def awaiting_lines(handler: CommandHandler, team_ids: list[int] | None) -> list[str]:
    """'123456 completed Mon 23 Nov 14:00, awaiting authorisation', oldest first."""
    if team_ids == []:
        return []
    with handler.casebook.sessions() as s:
        since = repo.awaiting_authorisation(s, team_ids)
        refs = dict(s.execute(select(Case.id, Case.reference)
                              .where(Case.id.in_(list(since)))).tuples().all())
    return [f"{refs[case_id]} assessment completed {moment_text(at)}, not yet authorised"
            for case_id, at in sorted(since.items(), key=lambda kv: kv[1])
            if case_id in refs]


def overdue_lines(handler: CommandHandler, team_ids: list[int] | None,
                  now: datetime) -> list[str]:
    """Every open deadline of the team(s) already past its due moment, most overdue first."""
    if team_ids == []:
        return []
    with handler.casebook.sessions() as s:
        if team_ids is None:
            rows: list[tuple[DeadlineRow, Case]] = list(repo.open_deadline_rows(s))
        else:
            rows = [r for t in team_ids for r in repo.open_deadline_rows(s, team_id=t)]
    lines = []
    for d, c in sorted(rows, key=lambda dc: dc[0].due):
        if d.due >= now:
            continue  # the home tab's team section is what has already slipped
        when = moment_text(d.due) if d.hourly else day_text(local_date(d.due))
        who = f", {c.allocated_worker}" if c.allocated_worker else ", not allocated"
        lines.append(f"{c.reference} {d.title}: was due {when}{who}")
    return lines


def _section(title: str, text: str) -> list[dict[str, Any]]:
    return [{"type": "header", "text": {"type": "plain_text", "text": title}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def home_view(handler: CommandHandler, actor: Actor | None, user_id: str) -> dict[str, Any]:
    """The App Home view for one person (a polite note for someone not in the directory)."""
    if actor is None:
        return {"type": "home", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": NOT_IN_DIRECTORY}}]}
    mine = handler.handle(actor, "/due", "", source=f"slack:{user_id}").text
    blocks = _section("My deadlines", _fit(mine.splitlines(), mine))
    if actor.is_manager:
        teams = _team_ids(handler, actor)
        now = handler.clock()
        blocks += _section("Awaiting my authorisation", _fit(
            awaiting_lines(handler, teams), "Nothing is waiting for your authorisation."))
        where = "every team" if teams is None else "your team"
        blocks += _section("Overdue in my team", _fit(
            overdue_lines(handler, teams, now), f"Nothing is overdue in {where}."))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        "Updated " + moment_text(handler.clock()) + ". Type /due or /due team for more.")}]})
    return {"type": "home", "blocks": blocks}
