"""What a person has to do, as `/due`, the App Home and their calendar feed all show it: one
reading of the store, so the three never disagree about whose a deadline is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.directory import Actor
from store import repo
from store.models import Case, DeadlineRow


def visible_team_ids(s: Session, actor: Actor) -> list[int] | None:
    """The ids of the teams whose cases `actor` sees; None: every team."""
    names = actor.teams_seen
    if names is None:
        return None
    return [t.id for t in (repo.get_team(s, n) for n in names) if t is not None]


def worker_rows(s: Session, name: str, team_ids: list[int] | None
                ) -> list[tuple[DeadlineRow, Case]]:
    """The worker deadlines of `name`'s cases in the teams `team_ids` (None: every team): a
    worker moved between teams keeps old allocations, which are not theirs to read here."""
    return [(d, c) for d, c in repo.open_deadline_rows(s, worker=name)
            if d.owner == "worker" and (team_ids is None or c.team_id in team_ids)]


def manager_rows(s: Session, actor: Actor) -> list[tuple[DeadlineRow, Case]]:
    """Deadlines a manager owns: their team's manager (and service manager) ones; a service
    manager's own ones in the teams they oversee."""
    if actor.role in ("manager", "admin") and actor.team:
        team = repo.get_team(s, actor.team)
        if team is None:
            return []
        return list(repo.open_deadline_rows(s, team_id=team.id,
                                            owners=("manager", "service_manager")))
    if actor.role == "service_manager":
        return list(repo.open_deadline_rows(s, team_ids=visible_team_ids(s, actor),
                                            owners=("service_manager",)))
    return []


def own_rows(s: Session, actor: Actor) -> list[tuple[DeadlineRow, Case]]:
    """What `/due` shows `actor` as theirs: their cases' worker deadlines in the teams they
    see, and the deadlines they own as a manager."""
    return worker_rows(s, actor.name, visible_team_ids(s, actor)) + manager_rows(s, actor)


def awaiting_cases(s: Session, team_ids: list[int] | None) -> list[tuple[Case, datetime]]:
    """Completed assessments awaiting authorisation in `team_ids` (None: every team), with
    when each was completed, longest waiting first."""
    if team_ids == []:
        return []
    since = repo.awaiting_authorisation(s, team_ids)
    if not since:
        return []
    cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(list(since))))}
    return [(cases[cid], at) for cid, at in sorted(since.items(), key=lambda kv: kv[1])
            if cid in cases]
