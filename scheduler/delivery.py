"""Delivering outbox rows: claim, send, mark; retry with back-off; park and tell the admins.

All state lives in the database (see scheduler/outbox.py for how rows are created):
- a worker claims rows with one UPDATE (FOR UPDATE SKIP LOCKED on PostgreSQL), sends, and
  marks them sent; a claim left by a dead process expires after LEASE and is taken again;
- a failure after which the message may have arrived (a timeout, a crash mid-send) is
  checked with the transport (`already_delivered`) before the row is sent again;
- failures back off exponentially with jitter over more than an hour, honour Retry-After
  (without using up an attempt), and park after MAX_ATTEMPTS or a refusal, telling the admins
  the transport's own error; `retry_parked` queues parked rows again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from store.models import OutboxRow, Staff

log = logging.getLogger("caseclock.outbox")  # ids and counts only, never case content

LEASE = timedelta(minutes=2)
# Back-off: 5 s doubled each attempt up to 20 minutes, +-25% jitter. Twelve attempts span
# 81 minutes (at least 61 with the worst jitter), so a Slack outage of up to an hour is
# ridden out instead of parking every reminder within minutes.
MAX_ATTEMPTS = 12
BASE_BACKOFF = 5.0  # seconds
MAX_BACKOFF = 1200.0
JITTER = 0.25
AMBIGUOUS = "ambiguous"  # a failure after which the message may still have been delivered
CHANNEL_PACE = 1.0  # seconds between two messages to one channel (Slack's guidance)
HOLD_FOR_PACE = 2.0  # seconds a worker waits for a channel's turn before deferring a row


def backoff(attempts: int, base: float = BASE_BACKOFF) -> float:
    """Seconds to wait after the `attempts`-th failure (1-based), with jitter."""
    delay = float(min(MAX_BACKOFF, base * 2 ** (attempts - 1)))
    return delay * random.uniform(1 - JITTER, 1 + JITTER)


class TransportError(Exception):
    """A failed send; `retry_after` (seconds) when the other side said when to come back."""

    def __init__(self, message: str, retry_after: float | None = None,
                 permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Transport(Protocol):
    """Delivers one message to one recipient ("staff:NAME" or "channel:ID")."""

    def send(self, recipient: str, message: dict[str, Any]) -> None: ...


KEY_CHUNK = 2000  # values per IN (...) query: within SQLite's and PostgreSQL's limits


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in slices of `size`."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Delivery:
    """Claims, sends and marks outbox rows (the delivery half of `Outbox`)."""

    def __init__(self, sessions: sessionmaker[Session],
                 transports: dict[str, Transport] | None = None,
                 transport_for: Callable[[str], str] | None = None,
                 worker_id: str | None = None, lease: timedelta = LEASE,
                 pace: float = CHANNEL_PACE, base_backoff: float = BASE_BACKOFF) -> None:
        self.sessions = sessions
        self.transports = transports or {}
        self.transport_for = transport_for or (lambda _recipient: "console")
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.lease, self.pace, self.base_backoff = lease, pace, base_backoff
        self._last_sent: dict[str, float] = {}
        self._pace_lock = threading.Lock()

    def scope(self) -> ColumnElement[bool]:
        """Which rows this deliverer takes: all of them here; the console narrows it to one
        person's, so everyone else's stay queued for them."""
        return true()

    def claim(self, now: datetime, limit: int = 50) -> list[tuple[OutboxRow, datetime | None]]:
        """Atomically take up to `limit` rows ready to send.

        Each comes with the time of an earlier claim that expired (a process died holding
        it), so the sender can check whether that attempt got through before resending.
        """
        ready = and_(OutboxRow.sent_at.is_(None), OutboxRow.withdrawn_at.is_(None),
                     OutboxRow.parked_at.is_(None), OutboxRow.next_attempt_at <= now,
                     self.scope(),
                     or_(OutboxRow.claimed_at.is_(None),
                         OutboxRow.claimed_at < now - self.lease))
        with self.sessions.begin() as s:
            candidates = select(OutboxRow.id, OutboxRow.claimed_at).where(ready).order_by(
                OutboxRow.urgent.desc(), OutboxRow.id).limit(limit)
            if s.get_bind().dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            previous = {row_id: claimed for row_id, claimed in s.execute(candidates).all()}
            if not previous:
                return []
            # `ready` again in the UPDATE: a row another process took meanwhile is skipped.
            claimed = s.scalars(update(OutboxRow).where(OutboxRow.id.in_(list(previous)), ready)
                                .values(claimed_by=self.worker_id, claimed_at=now)
                                .returning(OutboxRow)).all()
            return [(row, previous.get(row.id)) for row in claimed]

    def _pace(self, recipient: str) -> float:
        """Seconds to wait before `recipient` may get another message."""
        with self._pace_lock:
            last = self._last_sent.get(recipient)
            wait = 0.0 if last is None else max(0.0, last + self.pace - time.monotonic())
            if wait == 0.0:
                self._last_sent[recipient] = time.monotonic()
            return wait

    def _mark(self, row_id: int, **values: Any) -> None:
        with self.sessions.begin() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == row_id,
                                              OutboxRow.claimed_by == self.worker_id)
                      .values(**values))

    def deliver_one(self, row: OutboxRow, clock: Callable[[], datetime],
                    recovered_since: datetime | None = None) -> str:
        """Send one claimed row: 'sent', 'deferred', 'retry' or 'parked'."""
        wait = self._pace(row.recipient)
        while 0 < wait <= HOLD_FOR_PACE:
            # Hold the claim and wait for the channel's turn: cheaper than a write to defer
            # it, and the claim's lease is far longer.
            time.sleep(wait)
            wait = self._pace(row.recipient)
        if wait > 0:
            self._mark(row.id, claimed_by=None, claimed_at=None,
                       next_attempt_at=clock() + timedelta(seconds=wait))
            return "deferred"
        transport = self.transports.get(row.transport)
        try:
            if transport is None:
                raise TransportError(f"no transport {row.transport}", permanent=True)
            check = getattr(transport, "already_delivered", None)
            # After a crash mid-send or an ambiguous failure (a timeout: the message may have
            # arrived), ask the other side before sending again.
            since = recovered_since or (row.created_at if (row.last_error or "").startswith(
                AMBIGUOUS) else None)
            if since is not None and check is not None and check(
                    row.recipient, row.key, since - timedelta(seconds=5)):
                self._mark(row.id, sent_at=clock(), claimed_by=None)
                return "sent"
            transport.send(row.recipient, {**row.payload, "key": row.key})
            with self._pace_lock:  # pace from the answer: the other side counts arrivals
                self._last_sent[row.recipient] = time.monotonic()
        except TransportError as err:
            return self._failed(row, err, clock())
        except Exception as err:  # a timeout, a dropped connection: it may have got through
            return self._failed(row, TransportError(f"{AMBIGUOUS}: {type(err).__name__}"),
                                clock())
        self._mark(row.id, sent_at=clock(), claimed_by=None)
        return "sent"

    def _failed(self, row: OutboxRow, err: TransportError, now: datetime) -> str:
        # A 429 is Slack pacing us, not a failure of the message: it is retried when Slack
        # says, without using up an attempt (a busy morning must not park prompts).
        rate_limited = err.retry_after is not None and not err.permanent
        attempts = row.attempts + (0 if rate_limited else 1)
        if err.retry_after is not None:
            with self._pace_lock:
                self._last_sent[row.recipient] = time.monotonic() + err.retry_after
        if attempts >= MAX_ATTEMPTS or err.permanent:
            self._mark(row.id, attempts=attempts, parked_at=now, claimed_by=None,
                       last_error=str(err)[:500])
            if row.rule != "admin_alert":  # an alert that cannot be delivered is not alerted
                self._alert_admins(row, err, attempts, now)
            log.warning("outbox row %d parked after %d attempts", row.id, attempts)
            return "parked"
        delay = err.retry_after if err.retry_after is not None else backoff(
            attempts, self.base_backoff)
        self._mark(row.id, attempts=attempts, claimed_by=None, claimed_at=None,
                   last_error=str(err)[:500], next_attempt_at=now + timedelta(seconds=delay))
        return "retry"

    def _alert_admins(self, row: OutboxRow, err: TransportError, attempts: int,
                      now: datetime) -> None:
        why = (f"{err}" if err.permanent else
               f"{attempts} attempts over the last hour or more failed, the last with: {err}")
        text = (f"caseclock could not deliver notification {row.id} ({row.stage}, "
                f"{row.rule}, to {row.recipient.split(':', 1)[1]}): {why}. It is parked: "
                "once the cause is fixed, `caseclock notify --retry-parked` sends it again.")
        with self.sessions.begin() as s:
            admins = s.scalars(select(Staff.name).where(Staff.role == "admin",
                                                        Staff.active.is_(True))).all()
            for name in admins:
                recipient = f"staff:{name}"
                stmt = (pg_insert if s.get_bind().dialect.name == "postgresql"
                        else sqlite_insert)(OutboxRow).values(
                    # The parking moment is in the key: a row re-queued and parked again is
                    # reported again.
                    key=f"admin_alert:{row.id}:{now.isoformat()}:{recipient}",
                    stage="exception", case_ref="", rule="admin_alert", seq=0,
                    recipient=recipient, team=row.team,
                    transport=self.transport_for(recipient), urgent=False,
                    payload={"text": text}, created_at=now, next_attempt_at=now, attempts=0,
                ).on_conflict_do_nothing(index_elements=["key"])
                s.execute(stmt)

    def retry_parked(self, now: datetime) -> int:
        """Queue every parked row again, with fresh attempts (the admin's path once Slack's
        settings are fixed); returns how many. A row whose last try may have got through
        keeps its error, so it is checked with Slack before it is sent again."""
        with self.sessions.begin() as s:
            ids = list(s.scalars(select(OutboxRow.id).where(
                OutboxRow.parked_at.is_not(None), OutboxRow.sent_at.is_(None),
                OutboxRow.withdrawn_at.is_(None))))
            for part in chunks(ids, KEY_CHUNK):
                s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(part))).values(
                    parked_at=None, attempts=0, next_attempt_at=now, claimed_by=None,
                    claimed_at=None))
        if ids:
            log.info("re-queued %d parked rows", len(ids))
        return len(ids)

    def deliver(self, clock: Callable[[], datetime], limit: int = 50) -> dict[str, int]:
        """Claim and send what is ready now; returns counts by outcome."""
        counts: dict[str, int] = defaultdict(int)
        for row, recovered in self.claim(clock(), limit):
            counts[self.deliver_one(row, clock, recovered)] += 1
        return dict(counts)

    def next_due(self, now: datetime) -> datetime | None:
        """When the next unsent row may be claimed (None: nothing waits), so a delivery loop
        can sleep until then instead of ending its tick with rows a second away."""
        with self.sessions() as s:
            return s.scalar(select(func.min(OutboxRow.next_attempt_at)).where(
                OutboxRow.sent_at.is_(None), OutboxRow.withdrawn_at.is_(None),
                OutboxRow.parked_at.is_(None), self.scope(),
                or_(OutboxRow.claimed_at.is_(None), OutboxRow.claimed_at < now - self.lease)))

    def counts(self) -> dict[str, int]:
        """Rows by state (for checks and the admin's view)."""
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(OutboxRow)) or 0
            sent = s.scalar(select(func.count()).select_from(OutboxRow)
                            .where(OutboxRow.sent_at.is_not(None))) or 0
            parked = s.scalar(select(func.count()).select_from(OutboxRow)
                              .where(OutboxRow.parked_at.is_not(None))) or 0
            withdrawn = s.scalar(select(func.count()).select_from(OutboxRow)
                                 .where(OutboxRow.withdrawn_at.is_not(None))) or 0
        return {"total": total, "sent": sent, "parked": parked, "withdrawn": withdrawn}
