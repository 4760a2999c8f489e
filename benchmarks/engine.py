"""Engine benchmarks: working-day offsets against numpy.busday_offset, and recomputing
the deadlines of 100,000 synthetic cases across every built-in pack.

    .venv/bin/python benchmarks/engine.py [--cases 100000] [--workers 2]

Figures go in benchmarks/RESULTS.md. These are measurements, not tests: nothing here fails
on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.packs import PackLibrary
from scheduler.timescales.calendar import LONDON, WorkingCalendar
from scheduler.timescales.engine import compute_case
from scheduler.timescales.vocabulary import Event


def bench_offsets(n: int, repeats: int = 5) -> dict[str, float]:
    """Offsets per second: ours (one call per offset) vs numpy (scalar calls and one array)."""
    try:
        import numpy as np
    except ImportError:  # numpy is the bench extra's, not a dependency of the product
        raise SystemExit("numpy is missing: install the bench extra "
                         "(.venv/bin/pip install -e '.[bench]')") from None

    cal = WorkingCalendar()
    rnd = random.Random(1)
    starts = [date(2020, 1, 1) + timedelta(days=rnd.randrange(0, 3650)) for _ in range(n)]
    # n >= 1: "within n working days". For n = 0 on a weekend caseclock deliberately gives
    # the next working day (Suffolk's day 1), where numpy's roll gives the previous one.
    counts = [rnd.randrange(1, 60) for _ in range(n)]
    hols = np.array(sorted(cal.holidays), dtype="datetime64[D]")
    np_starts = np.array(starts, dtype="datetime64[D]")
    np_counts = np.array(counts)
    cal_np = np.busdaycalendar(holidays=hols)

    ours = [cal.add_working_days(s, c) for s, c in zip(starts, counts, strict=True)]
    # roll="backward" puts a weekend or holiday start on the working day before it, so that
    # +n lands on the n-th working day after the start: the §1 convention (day 0 = start).
    theirs = np.busday_offset(np_starts, np_counts, roll="backward", busdaycal=cal_np)
    mismatches = sum(1 for a, b in zip(ours, theirs.astype(object), strict=True) if a != b)

    def rate(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return n / statistics.median(times)

    ours_rate = rate(lambda: [cal.add_working_days(s, c)
                              for s, c in zip(starts, counts, strict=True)])
    np_scalar = rate(lambda: [np.busday_offset(s, c, roll="backward", busdaycal=cal_np)
                              for s, c in zip(np_starts[: n], np_counts[: n], strict=True)])
    np_vector = rate(lambda: np.busday_offset(np_starts, np_counts, roll="backward",
                                              busdaycal=cal_np))
    return {"ours": ours_rate, "numpy_scalar": np_scalar, "numpy_vector": np_vector,
            "mismatches": float(mismatches)}


# A typical case: contact, referral, allocation, visit, reviews, perhaps section 47 and a
# conference, completion and authorisation; about ten events.
def synthetic_case(i: int, rnd: random.Random) -> list[Event]:
    ref = f"C{i:07d}"
    t = datetime(2025, 1, 6, 9, tzinfo=LONDON) + timedelta(hours=rnd.randrange(0, 24 * 600))
    track = rnd.choice(["s17", "s17", "s47", "early_help"])
    seq = [("contact_received", {}), ("referral_received", {"track": track}),
           ("allocated", {"worker": "jo"}), ("management_decision", {"seen_by_day": 5}),
           ("family_contacted", {}), ("child_seen", {"alone": True, "home_visited": True})]
    if track == "s47":
        seq += [("strategy_discussion_held", {}), ("s47_outcome", {"icpc_required": True}),
                ("icpc_held", {"cp_plan": True})]
    seq += [("assessment_review_held", {}), ("assessment_completed", {"outcome": "cin"}),
            ("assessment_authorised", {})]
    events = []
    for n, (etype, fields) in enumerate(seq[: rnd.randrange(8, len(seq) + 1)]):
        t += timedelta(hours=rnd.randrange(2, 24 * 6))
        # In UTC, as the store hands events to the engine.
        events.append(Event(f"{ref}-{n}", ref, etype, t.astimezone(UTC), fields, n))
    return events


def _compute_chunk(args: tuple[int, int, list[str]]) -> tuple[int, int]:
    start, stop, names = args
    library = PackLibrary()
    now = datetime(2027, 1, 1, 12, tzinfo=LONDON)
    rnd = random.Random(start)
    total_events = total_deadlines = 0
    packs = [(library.get(n), library.calendar(n)) for n in names]
    for i in range(start, stop):
        events = synthetic_case(i, rnd)
        pack, cal = packs[i % len(packs)]
        total_events += len(events)
        total_deadlines += len(compute_case(pack, cal, events[0].case, events, now))
    return total_events, total_deadlines


def bench_cases(cases: int, workers: int) -> dict[str, float]:
    names = PackLibrary().names()
    chunks = [(s, min(s + 5000, cases), names) for s in range(0, cases, 5000)]
    t0 = time.perf_counter()
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_compute_chunk, chunks))
    else:
        results = [_compute_chunk(c) for c in chunks]
    elapsed = time.perf_counter() - t0
    return {"cases": cases, "events": sum(r[0] for r in results),
            "deadlines": sum(r[1] for r in results), "seconds": elapsed, "workers": workers}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--offsets", type=int, default=200_000)
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = p.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    o = bench_offsets(args.offsets)
    print(f"(a) working-day offsets, {args.offsets:,} random (start, n) pairs, median of 5:")
    print(f"    caseclock WorkingCalendar.add_working_days: {o['ours']:,.0f}/s")
    print(f"    numpy.busday_offset, one call per offset:   {o['numpy_scalar']:,.0f}/s "
          f"(ratio ours/numpy {o['ours'] / o['numpy_scalar']:.1f}x)")
    print(f"    numpy.busday_offset, one vectorised call:   {o['numpy_vector']:,.0f}/s "
          f"(ratio ours/numpy {o['ours'] / o['numpy_vector']:.2f}x)")
    print(f"    results differing from numpy: {int(o['mismatches'])}")
    for workers in sorted({1, args.workers}):
        c = bench_cases(args.cases, workers)
        print(f"(b) {c['cases']:,} cases, {c['events']:,} events -> {c['deadlines']:,} deadlines "
              f"across all packs, {workers} process(es): {c['seconds']:.1f} s")


if __name__ == "__main__":
    main()
