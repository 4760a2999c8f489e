"""The staff directory: who may use caseclock, in which role and team, under which chat ids."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from scheduler.timescales.vocabulary import EventError
from store import repo
from store.models import Staff, Team

# Deliberately loose (a local part, an @, a domain with a dot, no spaces): it catches the
# typing mistakes (a missing @, a name instead of an address); the mail server decides the rest.
EMAIL = re.compile(r"[^@\s\"<>,;()]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def check_email(address: str, option: str = "--email") -> str:
    """The address, trimmed, or one sentence saying it is not one."""
    address = address.strip()
    if len(address) > 254 or not EMAIL.fullmatch(address):
        raise EventError(f"'{address}' is not an email address: give {option} an address "
                         "such as jo.smith@council.gov.uk.")
    return address


GUID = re.compile(r"[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")
TEAMS_CHANNEL = re.compile(r"19:[^\s@]+@thread\.(?:tacv2|skype)")


def check_teams_id(object_id: str) -> str:
    """A person's Entra object id (a GUID), trimmed, or one sentence saying what to type."""
    object_id = object_id.strip()
    if not GUID.fullmatch(object_id):
        raise EventError(f"'{object_id}' is not a Microsoft Entra object id: give --teams-id "
                         "the person's object id, such as 2f1c4b8e-5d3a-4e6f-9a7b-0c1d2e3f4a5b "
                         "(Entra admin centre, Users, the person, Object ID).")
    return object_id


def check_teams_channel(channel: str) -> str:
    """A Teams channel id (19:...@thread.tacv2), trimmed, or one sentence."""
    channel = channel.strip()
    if not TEAMS_CHANNEL.fullmatch(channel):
        raise EventError(f"'{channel}' is not a Teams channel id: give one such as "
                         "19:abc123@thread.tacv2 (`caseclock teams channels` lists those the "
                         "bot was added to).")
    return channel


@dataclass(frozen=True)
class Actor:
    """A member of staff as the command handler sees them."""

    name: str
    role: str
    team: str | None
    slack_user_id: str | None = None
    oversees: tuple[str, ...] = ()  # a service manager's teams; empty: every team
    prefers: str | None = None  # a transport kind; None: Slack if they have an id, else console
    email: str | None = None  # their address, for prompts and summaries by email
    msteams_user_id: str | None = None  # their Entra object id, as Teams names them

    @property
    def is_manager(self) -> bool:
        """Managers, service managers and admins may authorise, extend and void any entry."""
        return self.role in ("manager", "service_manager", "admin")

    def can_see(self, team: str | None) -> bool:
        """True if this person may see and log the cases of `team`."""
        seen = self.teams_seen
        return seen is None or (team is not None and team in seen)

    @property
    def teams_seen(self) -> tuple[str, ...] | None:
        """The teams whose cases this person sees, own team first; None means every team.

        Admins see every team; a service manager the teams they oversee, by the store's one
        rule (`repo.overseen_teams`), which also decides who is told about a team."""
        if self.role == "admin":
            return None
        if self.role == "service_manager":
            return repo.overseen_teams(self.team, self.oversees)
        return (self.team,) if self.team else ()


@dataclass(frozen=True)
class TeamChannels:
    """A care team's channels, one per chat platform (None: it has none there)."""

    name: str
    slack_channel: str | None = None
    slack_ooh_channel: str | None = None
    msteams_channel: str | None = None

    @classmethod
    def of(cls, team: Team) -> TeamChannels:
        return cls(team.name, team.slack_channel, team.ooh_channel, team.msteams_channel)


