"""Delivering outbox rows: claim, send, mark; retry with back-off; park and tell the admins.

All state lives in the database (see scheduler/reminders/sweep.py for how rows are created):
- a worker claims rows with one UPDATE (FOR UPDATE SKIP LOCKED on PostgreSQL), sends, and
  marks them sent; a claim left by a dead process expires after LEASE and is taken again;
- each claim carries a token of its own (one per batch, so two threads of one process are
  told apart as well as two processes). Just before each send the worker renews the row's
  claim with one conditional UPDATE and skips the row if the claim is no longer its own or
  has expired; as the lease is longer than the slowest transport call, nobody can take a
  row over while its send is under way. A batch stops, releasing the rows it has not
  reached, before its lease would run out;
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
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from scheduler.reminders.address import Address
from scheduler.reminders.content import Alert, ContentError, from_json, to_json
from scheduler.reminders.transport import (
    AMBIGUOUS,
    DeliveryUnknown,
    Transport,
    TransportError,
    max_call_seconds,
)
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
CHANNEL_PACE = 1.0  # seconds between two messages to one channel, if a transport does not say
# Seconds kept between the end of the slowest send and the end of its claim: the UPDATE that
# renews a claim, the write that marks the row sent, and clocks a little apart.
CLAIM_MARGIN = 1.0
# A claim takes about what it can send in this long: with a slow Slack (8 s a call) a
# thread holds 3 rows, not 20 for nearly its whole lease while the other process's threads
# have nothing to do.
BATCH_SECONDS = 30.0
HOLD_FOR_PACE = 2.0  # seconds a worker waits for a channel's turn before deferring a row


def backoff(attempts: int, base: float = BASE_BACKOFF) -> float:
    """Seconds to wait after the `attempts`-th failure (1-based), with jitter."""
    delay = float(min(MAX_BACKOFF, base * 2 ** (attempts - 1)))
    return delay * random.uniform(1 - JITTER, 1 + JITTER)


KEY_CHUNK = 2000  # values per IN (...) query: within SQLite's and PostgreSQL's limits


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in slices of `size`."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def address_of(recipient: str) -> Address:
    """The Address an outbox row's `recipient` holds; a row that holds none (written before
    addresses and never upgraded) cannot be delivered: one sentence says what to do."""
    try:
        return Address.parse(recipient)
    except ValueError:
        raise TransportError(f"{recipient!r} is not an address caseclock can deliver to: "
                             "restart caseclock, whose store upgrades itself when it starts",
                             permanent=True) from None


class Delivery:
    """Claims, sends and marks outbox rows: all of them, or those `scope` selects (the
    console's view delivers one person's rows and leaves everyone else's queued)."""

    def __init__(self, sessions: sessionmaker[Session],
                 transports: dict[str, Transport] | None = None,
                 transport_for: Callable[[str], str] | None = None,
                 worker_id: str | None = None, lease: timedelta = LEASE,
                 pace: float | None = None, base_backoff: float = BASE_BACKOFF,
                 scope: ColumnElement[bool] | None = None) -> None:
        self.sessions = sessions
        self._scope = scope if scope is not None else true()
        self.transports = transports or {}
        self.transport_for = transport_for or (lambda _recipient: "console")
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.lease, self.pace, self.base_backoff = lease, pace, base_backoff
        # A send that outlasts the lease could be repeated by whoever takes the row over.
        self.max_call = max((max_call_seconds(t) for t in self.transports.values()),
                            default=0.0)
        if self.lease.total_seconds() <= self.max_call + CLAIM_MARGIN:
            raise ValueError(
                f"the claim lease ({self.lease.total_seconds():g} s) must be longer than the "
                f"slowest transport call ({self.max_call:g} s) plus {CLAIM_MARGIN:g} s: "
                "lengthen the lease or shorten the transport's timeout")
        self._last_sent: dict[str, float] = {}
        self._pace_lock = threading.Lock()
        # Seconds one send has been taking lately (a moving average; None: none yet), so a
        # claim takes no more rows than it can send within its lease, and the rows it could
        # not reach are not held back from other workers meanwhile.
        self.send_seconds: float | None = None

    def batch_size(self, limit: int) -> int:
        """How many rows one claim takes: `limit`, or fewer when sends are slow (until the
        first send is timed, as slow as the transport can be)."""
        per_send = self.send_seconds if self.send_seconds is not None else self.max_call
        if per_send <= 0:
            return limit
        span = min(BATCH_SECONDS, self.lease.total_seconds() - self.max_call - CLAIM_MARGIN)
        return max(1, min(limit, int(span / per_send)))

    def scope(self) -> ColumnElement[bool]:
        """Which rows this deliverer takes (claims and `next_due` both use it)."""
        return self._scope

    def new_token(self) -> str:
        """A claim token: this worker's id and a part unique to one batch."""
        return f"{self.worker_id}:{uuid.uuid4().hex}"

    def claim(self, now: datetime, limit: int = 50, token: str | None = None
              ) -> list[tuple[OutboxRow, datetime | None]]:
        """Atomically take up to `limit` rows ready to send, under `token` (claimed_by).

        Each comes with the time of an earlier claim that expired (a process died holding
        it), so the sender can check whether that attempt got through before resending.
        """
        token = token or self.new_token()
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
                                .values(claimed_by=token, claimed_at=now)
                                .returning(OutboxRow)).all()
            return [(row, previous.get(row.id)) for row in claimed]

    def pace_of(self, transport: object) -> float:
        """Seconds between two messages to one destination: this delivery's own `pace` if
        it was given one, else what the transport declares (its platform's rate)."""
        if self.pace is not None:
            return self.pace
        return float(getattr(transport, "pace", CHANNEL_PACE))

    def _pace(self, recipient: str, pace: float) -> float:
        """Seconds to wait before `recipient` may get another message."""
        with self._pace_lock:
            last = self._last_sent.get(recipient)
            wait = 0.0 if last is None else max(0.0, last + pace - time.monotonic())
            if wait == 0.0:
                self._last_sent[recipient] = time.monotonic()
            return wait

    def _mark(self, row: OutboxRow, **values: Any) -> None:
        # Only while the claim is ours (`row.claimed_by` holds the batch's token): a row
        # taken over meanwhile is the new holder's to mark.
        with self.sessions.begin() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == row.id,
                                              OutboxRow.claimed_by == row.claimed_by)
                      .values(**values))

    def renew(self, row: OutboxRow, now: datetime) -> bool:
        """Extend the claim on `row` to a full lease from `now`, if it is still ours and
        unexpired; False: it was lost (taken over, or expired and free to be), so the row
        must not be sent."""
        with self.sessions.begin() as s:
            done = s.execute(update(OutboxRow).where(
                OutboxRow.id == row.id, OutboxRow.claimed_by == row.claimed_by,
                OutboxRow.claimed_at > now - self.lease, OutboxRow.sent_at.is_(None),
                OutboxRow.withdrawn_at.is_(None), OutboxRow.parked_at.is_(None),
            ).values(claimed_at=now))
            return bool(getattr(done, "rowcount", 0) == 1)

    def release(self, rows: Sequence[tuple[OutboxRow, datetime | None]]) -> None:
        """Give back claimed rows not attempted, so any worker takes them at once. A row
        taken over from a dead claim gets that claim's (expired) time back, so its next
        holder still checks with the transport before sending."""
        if not rows:
            return
        with self.sessions.begin() as s:
            for row, recovered in rows:
                s.execute(update(OutboxRow).where(
                    OutboxRow.id == row.id, OutboxRow.claimed_by == row.claimed_by)
                    .values(claimed_by=None, claimed_at=recovered))

    def deliver_one(self, row: OutboxRow, clock: Callable[[], datetime],
                    recovered_since: datetime | None = None) -> str:
        """Send one claimed row: 'sent', 'deferred', 'retry', 'parked' or 'lost' (its claim
        expired or was taken over before the send, so it was left to the new holder)."""
        transport = self.transports.get(row.transport)
        pace = self.pace_of(transport)
        wait = self._pace(row.recipient, pace)
        while 0 < wait <= HOLD_FOR_PACE:
            # Hold the claim and wait for the channel's turn: cheaper than a write to defer
            # it, and the claim's lease is far longer.
            time.sleep(wait)
            wait = self._pace(row.recipient, pace)
        if wait > 0:
            # As in `release`: a row taken over from a dead claim keeps that claim's time.
            self._mark(row, claimed_by=None, claimed_at=recovered_since,
                       next_attempt_at=clock() + timedelta(seconds=wait))
            return "deferred"
        try:
            if transport is None:
                how = ("add how they are reached (their chat id or email) in the staff "
                       "directory" if row.recipient.startswith("staff:") else
                       "give the team a channel the app is in (Slack or Teams) or a digest "
                       "email")
                raise TransportError(f"no configured transport reaches them: {how}, then "
                                     "re-queue it with `caseclock notify --retry-parked`",
                                     permanent=True)
            check = getattr(transport, "already_delivered", None)
            # After a crash mid-send or an ambiguous failure (a timeout: the message may have
            # arrived), ask the other side before sending again.
            # The window runs from the row's creation (before its first attempt), not from
            # the lost claim: an earlier ambiguous attempt may be the one that arrived.
            since = row.created_at if recovered_since is not None or (
                row.last_error or "").startswith(AMBIGUOUS) else None
            to = address_of(row.recipient)
            if since is not None and check is not None and check(
                    to, row.key, since - timedelta(seconds=5)):
                self._mark(row, sent_at=clock(), claimed_by=None)
                return "sent"
            prepare = getattr(transport, "prepare", None)
            if prepare is not None:  # e.g. open the direct message: not part of the send
                prepare(to)
            # Last moment before the send: the claim must still be ours, and it now runs a
            # full lease, longer than the slowest send, so nobody takes the row over
            # mid-send. A claim lost before this point leaves the row to its new holder.
            if not self.renew(row, clock()):
                log.info("outbox row %d: claim lost before sending, left to its holder",
                         row.id)
                return "lost"
            try:
                content = from_json(row.payload)
            except ContentError as err:  # written by a newer caseclock, or never upgraded
                raise TransportError(str(err), permanent=True) from None
            started = time.monotonic()
            try:
                transport.send(to, content, row.key)
            finally:
                took = time.monotonic() - started
                self.send_seconds = took if self.send_seconds is None else (
                    0.7 * self.send_seconds + 0.3 * took)
            with self._pace_lock:  # pace from the answer: the other side counts arrivals
                self._last_sent[row.recipient] = time.monotonic()
        except TransportError as err:
            return self._failed(row, err, clock())
        except Exception as err:  # a timeout, a dropped connection: it may have got through
            return self._failed(row, TransportError(f"{AMBIGUOUS}: {type(err).__name__}"),
                                clock())
        self._mark(row, sent_at=clock(), claimed_by=None)
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
            self._mark(row, attempts=attempts, parked_at=now, claimed_by=None,
                       last_error=str(err)[:500])
            if row.rule != "admin_alert":  # an alert that cannot be delivered is not alerted
                self._alert_admins(row, err, attempts, now)
            log.warning("outbox row %d parked after %d attempts", row.id, attempts)
            return "parked"
        delay = err.retry_after if err.retry_after is not None else backoff(
            attempts, self.base_backoff)
        self._mark(row, attempts=attempts, claimed_by=None, claimed_at=None,
                   last_error=str(err)[:500], next_attempt_at=now + timedelta(seconds=delay))
        return "retry"

    def _alert_admins(self, row: OutboxRow, err: TransportError, attempts: int,
                      now: datetime) -> None:
        why = (f"{err}" if err.permanent else
               f"{attempts} attempts over the last hour or more failed, the last with: {err}")
        again = ("checks the channel again and sends it only if it did not arrive"
                 if isinstance(err, DeliveryUnknown) else "sends it again")
        text = (f"caseclock could not deliver notification {row.id} ({row.stage}, "
                f"{row.rule}, to {row.recipient.split(':', 1)[1]}): {why}. It is parked: "
                f"once the cause is fixed, `caseclock notify --retry-parked` {again}.")
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
                    payload=to_json(Alert(text)), created_at=now, next_attempt_at=now, attempts=0,
                ).on_conflict_do_nothing(index_elements=["key"])
                s.execute(stmt)

    def retry_parked(self, now: datetime) -> int:
        """Queue every parked row again, with fresh attempts (the admin's path once what was
        wrong is fixed); returns how many. Each is routed again, as the sweep would route it
        now: a person given a chat id, or a channel the bot was added to since, is reached
        where they can be. A row whose last try may have got through keeps its error, so it
        is checked before it is sent again."""
        with self.sessions.begin() as s:
            rows = s.execute(select(OutboxRow.id, OutboxRow.recipient).where(
                OutboxRow.parked_at.is_not(None), OutboxRow.sent_at.is_(None),
                OutboxRow.withdrawn_at.is_(None))).all()
            by_transport: dict[str, list[int]] = defaultdict(list)
            for row_id, recipient in rows:
                try:
                    kind = self.transport_for(recipient)
                except ValueError:  # not an address: it stays where it was, and parks again
                    continue
                by_transport[kind].append(row_id)
            for kind, ids in by_transport.items():
                for part in chunks(ids, KEY_CHUNK):
                    s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(part))).values(
                        parked_at=None, attempts=0, next_attempt_at=now, claimed_by=None,
                        claimed_at=None, transport=kind))
            ids = [row_id for part in by_transport.values() for row_id in part]
        if ids:
            log.info("re-queued %d parked rows", len(ids))
        return len(ids)

    def deliver(self, clock: Callable[[], datetime], limit: int = 50) -> dict[str, int]:
        """Claim and send what is ready now; returns counts by outcome ('released': rows
        given back unattempted because the batch's lease was running out)."""
        counts: dict[str, int] = defaultdict(int)
        claimed_at = clock()
        batch = self.claim(claimed_at, self.batch_size(limit))
        # The batch's rows not yet reached are claimed until claimed_at + lease: stop and give
        # them back while a send could still finish within it (a slow transport, 20 rows).
        last_start = claimed_at + self.lease - timedelta(seconds=self.max_call + CLAIM_MARGIN)
        for i, (row, recovered) in enumerate(batch):
            if clock() >= last_start:
                rest = batch[i:]
                self.release(rest)
                counts["released"] += len(rest)
                break
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
