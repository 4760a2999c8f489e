"""The staff directory: who may use caseclock, in which role and team, under which chat ids."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from scheduler.timescales.vocabulary import EventError
from store import repo
from store.models import Staff


@dataclass(frozen=True)
class Actor:
    """A member of staff as the command handler sees them."""

    name: str
    role: str
    team: str | None
    slack_user_id: str | None = None

    @property
    def is_manager(self) -> bool:
        """Managers, service managers and admins may authorise, extend and void any entry."""
        return self.role in ("manager", "service_manager", "admin")

    @property
    def sees_every_team(self) -> bool:
        """Service managers oversee every team here; admins administer them all."""
        return self.role in ("service_manager", "admin")


class Directory:
    """Staff records over the store."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def _actor(self, s: Session, staff: Staff) -> Actor:
        team = repo.team_by_id(s, staff.team_id).name if staff.team_id else None
        return Actor(staff.name, staff.role, team, staff.slack_user_id)

    def add(self, name: str, role: str, team: str | None, slack: str | None = None,
            teams: str | None = None, actor: str = "cli") -> Actor:
        """Add (or bring back) a member of staff."""
        if not name or not name.replace(".", "").replace("-", "").replace("_", "").isalnum():
            raise EventError(f"'{name}' is not a staff name: use one word such as jo or "
                             "jo.smith.")
        with self.sessions.begin() as s:
            team_row = None
            if team is not None:
                team_row = repo.get_team(s, team)
                if team_row is None:
                    raise EventError(f"there is no team {team}: add it first with "
                                     f"`caseclock team add {team} --policy NAME`.")
            elif role in ("worker", "manager"):
                raise EventError(f"a {role} needs a team: add --team TEAM.")
            staff = repo.add_staff(s, name, role, team_row, slack, teams)
            repo.audit(s, actor, "cli", "staff_added", staff=name, role=role, team=team)
            return self._actor(s, staff)

    def remove(self, name: str, actor: str = "cli") -> None:
        """Take a member of staff out of the directory (their entries stay, attributed)."""
        with self.sessions.begin() as s:
            staff = repo.get_staff(s, name)
            if staff is None:
                raise EventError(f"{name} is not in the directory.")
            staff.active = False
            repo.audit(s, actor, "cli", "staff_removed", staff=name)

    def list(self) -> list[Actor]:
        """Everyone active."""
        with self.sessions() as s:
            return [self._actor(s, st) for st in repo.list_staff(s)]

    def by_name(self, name: str) -> Actor | None:
        """An active member of staff by name."""
        with self.sessions() as s:
            staff = repo.get_staff(s, name)
            return self._actor(s, staff) if staff else None

    def by_slack(self, user_id: str) -> Actor | None:
        """An active member of staff by Slack user id."""
        with self.sessions() as s:
            staff = repo.get_staff_by_slack(s, user_id)
            return self._actor(s, staff) if staff else None

    def import_csv(self, path: str | Path, actor: str = "cli") -> int:
        """Add everyone in a CSV with columns name, team, role, slack (optional), teams."""
        p = Path(path)
        if not p.is_file():
            raise EventError(f"{p} does not exist: give a CSV with columns name,team,role,slack.")
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if not rows or not {"name", "role"} <= set(rows[0]):
            raise EventError(f"{p} needs a header row with at least name and role "
                             "(and team, slack, teams).")
        for n, row in enumerate(rows, start=2):
            try:
                self.add(row["name"].strip(), row["role"].strip(),
                         (row.get("team") or "").strip() or None,
                         (row.get("slack") or "").strip() or None,
                         (row.get("teams") or "").strip() or None, actor=actor)
            except (EventError, repo.StoreError) as err:
                raise EventError(f"{p} line {n}: {err} Lines before it were added.") from None
        return len(rows)