class Directory:
    """Staff records over the store."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def _actor(self, s: Session, staff: Staff) -> Actor:
        team = repo.team_by_id(s, staff.team_id).name if staff.team_id else None
        return Actor(staff.name, staff.role, team, staff.slack_user_id,
                     tuple(repo.overseen_team_names(s, staff)), staff.prefers, staff.email,
                     staff.msteams_user_id)

    def add(self, name: str, role: str, team: str | None, slack: str | None = None,
            msteams_id: str | None = None, actor: str = "cli",
            oversees: str | None = None, prefers: str | None = None,
            email: str | None = None) -> Actor:
        """Add (or bring back) a member of staff; `oversees` is a service manager's teams,
        comma-separated (none: every team); `prefers` the transport they are told through
        (none: Slack if they have a Slack id, else the console); `email` their address."""
        if not name or not name.replace(".", "").replace("-", "").replace("_", "").isalnum():
            raise EventError(f"'{name}' is not a staff name: use one word such as jo or "
                             "jo.smith.")
        email = check_email(email) if email else None
        if prefers == "email" and not email:
            raise EventError(f"{name} prefers email but has no address: add --email ADDRESS.")
        overseen = [t for t in re.split(r"[,;\s]+", oversees or "") if t]
        if overseen and role != "service_manager":
            raise EventError(f"only a service manager oversees teams, not a "
                             f"{role.replace('_', ' ')}: drop --oversees or use "
                             "--role service_manager.")
        with self.sessions.begin() as s:
            team_row = None
            if team is not None:
                team_row = repo.get_team(s, team)
                if team_row is None:
                    raise EventError(f"there is no team {team}: add it first with "
                                     f"`caseclock team add {team} --policy NAME`.")
            elif role in ("worker", "manager"):
                raise EventError(f"a {role} needs a team: add --team TEAM.")
            overseen_rows = []
            for t in overseen:
                row = repo.get_team(s, t)
                if row is None:
                    known = ", ".join(x.name for x in repo.list_teams(s)) or "none yet"
                    raise EventError(f"there is no team {t} to oversee: type --oversees with "
                                     f"teams that exist ({known}).")
                overseen_rows.append(row)
            staff = repo.add_staff(s, name, role, team_row, slack, msteams_id)
            staff.prefers, staff.email = prefers, email
            # Replaced every time, so a returning service manager does not keep an old list.
            repo.set_oversight(s, staff, overseen_rows)
            repo.audit(s, actor, "cli", "staff_added", staff=name, role=role, team=team,
                       oversees=overseen)
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

    def team_channels(self, name: str) -> TeamChannels | None:
        """A care team's channels by its name (transports resolve "team:NAME" with it)."""
        with self.sessions() as s:
            team = repo.get_team(s, name)
            return TeamChannels.of(team) if team else None

    def by_slack(self, user_id: str) -> Actor | None:
        """An active member of staff by Slack user id."""
        with self.sessions() as s:
            staff = repo.get_staff_by_slack(s, user_id)
            return self._actor(s, staff) if staff else None

    def by_msteams(self, object_id: str) -> Actor | None:
        """An active member of staff by Microsoft Entra object id (Teams' aadObjectId)."""
        with self.sessions() as s:
            staff = repo.get_staff_by_msteams(s, object_id)
            return self._actor(s, staff) if staff else None

    def msteams_id_of(self, name: str) -> str | None:
        """The Entra object id of an active member of staff, if they have one."""
        with self.sessions() as s:
            staff = repo.get_staff(s, name)
            return staff.msteams_user_id if staff else None

    def team_digest_email(self, team: str) -> str | None:
        """Where a team's digest goes by email, if anywhere."""
        with self.sessions() as s:
            row = repo.get_team(s, team)
            return row.digest_email if row else None

    def import_csv(self, path: str | Path, actor: str = "cli") -> int:
        """Add everyone in a CSV with columns name, team, role, and optionally slack, teams,
        email and oversees (a service manager's teams: "north,south" quoted, or
        "north;south")."""
        p = Path(path)
        if not p.is_file():
            raise EventError(f"{p} does not exist: give a CSV with columns name,team,role,slack.")
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if not rows or not {"name", "role"} <= set(rows[0]):
            raise EventError(f"{p} needs a header row with at least name and role "
                             "(and team, slack, teams, email, oversees).")
        for n, row in enumerate(rows, start=2):
            try:
                self.add(row["name"].strip(), row["role"].strip(),
                         (row.get("team") or "").strip() or None,
                         (row.get("slack") or "").strip() or None,
                         (row.get("teams") or "").strip() or None, actor=actor,
                         oversees=(row.get("oversees") or "").strip() or None,
                         email=check_email(row["email"], "the email column")
                         if (row.get("email") or "").strip() else None)
            except (EventError, repo.StoreError) as err:
                raise EventError(f"{p} line {n}: {err} Lines before it were added.") from None
        return len(rows)
