"""Each person's open deadlines as an iCalendar feed at a secret URL.

`caseclock calendar link NAME` issues a token (256 random bits; only its SHA-256 hash is
stored) and `caseclock serve` answers `/calendar/<token>.ics`. The feed holds what `/due`
shows the person: their open deadlines as all-day events on the due day (hour rules as timed
events ending at the due moment), and for a manager the assessments awaiting sign-off, titled
with the case reference and the rule's title, never a name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, Timezone
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.directory import Actor, Directory
from bot.my_deadlines import awaiting_cases, own_rows, visible_team_ids
from scheduler.timescales.calendar import LONDON, local_date
from scheduler.timescales.vocabulary import EventError
from store import repo
from store.calendar_tokens import CalendarToken
from store.models import AuditEntry, Case, DeadlineRow, Staff

TOKEN_BYTES = 32  # 256 random bits: well past the 128 a guess would have to beat
TIMED_EVENT = timedelta(minutes=30)  # an hour rule shows as the half hour before it is due
PRODID = "-//caseclock//deadlines//EN"
_NOT_FOUND = "Not Found"


def token_hash(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def issue_token(sessions: sessionmaker[Session], name: str, actor: str) -> str:
    """A new secret for `name`'s feed; any earlier one stops working (only a hash is kept,
    so an old URL cannot be shown again, only replaced)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with sessions.begin() as s:
        staff = repo.get_staff(s, name)
        if staff is None:
            raise EventError(f"{name} is not in the staff directory: add them with "
                             "`caseclock staff add NAME --team TEAM --role worker`.")
        _revoke(s, staff, datetime.now(UTC))
        s.add(CalendarToken(staff_id=staff.id, token_hash=token_hash(token)))
        repo.audit(s, actor, "cli", "calendar_linked", staff=name)
    return token


def revoke_tokens(sessions: sessionmaker[Session], name: str, actor: str) -> int:
    """End `name`'s feed URL; returns how many live tokens were revoked."""
    with sessions.begin() as s:
        staff = repo.get_staff(s, name, include_inactive=True)
        if staff is None:
            raise EventError(f"{name} is not in the staff directory: check the name with "
                             "`caseclock staff list`.")
        n = _revoke(s, staff, datetime.now(UTC))
        repo.audit(s, actor, "cli", "calendar_revoked", staff=name, tokens=n)
    return n


def _revoke(s: Session, staff: Staff, now: datetime) -> int:
    result = s.execute(update(CalendarToken)
                       .where(CalendarToken.staff_id == staff.id,
                              CalendarToken.revoked_at.is_(None))
                       .values(revoked_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def staff_for_token(s: Session, token: str) -> Staff | None:
    """The member of staff a live token belongs to, or None.

    Constant time in the token: whatever was typed is hashed and looked up by its hash, so
    how long a miss takes says nothing about how close a guess was; the final comparison
    is hmac.compare_digest."""
    wanted = token_hash(token)
    row = s.scalar(select(CalendarToken).where(CalendarToken.token_hash == wanted,
                                               CalendarToken.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    staff = s.get(Staff, row.staff_id)
    if staff is not None and staff.active and _removed_since(s, staff.name, row.created_at):
        # Removed and added back since the link was made: the URL belonged to their earlier
        # time in the directory (perhaps another person's of the same name), so it stays dead.
        return None
    return staff


def _removed_since(s: Session, name: str, since: datetime) -> bool:
    """True if `name` was taken out of the directory after `since` (the audit trail says)."""
    details = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "staff_removed",
                                                         AuditEntry.at > since))
    return any(d.get("staff") == name for d in details)


def _awaiting(s: Session, actor: Actor) -> list[tuple[Case, datetime, date]]:
    """A manager's assessments awaiting sign-off: (case, completed at, day to show it on:
    the due day of the case's open 45-day deadline, else the day it was completed)."""
    if not actor.is_manager:
        return []
    waiting = awaiting_cases(s, visible_team_ids(s, actor))
    if not waiting:
        return []
    due = {d.case_id: d.due for d in s.scalars(
        select(DeadlineRow).where(DeadlineRow.case_id.in_([c.id for c, _ in waiting]),
                                  DeadlineRow.rule == "assessment_45",
                                  repo.open_deadline_clause()))}
    return [(c, at, local_date(due[c.id]) if c.id in due else local_date(at))
            for c, at in waiting]


def feed_ics(sessions: sessionmaker[Session], staff_name: str | None, now: datetime) -> bytes:
    """The iCalendar text of a person's feed (empty for someone no longer in the directory)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "caseclock deadlines")
    # Outlook and Google poll a subscription at their own pace; this asks for hourly.
    cal.add("refresh-interval;value=duration", "PT1H")
    cal.add("x-published-ttl", "PT1H")
    cal.add("x-wr-timezone", "Europe/London")
    # The zone of the timed events; it also keeps an empty feed valid (RFC 5545 asks for at
    # least one component), as a removed member of staff's feed is.
    cal.add_component(Timezone.from_tzid("Europe/London", first_date=date(now.year - 1, 1, 1),
                                         last_date=date(now.year + 3, 1, 1)))
    actor = Directory(sessions).by_name(staff_name) if staff_name else None
    if actor is None:
        return bytes(cal.to_ical())
    stamp = now.astimezone(UTC)
    with sessions() as s:
        for d, c in sorted(own_rows(s, actor), key=lambda dc: dc[0].due):
            ev = Event()
            ev.add("uid", f"{c.reference}-{d.rule}-{d.seq}@caseclock")
            ev.add("dtstamp", stamp)
            ev.add("summary", f"{c.reference} {d.title}")
            if d.hourly:
                ev.add("dtstart", (d.due - TIMED_EVENT).astimezone(LONDON))
                ev.add("dtend", d.due.astimezone(LONDON))
            else:
                day = local_date(d.due)
                ev.add("dtstart", day)
                ev.add("dtend", day + timedelta(days=1))
            ev.add("transp", "TRANSPARENT")  # a deadline does not make the person busy
            ev.add("status", "CONFIRMED")
            cal.add_component(ev)
        for case, completed, day in _awaiting(s, actor):
            ev = Event()
            ev.add("uid", f"{case.reference}-authorise-{completed:%Y%m%dT%H%M%S}@caseclock")
            ev.add("dtstamp", stamp)
            ev.add("summary", f"{case.reference} Authorise the assessment "
                              f"(completed {local_date(completed):%d/%m})")
            ev.add("dtstart", day)
            ev.add("dtend", day + timedelta(days=1))
            ev.add("transp", "TRANSPARENT")
            cal.add_component(ev)
    return bytes(cal.to_ical())


def calendar_route(sessions: sessionmaker[Session],
                   clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Route:
    """`GET /calendar/<token>.ics`: the feed, or a 404 for any token not live."""

    def endpoint(request: Request) -> Response:
        # A sync endpoint: Starlette runs it in its thread pool, so the store's blocking
        # reads never hold up the event loop serving Slack.
        token = str(request.path_params["token"])
        with sessions() as s:
            staff = staff_for_token(s, token)
            name = staff.name if staff is not None and staff.active else None
            found = staff is not None
        if not found:
            return PlainTextResponse(_NOT_FOUND, status_code=404)
        return Response(feed_ics(sessions, name, clock()),
                        media_type="text/calendar; charset=utf-8",
                        headers={"Cache-Control": "private, max-age=300",
                                 "Content-Disposition": 'inline; filename="caseclock.ics"'})

    return Route("/calendar/{token}.ics", endpoint, methods=["GET", "HEAD"])
