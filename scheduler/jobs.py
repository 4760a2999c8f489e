"""APScheduler only wakes the work; every piece of state lives in the database.

- `sweep`: every minute, create what is due (outbox) and deliver what is ready;
- `digest-<team>`: at each team's digest time on weekdays, the same sweep (so digests go out
  on the minute rather than up to a minute late); the sweep itself skips bank holidays;
- `recompute`: hourly, recompute every case, so deadlines that time alone creates (the next
  of a recurring review) exist without waiting for an event.
Explicit job ids, coalesce and a misfire grace time: after a pause the scheduler runs one
sweep, not a backlog, and the sweep works from state so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.casebook import Casebook
from scheduler.outbox import Outbox

log = logging.getLogger("caseclock.jobs")
LONDON_TZ = "Europe/London"


def run_sweep(outbox: Outbox, clock: Callable[[], datetime], rounds: int = 20) -> None:
    """One sweep and the deliveries it makes ready (bounded, so a job never runs long)."""
    outbox.sweep(clock())
    for _ in range(rounds):
        if not outbox.deliver(clock):
            break


def build_scheduler(outbox: Outbox, casebook: Casebook, clock: Callable[[], datetime],
                    digest_times: dict[str, str]) -> BackgroundScheduler:
    """A scheduler with the sweep, one digest job per team and the hourly recompute."""
    sched = BackgroundScheduler(timezone=LONDON_TZ, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 120})
    sched.add_job(run_sweep, IntervalTrigger(minutes=1, timezone=LONDON_TZ),
                  args=(outbox, clock), id="sweep", replace_existing=True,
                  next_run_time=clock())
    for team, hhmm in digest_times.items():
        hour, minute = (int(x) for x in hhmm.split(":"))
        sched.add_job(run_sweep, CronTrigger(day_of_week="mon-fri", hour=hour, minute=minute,
                                             timezone=LONDON_TZ),
                      args=(outbox, clock), id=f"digest-{team}", replace_existing=True)
    sched.add_job(casebook.recompute_all, IntervalTrigger(hours=1, timezone=LONDON_TZ),
                  id="recompute", replace_existing=True)
    return sched
