"""Tables: teams, staff, cases, events (append-only), deadlines (derived), audit."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed on phones


def new_event_id() -> str:
    """A short id a worker can type to void an event (8 characters, ~40 bits)."""
    # One draw for the whole id, then its base-31 digits: as uniform as eight draws, and
    # several times faster when an import makes hundreds of thousands.
    n = secrets.randbelow(len(_ID_ALPHABET) ** 8)
    out = []
    for _ in range(8):
        n, digit = divmod(n, len(_ID_ALPHABET))
        out.append(_ID_ALPHABET[digit])
    return "".join(out)


def utcnow() -> datetime:
    """Now, aware, UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns aware UTC datetimes, on SQLite too (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    policy: Mapped[str] = mapped_column(String(64))
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    # The team's channel in Microsoft Teams ("team" means a care team: the platform is
    # msteams), captured when the app is added to the team or set with --teams-channel.
    msteams_channel: Mapped[str | None] = mapped_column(String(256))
    ooh_channel: Mapped[str | None] = mapped_column(String(64))
    digest_at: Mapped[str] = mapped_column(String(5), default="08:30")
    # Where the team's digest goes by email (a team mailbox or list), if anywhere.
    digest_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    slack_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    msteams_user_id: Mapped[str | None] = mapped_column(String(256), unique=True)
    # The transport this person is told through (a registry kind); None: the default,
    # Slack when they have a Slack id, else the console.
    prefers: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))  # for prompts and summaries by email
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffOversight(Base):
    """A team a service manager oversees. A service manager with no rows oversees every team
    (as before oversight existed), so a directory without them keeps working unchanged."""

    __tablename__ = "staff_oversight"
    __table_args__ = (UniqueConstraint("staff_id", "team_id", name="uq_oversight"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    policy: Mapped[str] = mapped_column(String(64))
    allocated_worker: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set for a case brought in by `caseclock import`: deadlines already missed then are
    # summarised once to the team's manager rather than prompted one by one.
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventRow(Base):
    """One logged event. Never updated or deleted (guarded here and by a trigger)."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(16), unique=True, default=new_event_id)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(128))
    request_id: Mapped[str | None] = mapped_column(String(128), unique=True)


class DeadlineRow(Base):
    """A deadline as last computed: derived from events, replaced on every recompute."""

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("case_id", "rule", "seq", name="uq_deadline"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    due: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    met_by_event: Mapped[str | None] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(32))
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime())
    hourly: Mapped[bool] = mapped_column(Boolean, default=False)
    delay_reason: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(16), default="working_days")
    # Set when a closure (or another cancelling event) came after the due moment: the row
    # stays overdue, a breach on the record, but is no longer open (see repo.open_deadline_clause).
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_by_event: Mapped[str | None] = mapped_column(String(16))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    """Who did what, when, from where; details carry references, never case content."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AppendOnlyError(RuntimeError):
    """An attempt to change or remove a logged event."""


@event.listens_for(Session, "before_flush")
def _events_are_append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, EventRow) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("events are append-only: log an event_voided instead")


class OutboxRow(Base):
    """One notification: created once (unique key), claimed, sent, marked; never sent twice."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    stage: Mapped[str] = mapped_column(String(16))
    case_ref: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(128))
    team: Mapped[str] = mapped_column(String(64))
    transport: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Snooze(Base):
    """A prompt put off to the next working morning."""

    __tablename__ = "snoozes"
    __table_args__ = (UniqueConstraint("case_ref", "rule", "seq", "stage", name="uq_snooze"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16))
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(64))


class ChecklistTick(Base):
    """A ticked item of a deadline's checklist."""

    __tablename__ = "checklist_ticks"
    __table_args__ = (UniqueConstraint("case_ref", "rule", "seq", "item", name="uq_tick"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    item: Mapped[int] = mapped_column(Integer)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TeamsConversation(Base):
    """Where the Teams bot can write without being spoken to first (a proactive message
    needs a conversation reference): a person's chat with the bot, or a team's channel.
    Stored on installation, when the bot is added to a team, and on every message."""

    __tablename__ = "teams_conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "personal", "channel" or "groupChat"
    service_url: Mapped[str] = mapped_column(String(512))
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    bot_id: Mapped[str] = mapped_column(String(256))
    # A person's chat: their Entra object id (the staff directory's msteams_user_id).
    aad_object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # A team's channel: the Teams team id and the channel id (a care team's msteams_channel).
    teams_team_id: Mapped[str | None] = mapped_column(String(256))
    channel_id: Mapped[str | None] = mapped_column(String(256), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: app uninstalled
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
