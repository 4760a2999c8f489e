"""Persistence functions over a Session. No business rules: those live in the casebook."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.orm import Session

from store.models import AuditEntry, Case, DeadlineRow, EventRow, Staff, StaffOversight, Team


class StoreError(ValueError):
    """A request the store refuses; the message is one sentence for a person."""


def add_team(session: Session, name: str, policy: str, slack_channel: str | None = None,
             digest_at: str | None = None) -> Team:
    """A new team; a duplicate name is refused."""
    if get_team(session, name) is not None:
        raise StoreError(f"team {name} already exists: choose another name or use it as it is.")
    team = Team(name=name, policy=policy, slack_channel=slack_channel,
                digest_at=digest_at or "08:30")
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, name: str) -> Team | None:
    """The team of that name, if any."""
    return session.scalar(select(Team).where(Team.name == name))


def set_digest_email(session: Session, team: str, address: str | None) -> None:
    """Where the team's digest goes by email (None: nowhere by email)."""
    row = get_team(session, team)
    if row is None:
        raise StoreError(f"there is no team {team}.")
    row.digest_email = address


def list_teams(session: Session) -> Sequence[Team]:
    """Every team by name."""
    return session.scalars(select(Team).order_by(Team.name)).all()


def team_by_id(session: Session, team_id: int) -> Team:
    """The team with this id."""
    team = session.get(Team, team_id)
    assert team is not None
    return team


def get_case(session: Session, reference: str, for_update: bool = False) -> Case | None:
    """The case with this reference; `for_update` locks its row on PostgreSQL."""
    stmt = select(Case).where(Case.reference == reference)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def create_case(session: Session, reference: str, team: Team) -> Case:
    """A new case under the team's policy pack."""
    case = Case(reference=reference, team_id=team.id, policy=team.policy)
    session.add(case)
    session.flush()
    return case


def case_references(session: Session) -> list[str]:
    """Every case reference, sorted."""
    return list(session.scalars(select(Case.reference).order_by(Case.reference)))


def case_event_rows(session: Session, case: Case) -> Sequence[EventRow]:
    """The case's events in recording order."""
    return session.scalars(
        select(EventRow).where(EventRow.case_id == case.id).order_by(EventRow.seq)).all()


def event_by_request(session: Session, request_id: str) -> EventRow | None:
    """The event stored for a chat delivery already seen."""
    return session.scalar(select(EventRow).where(EventRow.request_id == request_id))


def insert_event(session: Session, case: Case, type_: str, at: datetime, fields: dict[str, Any],
                 recorded_by: str, source: str, request_id: str | None = None) -> EventRow:
    """Append one event."""
    row = EventRow(case_id=case.id, type=type_, at=at, fields=fields, recorded_by=recorded_by,
                   source=source, request_id=request_id)
    session.add(row)
    session.flush()
    return row


def replace_deadlines(session: Session, case: Case, rows: Iterable[DeadlineRow]) -> None:
    """Swap the case's derived deadlines for freshly computed ones."""
    session.execute(delete(DeadlineRow).where(DeadlineRow.case_id == case.id))
    for row in rows:
        row.case_id = case.id
        session.add(row)
    session.flush()


def case_deadline_rows(session: Session, case: Case) -> Sequence[DeadlineRow]:
    """The case's stored deadlines by due moment."""
    return session.scalars(select(DeadlineRow).where(DeadlineRow.case_id == case.id)
                           .order_by(DeadlineRow.due, DeadlineRow.rule, DeadlineRow.seq)).all()


def audit(session: Session, actor: str, source: str, action: str, **detail: Any) -> None:
    """Record who did what; `detail` holds references and ids, never case content."""
    session.add(AuditEntry(actor=actor, source=source, action=action, detail=detail))


def count_rows(session: Session) -> dict[str, int]:
    """Row counts of every table (for checks that nothing was written)."""
    out = {}
    for model in (Team, Staff, Case, EventRow, DeadlineRow, AuditEntry):
        out[model.__tablename__] = session.scalar(select(func.count()).select_from(model)) or 0
    return out


ROLES = ("worker", "manager", "service_manager", "admin")


def add_staff(session: Session, name: str, role: str, team: Team | None,
              slack_user_id: str | None = None, msteams_user_id: str | None = None) -> Staff:
    """A new member of staff (or a returning one, reactivated with the new details)."""
    if role not in ROLES:
        raise StoreError(f"'{role}' is not a role: use one of {', '.join(ROLES)}.")
    existing = get_staff(session, name, include_inactive=True)
    if existing is not None and existing.active:
        raise StoreError(f"{name} is already in the directory: remove them first to change "
                         "their details.")
    if slack_user_id:
        clash = get_staff_by_slack(session, slack_user_id)
        if clash is not None and clash.name != name:
            raise StoreError(f"Slack user {slack_user_id} is already {clash.name}.")
    staff = existing or Staff(name=name)
    staff.role, staff.team_id, staff.active = role, team.id if team else None, True
    staff.slack_user_id, staff.msteams_user_id = slack_user_id, msteams_user_id
    session.add(staff)
    session.flush()
    return staff


def get_staff(session: Session, name: str, include_inactive: bool = False) -> Staff | None:
    """A member of staff by name."""
    stmt = select(Staff).where(Staff.name == name)
    if not include_inactive:
        stmt = stmt.where(Staff.active.is_(True))
    return session.scalar(stmt)


def get_staff_by_slack(session: Session, user_id: str) -> Staff | None:
    """The active member of staff with this Slack user id."""
    return session.scalar(select(Staff).where(Staff.slack_user_id == user_id,
                                              Staff.active.is_(True)))


