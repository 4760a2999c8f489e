"""The preview managers and checks use: `caseclock notify --now X --dry-run`, at scale.

    .venv/bin/python benchmarks/dry_run.py [--cases 30000]

A SQLite store with `--cases` synthetic cases (the engine benchmark's cases, about nine events
each, moved to start on 1 Sep 2026) spread over six teams, one per pack. The dry run computes
every case's deadlines from its events at the instant (Tue 24 Nov 2026 09:00) and plans and
renders every notification due then, as if nothing had been sent: this times `Outbox.plan`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from benchmarks.engine import synthetic_case  # noqa: E402
from scheduler.packs import PackLibrary  # noqa: E402
from scheduler.reminders.outbox import Outbox  # noqa: E402
from scheduler.timescales.calendar import LONDON  # noqa: E402
from store.db import open_database  # noqa: E402
from store.models import Case, EventRow, Staff, Team  # noqa: E402

PACKS = ("working-together-2023", "north-yorkshire", "relational-practice", "bexley",
         "suffolk", "medway")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=LONDON)
START = datetime(2026, 9, 1, tzinfo=UTC)


def build_store(cases: int) -> tuple[object, int]:
    """A fresh SQLite store holding `cases` cases; returns its session factory and events."""
    _engine, sessions = open_database(f"sqlite:///{tempfile.mkdtemp()}/dry.db")
    rnd = random.Random(1)
    case_rows, event_rows = [], []
    for i in range(cases):
        team = i % len(PACKS)
        case_rows.append({"reference": f"{i:07d}", "team_id": team + 1, "policy": PACKS[team],
                          "allocated_worker": "jo", "created_at": NOW})
        events = synthetic_case(i, rnd)
        shift = START - events[0].at
        for e in events:
            at = e.at + shift
            if at <= NOW:  # events are never in the future
                n = len(event_rows) + 1
                event_rows.append({"seq": n, "id": f"e{n:09d}", "case_id": i + 1,
                                   "type": e.type, "at": at, "fields": e.fields,
                                   "recorded_by": "bench", "recorded_at": NOW,
                                   "source": "bench", "request_id": None})
    with sessions.begin() as s:
        s.execute(insert(Team), [{"name": f"team{t}", "policy": p, "slack_channel": f"C{t}",
                                  "digest_at": "08:30", "created_at": NOW}
                                 for t, p in enumerate(PACKS)])
        s.execute(insert(Staff), [{"name": f"lead{t}", "role": "manager", "team_id": t + 1,
                                   "active": True, "created_at": NOW} for t in range(len(PACKS))]
                  + [{"name": "jo", "role": "worker", "team_id": 1, "active": True,
                      "created_at": NOW}])
        s.execute(insert(Case), case_rows)
        s.execute(insert(EventRow), event_rows)
    return sessions, len(event_rows)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=30000)
    args = p.parse_args()
    sessions, events = build_store(args.cases)
    outbox = Outbox(sessions, PackLibrary(), {}, lambda _r: "slack")  # type: ignore[arg-type]
    started = time.perf_counter()
    planned = outbox.plan(NOW)
    took = time.perf_counter() - started
    print(f"{args.cases:,} cases, {events:,} events: the dry run at Tue 24 Nov 2026 09:00 "
          f"planned and rendered {len(planned):,} notifications in {took:.1f} s")


if __name__ == "__main__":
    main()
