"""Day one at a council: `caseclock import cases FILE.csv` of its whole open caseload.

    .venv/bin/python benchmarks/import_cases.py [--rows 100000] [--sweeps N]

A CSV export of `--rows` open cases over six teams (one per pack), written as an LCS export
would be after `--map`: referral (s17 or s47), worker, child seen (alone or not), for a
section 47 a strategy discussion and often a conference, for some the assessment completed
and authorised; dates day first (21/11/2026 14:30), spread over the 14 weeks before the
instant (Mon 30 Nov 2026 12:00). The command runs as a user runs it, on a fresh SQLite
file: reading, checking, storing events, deadlines and audit, chunk by chunk. Target: under
60 s for 100,000 rows.

`--sweeps N` then times N reminder sweeps a minute apart in working hours after the import
(each team with a manager), the first planning everything and the others the steady minute
sweep over the imported caseload: what the deadlines missed before the import cost it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from scheduler.timescales.calendar import LONDON  # noqa: E402

PACKS = ("working-together-2023", "north-yorkshire", "relational-practice", "bexley",
         "suffolk", "medway")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)
HEADER = ("case,team,track,worker,referral_at,seen_at,seen_alone,strategy_at,icpc_at,cp_plan,"
          "completed_at,authorised_at")


def _uk(t: datetime) -> str:
    return t.strftime("%d/%m/%Y %H:%M")


def synthetic_row(i: int, rnd: random.Random) -> str:
    """One open case's row: dates in order, none after the instant."""
    referral = NOW - timedelta(days=rnd.randint(1, 98), hours=rnd.randint(0, 8))
    s47 = rnd.random() < 0.3
    cells = [f"{1_000_000 + i}", f"team{i % len(PACKS)}", "s47" if s47 else "s17",
             f"worker{i % 250}", _uk(referral)]

    def later(base: datetime, days: int) -> datetime | None:
        t = base + timedelta(days=rnd.randint(0, days), hours=rnd.randint(0, 6))
        return t if t < NOW else None

    seen = later(referral, 8) if rnd.random() < 0.85 else None
    cells += [_uk(seen) if seen else "", rnd.choice(("yes", "no")) if seen else ""]
    strategy = later(referral, 1) if s47 else None
    icpc = later(strategy, 20) if strategy and rnd.random() < 0.6 else None
    cells += [_uk(strategy) if strategy else "", _uk(icpc) if icpc else "",
              rnd.choice(("yes", "no")) if icpc else ""]
    completed = later(seen, 50) if seen and rnd.random() < 0.4 else None
    authorised = later(completed, 5) if completed and rnd.random() < 0.7 else None
    cells += [_uk(completed) if completed else "", _uk(authorised) if authorised else ""]
    return ",".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sweeps", type=int, default=0,
                        help="then time this many minute sweeps of the imported caseload")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    csv_path = work / "caseload.csv"
    rnd = random.Random(1)
    csv_path.write_text(HEADER + "\n" + "\n".join(synthetic_row(i, rnd)
                                                   for i in range(args.rows)) + "\n",
                        encoding="utf-8")
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'import.db'}"
    from bot.cli import main as caseclock
    from store.db import open_database
    from store.models import Case, DeadlineRow, EventRow

    for i, pack in enumerate(PACKS):
        with contextlib.redirect_stdout(io.StringIO()):
            caseclock(["team", "add", f"team{i}", "--policy", pack])
            if args.sweeps:  # a manager each, told of the deadlines missed before the import
                caseclock(["staff", "add", f"manager{i}", "--team", f"team{i}", "--role",
                           "manager"])
    out = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        code = caseclock(["import", "cases", str(csv_path), "--now", NOW.isoformat()])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(out.getvalue().strip())
    _engine, sessions = open_database(os.environ["DATABASE_URL"])
    with sessions() as s:
        n_cases, n_events, n_deadlines = (s.scalar(select(func.count()).select_from(m))
                                          for m in (Case, EventRow, DeadlineRow))
    print(f"exit {code}: {args.rows:,} rows -> {n_cases:,} cases, {n_events:,} events, "
          f"{n_deadlines:,} deadlines in {seconds:.1f} s (CPU {cpu:.1f} s; target < 60 s)")
    again, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        caseclock(["import", "cases", str(csv_path), "--now", NOW.isoformat()])
    print(f"importing the same file again (nothing new stored): "
          f"{time.perf_counter() - again:.1f} s (CPU {time.process_time() - cpu:.1f} s)")
    if args.sweeps:
        _time_sweeps(args.sweeps)


def _time_sweeps(n: int) -> None:
    """N sweeps a minute apart from the import's instant (a Monday, 12:00: working hours)."""
    from bot.store_commands import _app

    app = _app(NOW.isoformat())
    seconds, cpus = [], []
    for minute in range(n):
        started, cpu = time.perf_counter(), time.process_time()
        result = app.outbox.sweep(NOW + timedelta(minutes=minute))
        seconds.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        print(f"sweep {minute + 1}: {seconds[-1]:.2f} s (CPU {cpus[-1]:.2f} s; "
              f"{result.planned:,} planned, {result.created:,} created)")
    if n > 1:
        steady, steady_cpu = sorted(seconds[1:]), sorted(cpus[1:])
        print(f"steady sweep: median {steady[len(steady) // 2]:.2f} s "
              f"(CPU {steady_cpu[len(steady_cpu) // 2]:.2f} s) over {n - 1}")


if __name__ == "__main__":
    main()
