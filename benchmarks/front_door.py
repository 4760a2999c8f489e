"""The HTTP front door of `caseclock serve` under load and under attack.

    .venv/bin/python benchmarks/front_door.py [--commands 1000] [--concurrency 20]
        [--postgres URL] [--before DIR] [--only a,b,c]

(a) Slash-command acknowledgement p50/p99: 1,000 signed `/referral` commands, 20 at a time,
    to `caseclock serve` on SQLite and PostgreSQL (CASECLOCK_TEST_POSTGRES_URL or --postgres),
    and, in the same run, to the anchor: a bare slack-bolt app (one command that only acks)
    under uvicorn through Bolt's own Starlette adapter. Every command's reply is awaited and
    the events counted (1,000 stored, once each).
(b) Peak RSS of the server (server process and its worker together) while 5 clients each
    send a 200 MB body with a forged signature, against its RSS when idle.
(c) Time to acknowledge a valid command while 500 idle connections are held open.

--before DIR runs `caseclock serve` from another checkout too (e.g. `git archive` of the
commit before the change), measured in the same run for comparison.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from commands import SECRET, free_port, one_command, prepare  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bot.app import build_app  # noqa: E402
from store import repo  # noqa: E402
from store.db import normalise_url  # noqa: E402
from store.settings import Settings  # noqa: E402
from tests.mock_slack import MockSlack  # noqa: E402

WARM_UP = 40  # commands sent before the timed ones

BARE_BOLT = """
import sys
import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import (
    SlackRequestHandler, to_bolt_request, to_starlette_response)
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse
from starlette.routing import Route

bolt = App(token="xoxb-bench", signing_secret=sys.argv[2], token_verification_enabled=False,
           client=WebClient(token="xoxb-bench", base_url=sys.argv[3]))

@bolt.command("/referral")
def only_ack(ack):
    ack()

handler = SlackRequestHandler(bolt)

async def events(request):
    if sys.argv[4] == "adapter":  # Bolt's adapter as shipped: dispatch on the event loop
        return await handler.handle(request)
    # The same, with Bolt's dispatch on Starlette's thread pool, as a careful deployment would
    body = await request.body()
    response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
    return to_starlette_response(response)

async def healthz(request):
    return PlainTextResponse("ok\\n")