def get_staff_by_msteams(session: Session, object_id: str) -> Staff | None:
    """The active member of staff with this Microsoft Entra object id (Teams' aadObjectId)."""
    return session.scalar(select(Staff).where(Staff.msteams_user_id == object_id,
                                              Staff.active.is_(True)))


def list_staff(session: Session) -> Sequence[Staff]:
    """Active staff by name."""
    return session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.name)).all()


def open_deadline_clause() -> ColumnElement[bool]:
    """The stored deadlines that still ask something of someone: pending or overdue, and
    not stopped (an overdue deadline of a since-closed case is a breach, not a task).

    Every query for "what is open" goes through here, so the notifier, digests and `/due`
    can never disagree about it.
    """
    return and_(DeadlineRow.status.in_(("pending", "overdue")),
                DeadlineRow.stopped_at.is_(None))


AWAITING_TYPES = ("assessment_completed", "assessment_authorised", "case_closed", "event_voided")


def awaiting_authorisation(session: Session,
                           team_ids: Iterable[int] | None = None) -> dict[int, datetime]:
    """Case id -> when its assessment was completed, for every case still awaiting sign-off.

    Voids apply as the engine applies them (a void of a void restores the event); an
    authorisation or a closure ends the wait, and a later completion starts a new one.
    """
    stmt = (select(EventRow.case_id, EventRow.id, EventRow.type, EventRow.at, EventRow.fields,
                   EventRow.seq)
            .where(EventRow.type.in_(AWAITING_TYPES)).order_by(EventRow.seq))
    if team_ids is not None:
        stmt = stmt.join(Case, Case.id == EventRow.case_id).where(
            Case.team_id.in_(list(team_ids)))
    rows = session.execute(stmt).all()
    voided: set[str] = set()
    for r in reversed(rows):
        if r.type == "event_voided" and r.id not in voided:
            voided.add(str(r.fields.get("event_id")))
    since: dict[int, datetime] = {}
    for r in sorted((r for r in rows if r.type != "event_voided" and r.id not in voided),
                    key=lambda r: (r.at, r.seq)):
        if r.type == "assessment_completed":
            since.setdefault(r.case_id, r.at)
        else:
            since.pop(r.case_id, None)
    return since


def open_deadline_rows(session: Session, team_id: int | None = None,
                       worker: str | None = None, team_ids: Collection[int] | None = None,
                       owners: Collection[str] | None = None
                       ) -> Sequence[tuple[DeadlineRow, Case]]:
    """Stored deadlines still open (pending or overdue, not stopped), with their case;
    `team_ids` narrows them to cases of those teams, `owners` to deadlines so owned."""
    stmt = (select(DeadlineRow, Case).join(Case, Case.id == DeadlineRow.case_id)
            .where(open_deadline_clause())
            .order_by(DeadlineRow.due))
    if team_id is not None:
        stmt = stmt.where(Case.team_id == team_id)
    if team_ids is not None:
        stmt = stmt.where(Case.team_id.in_(list(team_ids)))
    if owners is not None:
        stmt = stmt.where(DeadlineRow.owner.in_(list(owners)))
    if worker is not None:
        stmt = stmt.where(Case.allocated_worker == worker)
    return [(d, c) for d, c in session.execute(stmt).all()]


# --- staff oversight (service managers and the teams they oversee) -------------------------

def set_oversight(session: Session, staff: Staff, teams: Iterable[Team]) -> None:
    """Replace the teams a member of staff oversees (none: every team, for a service manager)."""
    session.execute(delete(StaffOversight).where(StaffOversight.staff_id == staff.id))
    for team in teams:
        session.add(StaffOversight(staff_id=staff.id, team_id=team.id))
    session.flush()


def overseen_team_names(session: Session, staff: Staff) -> list[str]:
    """The names of the teams a member of staff oversees, sorted (empty: no list given)."""
    return list(session.scalars(
        select(Team.name).join(StaffOversight, StaffOversight.team_id == Team.id)
        .where(StaffOversight.staff_id == staff.id).order_by(Team.name)))


T = TypeVar("T")


def overseen_teams(own_team: T | None, overseen: Sequence[T]) -> tuple[T, ...] | None:
    """The one rule of oversight: the teams a service manager oversees (and so sees, and is
    told about), own team first; None means every team. `T` is a team's id or its name.

    A service manager oversees the teams of their `--oversees` list plus their own team; one
    with no list oversees every team (as before oversight existed).
    """
    if not overseen:
        return None
    own = (own_team,) if own_team is not None else ()
    return own + tuple(t for t in overseen if t not in own)


def overseers(session: Session, team_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """Team id -> who is told what a service manager is told about it, sorted: the active
    service managers who oversee it (`overseen_teams`), or, when none does, the active admins
    (who see every team), so nothing goes to someone who cannot open the team's cases.

    For `team_ids`, or every team; one query for the people (and one for the teams if not
    given), as the sweep reads this every time it runs."""
    rows = session.execute(
        select(Staff.name, Staff.role, Staff.team_id, StaffOversight.team_id)
        .outerjoin(StaffOversight, StaffOversight.staff_id == Staff.id)
        .where(Staff.active.is_(True), Staff.role.in_(("service_manager", "admin")))).all()
    admins = sorted({name for name, role, _, _ in rows if role == "admin"})
    own: dict[str, int | None] = {}
    listed: dict[str, list[int]] = {}
    for name, role, team_id, overseen in rows:
        if role == "service_manager":
            own[name] = team_id
            listed.setdefault(name, [])
            if overseen is not None:
                listed[name].append(overseen)
    seen = {name: overseen_teams(own[name], sorted(listed[name])) for name in sorted(own)}
    if team_ids is None:
        team_ids = session.scalars(select(Team.id)).all()
    return {team_id: [name for name, teams in seen.items()
                      if teams is None or team_id in teams] or list(admins)
            for team_id in team_ids}
