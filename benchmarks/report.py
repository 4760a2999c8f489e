"""The timeliness report over a whole caseload: `caseclock report timeliness`, at scale.

    .venv/bin/python benchmarks/report.py [--cases 100000] [--html docs/report.html]

A SQLite store with `--cases` of the engine benchmark's synthetic cases (referrals spread
over Jan 2025 - Aug 2026, about nine events each) over six teams, one per pack, twenty
workers a team. Their deadlines are computed by the engine at Tue 1 Dec 2026 and stored as
the casebook stores them (events are not stored: the report reads only deadlines). Timed:
reading and counting the deadlines due in the financial year 1 Apr 2025 - 31 Mar 2026 (what
`build_report` does), then each rendering. Target: under 10 s for 100,000 cases.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from benchmarks.engine import synthetic_case  # noqa: E402
from bot.report_commands import build_report, report_csv, report_json, report_table  # noqa: E402
from bot.report_html import report_html  # noqa: E402
from scheduler.packs import PackLibrary  # noqa: E402
from scheduler.timescales.calendar import LONDON  # noqa: E402
from scheduler.timescales.engine import compute_case  # noqa: E402
from store.db import open_database  # noqa: E402
from store.models import Case, DeadlineRow, Team  # noqa: E402

PACKS = ("working-together-2023", "north-yorkshire", "relational-practice", "bexley",
         "suffolk", "medway")
TEAMS = ("north", "south", "east", "west", "central", "duty")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)
PERIOD = (date(2025, 4, 1), date(2026, 3, 31))


def build_store(path: str, cases: int, library: PackLibrary) -> sessionmaker[Session]:
    """A SQLite store at `path` holding `cases` cases and their computed deadlines."""
    _engine, sessions = open_database(f"sqlite:///{path}")
    rnd = random.Random(1)
    with sessions.begin() as s:
        s.execute(insert(Team), [{"name": name, "policy": pack, "digest_at": "08:30",
                                  "created_at": NOW} for name, pack in zip(TEAMS, PACKS,
                                                                           strict=True)])
    batch_cases: list[dict[str, object]] = []
    batch_deadlines: list[dict[str, object]] = []

    def flush() -> None:
        with sessions.begin() as s:
            s.execute(insert(Case), batch_cases)
            s.execute(insert(DeadlineRow), batch_deadlines)
        batch_cases.clear()
        batch_deadlines.clear()

    for i in range(cases):
        team = i % len(PACKS)
        events = synthetic_case(i, rnd)
        ref = events[0].case
        batch_cases.append({"id": i + 1, "reference": ref, "team_id": team + 1,
                            "policy": PACKS[team], "created_at": NOW,
                            "allocated_worker": f"worker{team}{rnd.randrange(20):02d}"})
        pack = library.get(PACKS[team])
        for d in compute_case(pack, library.calendar(PACKS[team]), ref, events, NOW):
            batch_deadlines.append({
                "case_id": i + 1, "rule": d.rule, "seq": d.seq, "title": d.title,
                "due": d.due, "status": d.status, "met_at": d.met_at,
                "met_by_event": d.met_by_event, "owner": d.owner, "anchor_at": d.anchor_at,
                "hourly": d.hourly, "delay_reason": d.delay_reason, "unit": d.unit,
                "stopped_at": d.stopped_at, "stopped_by_event": d.stopped_by_event,
                "computed_at": NOW})
        if len(batch_cases) == 5000:
            flush()
    if batch_cases:
        flush()
    return sessions


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--db", help="reuse (or build once at) this SQLite file")
    p.add_argument("--html", help="also write the HTML report here (for the docs screenshot)")
    args = p.parse_args()
    library = PackLibrary()
    path = args.db or f"{tempfile.mkdtemp()}/report.db"
    t0 = time.perf_counter()
    if args.db and Path(args.db).exists():
        _engine, sessions = open_database(f"sqlite:///{path}")
    else:
        sessions = build_store(path, args.cases, library)
    with sessions() as s:
        n_cases = s.scalar(select(func.count()).select_from(Case)) or 0
        n_deadlines = s.scalar(select(func.count()).select_from(DeadlineRow)) or 0
    print(f"store: {n_cases:,} cases, {n_deadlines:,} deadlines "
          f"(built or opened in {time.perf_counter() - t0:.1f} s)")
    for day_one in (False, True):
        t1, c1 = time.perf_counter(), time.process_time()
        report = build_report(sessions, library, *PERIOD, NOW, count_from_day_one=day_one)
        counted, cpu = time.perf_counter() - t1, time.process_time() - c1
        due = sum(r.counts.due for r in report.measures)
        timings = []
        for name, render in (("table", report_table), ("csv", report_csv),
                             ("json", report_json), ("html", report_html)):
            t2 = time.perf_counter()
            render(report)
            timings.append(f"{name} {time.perf_counter() - t2:.2f} s")
        print(f"report {PERIOD[0]} to {PERIOD[1]}{' --count-from-day-one' * day_one}: "
              f"{due:,} deadlines due, read and counted in {counted:.2f} s ({cpu:.2f} s CPU); "
              f"rendered: {', '.join(timings)}")
        if args.html and not day_one:
            Path(args.html).write_text(report_html(report), encoding="utf-8")
    # The whole command as a person runs it: start-up, store, count, render, write the file.
    out = Path(tempfile.mkdtemp()) / "timeliness.html"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    t3 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "caseclock"), "report", "timeliness",
                    "--from", PERIOD[0].isoformat(), "--to", PERIOD[1].isoformat(),
                    "--now", NOW.isoformat(), "--format", "html", "--out", str(out)],
                   env=env, check=True, capture_output=True, cwd=out.parent)
    print(f"`caseclock report timeliness --format html --out FILE` over the year: "
          f"{time.perf_counter() - t3:.2f} s end to end")
    print(f"({platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()})")


if __name__ == "__main__":
    main()