app = Starlette(routes=[Route("/slack/events", events, methods=["POST"]),
                        Route("/healthz", healthz)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""


@contextmanager
def server(kind: str, url: str, slack: MockSlack, before: Path | None = None
           ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`caseclock serve` (from this tree, or `before`) or the bare Bolt app, until exit."""
    port = free_port()
    root = before or ROOT
    env = {**os.environ, "DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
           "PYTHONPATH": str(root)}
    env.pop("SLACK_APP_TOKEN", None)
    if kind.startswith("bare"):
        cmd = [sys.executable, "-c", BARE_BOLT, str(port), SECRET, slack.url,
               kind.split(":")[1]]
    else:
        cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def percentiles(times: list[float]) -> tuple[float, float, float]:
    times = sorted(times)
    return (statistics.median(times) * 1000, times[int(len(times) * 0.99) - 1] * 1000,
            times[-1] * 1000)


def acks(label: str, kind: str, url: str, commands: int, concurrency: int,
         before: Path | None = None) -> tuple[float, float]:
    """(a) for one server; prints and returns (p50, p99) in ms."""
    bare = kind.startswith("bare")
    if not bare:
        prepare(url)
    with MockSlack() as slack, server(kind, url, slack, before) as (base, _proc):
        with ThreadPoolExecutor(concurrency) as pool:
            # Warm-up, not timed, the same for every server: the first burst on a fresh
            # process costs every server about 100 ms more (first connections, lazy imports).
            list(pool.map(lambda i: one_command(base, slack, i),
                          range(commands, commands + WARM_UP)))
            times = list(pool.map(lambda i: one_command(base, slack, i), range(commands)))
        if not bare:
            slack.wait_for("response_url", commands + WARM_UP, timeout=600)
    stored = "-"
    if not bare:
        app = build_app(Settings(database_url=url))
        with app.casebook.sessions() as s:
            stored = str(repo.count_rows(s)["events"])
    p50, p99, top = percentiles(times)
    print(f"  {label}: ack p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {top:.1f} ms; "
          f"events stored {stored} (of {commands} + {WARM_UP} warm-up)", flush=True)
    return p50, p99


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its children, in KB."""
    total = 0
    pids = [pid]
    with suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def forged_upload(port: int, size: int, chunked: bool = False) -> str:
    """Send `size` bytes of body under a forged signature (with a Content-Length, or chunked
    without one); what came back (status line) and how much had been sent."""
    ts = int(time.time())
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (f"POST /slack/events HTTP/1.1\r\nHost: x\r\n{length}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: v0={'0' * 64}\r\n\r\n")
    chunk = b"a" * (1024 * 1024)
    if chunked:
        chunk = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        try:
            s.sendall(head.encode())
            while sent < size:
                s.sendall(chunk)
                sent += 1024 * 1024
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # refused and closed before the body was sent: the point
        try:
            answer = s.recv(200).split(b"\r\n")[0].decode() or "(closed)"
        except OSError:
            answer = "(connection reset)"
    return f"{answer} after {min(sent, size) // (1024 * 1024)} MB sent"


def peak_rss(label: str, url: str, before: Path | None = None, chunked: bool = False
             ) -> None:
    """(b): 5 clients, 200 MB each, forged."""
    prepare(url)
    with MockSlack() as slack, server("caseclock", url, slack, before) as (base, proc):
        time.sleep(1.0)
        idle = rss_kb(proc.pid)
        peak = idle
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_kb(proc.pid))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        port = int(base.rsplit(":", 1)[1])
        started = time.monotonic()
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(lambda _: forged_upload(port, 200 * 1024 * 1024, chunked),
                                    range(5)))
        took = time.monotonic() - started
        done.set()
        sampler.join()
    print(f"  {label}: idle RSS {idle / 1024:.0f} MB, peak {peak / 1024:.0f} MB "
          f"(+{(peak - idle) / 1024:.0f} MB) in {took:.1f} s; answers: {answers[0]}", flush=True)


def with_idle_connections(label: str, url: str, before: Path | None = None) -> None:
    """(c): 500 connections held open (half of them mid-request), then one valid command."""
    prepare(url)
    with MockSlack() as slack, server("caseclock", url, slack, before) as (base, _proc):
        port = int(base.rsplit(":", 1)[1])
        held = []
        for i in range(500):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
            held.append(s)
        try:
            took = one_command(base, slack, 0)
            slack.wait_for("response_url", 1, timeout=30)
        finally:
            for s in held:
                s.close()
    print(f"  {label}: a valid command acknowledged in {took * 1000:.1f} ms with 500 "
          "connections held open", flush=True)


def databases(postgres: str | None) -> Iterator[tuple[str, Callable[[], str]]]:
    """(label, make a fresh empty database URL) for SQLite and, if given, PostgreSQL."""
    tmp = tempfile.mkdtemp()
    yield "SQLite", lambda: f"sqlite:///{tmp}/{uuid.uuid4().hex[:8]}.db"
    if postgres:
        admin = create_engine(normalise_url(postgres), isolation_level="AUTOCOMMIT")

        def fresh() -> str:
            name = f"cc_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            return f"{postgres.rsplit('/', 1)[0]}/{name}"

        yield "PostgreSQL", fresh


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--commands", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--postgres", default=os.environ.get("CASECLOCK_TEST_POSTGRES_URL"))
    p.add_argument("--before", type=Path, help="a checkout of caseclock to compare with")
    p.add_argument("--only", default="a,b,c")
    args = p.parse_args()
    parts = set(args.only.split(","))
    dbs = list(databases(args.postgres))
    contenders: list[tuple[str, Path | None]] = [("caseclock", None)]
    if args.before:
        contenders.append(("caseclock before", args.before.resolve()))
    if "a" in parts:
        print(f"(a) {args.commands} signed slash commands, {args.concurrency} at a time")
        anchors = [acks(f"bare Bolt (ack only), uvicorn, {how}", f"bare:{mode}", dbs[0][1](),
                        args.commands, args.concurrency)
                   for mode, how in (("adapter", "Bolt's Starlette adapter as shipped"),
                                     ("threads", "Bolt's dispatch on a thread pool"))]
        bare = min(anchors, key=lambda a: a[1])  # the faster anchor: the stricter target
        for db_label, fresh in dbs:
            for name, before in contenders:
                _p50, p99 = acks(f"{name}, {db_label}", "caseclock", fresh(), args.commands,
                                 args.concurrency, before)
                print(f"    p99 / the faster bare Bolt's p99: {p99 / bare[1]:.2f}x", flush=True)
    if "b" in parts:
        print("(b) 5 clients each sending a 200 MB body with a forged signature")
        for chunked in (False, True):
            for name, before in contenders:
                peak_rss(f"{name}, {'chunked' if chunked else 'Content-Length'}", dbs[0][1](),
                         before, chunked)
    if "c" in parts:
        print("(c) 500 idle connections held open")
        for name, before in contenders:
            with_idle_connections(name, dbs[0][1](), before)


if __name__ == "__main__":
    main()
