"""The outbox as the jobs and commands use it: a sweep that writes rows and a delivery that
sends them, two objects working on the same table (neither knows the other)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from scheduler.packs import PackLibrary
from scheduler.reminders.content import Content
from scheduler.reminders.delivery import BASE_BACKOFF, LEASE, Delivery
from scheduler.reminders.planner import Planned
from scheduler.reminders.sweep import Sweep, SweepResult, _Plan
from scheduler.reminders.transport import Transport


class Outbox:
    """Sweep (plan, render, insert, withdraw) and delivery (claim, send, mark) together."""

    def __init__(self, sessions: sessionmaker[Session], library: PackLibrary,
                 transports: dict[str, Transport] | None = None,
                 transport_for: Callable[[str], str] | None = None,
                 worker_id: str | None = None, lease: timedelta = LEASE,
                 pace: float | None = None, base_backoff: float = BASE_BACKOFF,
                 *, delivery: Delivery | None = None, sweeper: Sweep | None = None) -> None:
        self.sweeper = sweeper or Sweep(sessions, library, transport_for)
        self.delivery = delivery or Delivery(sessions, transports, transport_for, worker_id,
                                             lease, pace, base_backoff)
        self.sessions, self.library = sessions, library
        self.transport_for = self.sweeper.transport_for
        self.lease = self.delivery.lease

    def with_delivery(self, delivery: Delivery) -> Outbox:
        """The same sweep (and its memo of plans) with another delivery."""
        return Outbox(self.sessions, self.library, delivery=delivery, sweeper=self.sweeper)

    # --- the sweep -----------------------------------------------------------------------

    def sweep(self, now: datetime) -> SweepResult:
        """Insert what is due (once) and withdraw what no longer is (see `Sweep.sweep`)."""
        return self.sweeper.sweep(now)

    def plan(self, now: datetime) -> list[tuple[Planned, Content]]:
        """Every notification due at `now` with its content (`caseclock notify --dry-run`)."""
        return self.sweeper.plan(now)

    def _plan(self, s: Session, now: datetime) -> _Plan:
        return self.sweeper._plan(s, now)

    def add_import_summaries(self, missed: Mapping[str, Sequence[str]], day: date, run: str,
                             now: datetime) -> int:
        """Enqueue one import run's summaries (see `Sweep.add_import_summaries`)."""
        return self.sweeper.add_import_summaries(missed, day, run, now)

    # --- delivery ------------------------------------------------------------------------

    def deliver(self, clock: Callable[[], datetime], limit: int = 50) -> dict[str, int]:
        """Claim and send what is ready now; counts by outcome (see `Delivery.deliver`)."""
        return self.delivery.deliver(clock, limit)

    def next_due(self, now: datetime) -> datetime | None:
        """When the next unsent row of this delivery's scope may be claimed."""
        return self.delivery.next_due(now)

    def retry_parked(self, now: datetime) -> int:
        """Queue every parked row again; returns how many."""
        return self.delivery.retry_parked(now)

    def counts(self) -> dict[str, int]:
        """Rows by state."""
        return self.delivery.counts()
