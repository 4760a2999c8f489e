"""How long a wrong calendar token takes to be refused, by how close it is to a real one.

    .venv/bin/python benchmarks/calendar_404.py [--requests 2000]

A store with one member of staff and a live feed token; the feed's Starlette route in
process (Starlette's TestClient, so network noise stays out). Interleaved, so drifts of the
machine hit every kind alike: a real token with its last character changed (the closest
guess), a random token of the right length, and a short malformed one. A miss hashes what
was typed and looks the hash up, so the three medians should agree within noise.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.calendar_feed import calendar_route, issue_token
from bot.directory import Directory
from scheduler.casebook import Casebook
from scheduler.packs import PackLibrary
from store.db import open_database


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=2000)
    args = p.parse_args()
    _engine, sessions = open_database(f"sqlite:///{tempfile.mkdtemp()}/cal.db")
    Casebook(sessions, PackLibrary(), lambda: datetime.now(UTC)).add_team("north", "bexley")
    Directory(sessions).add("jo", "worker", "north")
    token = issue_token(sessions, "jo", "bench")
    client = TestClient(Starlette(routes=[calendar_route(sessions)]))
    kinds = {
        "last character changed": lambda: token[:-1] + ("A" if token[-1] != "A" else "B"),
        "random, right length": lambda: secrets.token_urlsafe(32),
        "short, malformed": lambda: "x",
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(args.requests):
        for kind, make in kinds.items():
            wrong = make()
            t0 = time.perf_counter()
            status = client.get(f"/calendar/{wrong}.ics").status_code
            times[kind].append(time.perf_counter() - t0)
            assert status == 404
    for kind, ts in times.items():
        q = statistics.quantiles(ts, n=20)
        print(f"{kind:24} median {statistics.median(ts) * 1e6:7.0f} us, "
              f"p5 {q[0] * 1e6:6.0f} us, p95 {q[-1] * 1e6:6.0f} us ({len(ts)} requests)")


if __name__ == "__main__":
    main()
