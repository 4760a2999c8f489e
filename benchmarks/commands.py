"""Time to acknowledgement of signed slash commands sent over HTTP to `caseclock serve`.

    .venv/bin/python benchmarks/commands.py [--commands 1000] [--concurrency 20]
        [--postgres postgresql://user@127.0.0.1:PORT/postgres]

Starts a mock Slack Web API on localhost and `caseclock serve` as a separate process on a
fresh database (SQLite, and PostgreSQL when a URL is given or CASECLOCK_TEST_POSTGRES_URL is
set), sends the commands 20 at a time, and reports p50/p99 time from sending to the HTTP
200 that acknowledges them; then checks that every event was stored exactly once.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.app import build_app  # noqa: E402
from store import repo  # noqa: E402
from store.db import normalise_url  # noqa: E402
from store.settings import Settings  # noqa: E402
from tests.mock_slack import MockSlack  # noqa: E402

SECRET = "bench-signing-secret"
USERS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> None:
    app = build_app(Settings(database_url=url))
    app.casebook.add_team("bench", "bexley", slack_channel="CBENCH")
    for i in range(USERS):
        app.directory.add(f"worker{i}", "worker", "bench", f"UW{i:03d}")


def one_command(base: str, slack: MockSlack, i: int) -> float:
    body = urlencode({
        "team_id": "T1", "channel_id": "D1", "user_id": f"UW{i % USERS:03d}",
        "command": "/referral", "text": f"{100000 + i} s17",
        "response_url": slack.response_url(f"b{i}"), "trigger_id": f"bench-{i}",
    })
    ts = int(time.time())
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(),
                           hashlib.sha256).hexdigest()
    req = urllib.request.Request(base + "/slack/events", data=body.encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()
        assert resp.status == 200
    return time.perf_counter() - started


def run(label: str, url: str, commands: int, concurrency: int) -> str:
    prepare(url)
    with MockSlack() as slack:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-bench",
               "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}
        env.pop("SLACK_APP_TOKEN", None)
        server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port",
                                   str(port)], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            with ThreadPoolExecutor(concurrency) as pool:
                times = list(pool.map(lambda i: one_command(base, slack, i), range(commands)))
            slack.wait_for("response_url", commands, timeout=300)
        finally:
            server.terminate()
            server.wait(10)
    app = build_app(Settings(database_url=url))
    with app.casebook.sessions() as s:
        stored = repo.count_rows(s)["events"]
    times.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[int(len(times) * 0.99) - 1] * 1000
    return (f"{label}: {commands} commands, {concurrency} at a time: ack p50 {p50:.1f} ms, "
            f"p99 {p99:.1f} ms, max {times[-1] * 1000:.1f} ms; events stored {stored} "
            f"(expected {commands})")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--commands", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--postgres", default=os.environ.get("CASECLOCK_TEST_POSTGRES_URL"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(run("SQLite", f"sqlite:///{tmp}/bench.db", args.commands, args.concurrency))
    if not args.postgres:
        print("PostgreSQL: skipped (CASECLOCK_TEST_POSTGRES_URL is not set and no --postgres "
              "was given)")
    else:
        name = f"cc_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalise_url(args.postgres), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            base = args.postgres.rsplit("/", 1)[0]
            print(run("PostgreSQL", f"{base}/{name}", args.commands, args.concurrency))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
