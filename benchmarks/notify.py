"""Reminder delivery and digest benchmarks.

    .venv/bin/python benchmarks/notify.py [--messages 2000] [--users 200] [--workers 4]

(a) 2,000 direct messages to 200 users through a mock Slack on localhost that allows one
    message a second per channel and answers 429 (Retry-After: 1) beyond it, delivered by
    the sweep job's own delivery loop (`scheduler.reminders.jobs.deliver_until`, as
    `run_sweep` calls it). Reports the throughput as a share of the allowed rate (200 users
    x 1/s), and messages lost and duplicated (each carries its outbox key as metadata).
(b) Building the morning digests of 50 teams with 600 open cases each (3 open deadlines a
    case), from the store, as a ratio to the anchor: reading the same open deadlines (and
    their cases' columns) with one SQLAlchemy Core query, best of 3 (target: at most 3x).
(c) The sweep over the same 50 x 600 cases (90,000 open deadlines, 50 managers): the first
    sweep of a morning (every prompt new: planned, composed, inserted) and a steady-state
    sweep a minute later, after delivery (nothing new: planned and checked only); the
    steady sweep as a ratio to the same anchor (target: at most 3x).
(d) Two delivery processes on one database (PostgreSQL with --postgres URL, else SQLite),
    as two `caseclock serve` would run it: 80 prompts to 20 people through a mock Slack that
    takes 8 s to answer each call, production's settings (2-minute lease, 10 s client
    timeout, the job's delivery loop with 4 threads, 20 rows a claim). Counts every post by
    its outbox key: duplicated and lost must both be 0.

    .venv/bin/python benchmarks/notify.py --only slow [--postgres URL] [--slow-seconds 8]

(e) 50 managers' summaries by email: the managers of (c)'s 50 teams x 600 cases, each with
    an email address, their morning summaries made by the sweep and delivered by the sweep
    job's delivery loop through the real EmailTransport (msgraph-sdk, azure-identity) to
    the mock Graph and token endpoint of the tests (tests/mock_graph.py), on localhost, in
    this process. Three faults on the way: a 429 (Retry-After: 1), a 503, and a 504 after
    Exchange took the message (the answer lost: the Sent Items are checked before a retry).
    Counts sent, lost (created, never at the mock), duplicated (one key twice in the Sent
    Items) and the time per summary (EmailTransport.send: rendering the HTML and one
    sendMail).

    .venv/bin/python benchmarks/notify.py --only email [--teams 50] [--cases 600]

(f) 2,000 prompts to 200 people in Teams: the real TeamsTransport (the Teams SDK's API
    client, its token from the mock's token endpoint) and the sweep job's delivery loop, as
    (a) for Slack, to the mock Bot Connector (tests/mock_bot_connector.py) enforcing Teams'
    documented limits: 7 messages in any rolling second to one conversation, 50 a rolling
    second over all of them (the global limit per app per tenant) and 1,800 an hour to one
    conversation; each beyond is answered 429 with Retry-After. The allowed rate is
    therefore the lower of 200 x 7/s and 50/s: 50 a second (TeamsTransport keeps to it).
    The hour: 1,800 an hour to one conversation is Teams' limit and caseclock's (HOURLY_CAP,
    counted per conversation); ten prompts a person never reach it, so it holds nothing back
    here. The mock enforces it all the same, over an hour scaled by --time-factor (default
    20: 180 s), so a transport that over-sent to one conversation would be answered 429.
    Reports: the rate as a share of the allowed rate, the peak taken in a second, sent, lost
    (created, never taken by the mock), duplicated (one outbox key taken twice) and the 429s
    answered by limit.

    .venv/bin/python benchmarks/notify.py --only teams [--time-factor 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text, update  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bot.directory import Directory  # noqa: E402
from bot.transports.email import KEY_PROPERTY, EmailTransport  # noqa: E402
from bot.transports.graph import Graph  # noqa: E402
from bot.transports.slack.blocks import render  # noqa: E402
from bot.transports.slack.sending import SlackTransport  # noqa: E402
from bot.transports.teams.conversations import ConversationRef, Conversations  # noqa: E402
from bot.transports.teams.sending import (  # noqa: E402
    APP_PER_SECOND,
    HOURLY_CAP,
    HourlyCap,
    TeamsTransport,
)
from scheduler.packs import PackLibrary  # noqa: E402
from scheduler.reminders.address import Address  # noqa: E402
from scheduler.reminders.compose import compose_digest, digest_sections  # noqa: E402
from scheduler.reminders.content import Alert, Content, to_json  # noqa: E402
from scheduler.reminders.jobs import deliver_until  # noqa: E402
from scheduler.reminders.outbox import Outbox  # noqa: E402
from scheduler.reminders.planner import TeamPeople, digest_plans  # noqa: E402
from scheduler.reminders.rows import DEADLINE_COLUMNS  # noqa: E402
from store.db import normalise_url, open_database  # noqa: E402
from store.models import Case, DeadlineRow, OutboxRow, Staff, Team  # noqa: E402
from store.repo import open_deadline_clause  # noqa: E402
from store.settings import Settings  # noqa: E402
from tests.mock_bot_connector import MockBotConnector, TeamsLimits  # noqa: E402
from tests.mock_graph import CLIENT_ID, CLIENT_SECRET, SENDER, TENANT, MockGraph  # noqa: E402
from tests.mock_slack import MockSlack  # noqa: E402


def bench_delivery(messages: int, users: int, workers: int) -> str:
    tmp = tempfile.mkdtemp()
    _engine, sessions = open_database(f"sqlite:///{tmp}/notify.db")
    library = PackLibrary()
    now = datetime.now(UTC)
    with sessions.begin() as s:
        s.add(Team(name="t", policy="bexley", digest_at="08:30"))
        s.flush()
        s.execute(insert(Staff), [{"name": f"u{i:03d}", "role": "worker", "team_id": 1,
                                   "slack_user_id": f"U{i:04d}", "active": True,
                                   "created_at": now} for i in range(users)])
        # Round-robin over users, as a morning's prompts would interleave.
        s.execute(insert(OutboxRow), [{
            "key": f"bench:{n}", "stage": "due_today", "case_ref": f"{n:06d}", "rule": "r",
            "seq": 1, "recipient": f"staff:u{n % users:03d}", "team": "t",
            "transport": "slack", "urgent": False, "payload": to_json(Alert(f"prompt {n}")),
            "created_at": now, "next_attempt_at": now, "attempts": 0}
            for n in range(messages)])
    with MockSlack() as slack:
        slack.pace = 1.0  # Slack's one message a second per channel, 429 beyond
        client = WebClient(token="xoxb", base_url=slack.url, timeout=10, retry_handlers=[])
        transport = SlackTransport(client, Directory(sessions))
        outbox = Outbox(sessions, library, {"slack": transport}, lambda _r: "slack")
        started = time.perf_counter()
        deliver_until(outbox, lambda: datetime.now(UTC), budget=300, threads=workers)
        elapsed = time.perf_counter() - started
        keys = Counter(slack.delivered_keys())
        rate_limited = slack.rate_limited
    sent = outbox.counts()["sent"]
    lost = messages - len(keys)
    dup = sum(n - 1 for n in keys.values() if n > 1)
    allowed = users * 1.0
    share = messages / elapsed / allowed
    ideal = messages / users - 1  # the last message to a channel can go at t = 9 s
    return (f"(a) {messages} messages to {users} users, the sweep job's delivery loop with "
            f"{workers} threads: "
            f"{elapsed:.2f} s (ideal {ideal:.0f}-{ideal + 1:.0f} s), "
            f"{messages / elapsed:.1f} msg/s = {share:.0%} of the allowed {allowed:.0f}/s; "
            f"marked sent {sent}, lost {lost}, duplicated {dup}, 429s answered {rate_limited}")


def _cases_db(teams: int, cases: int, now: datetime) -> sessionmaker[Session]:
    """A store with `teams` x `cases` open Bexley cases, three open deadlines each, a manager
    per team and one service manager."""
    tmp = tempfile.mkdtemp()
    _engine, sessions = open_database(f"sqlite:///{tmp}/cases.db")
    with sessions.begin() as s:
        s.execute(insert(Team), [{"name": f"team{t:02d}", "policy": "bexley",
                                  "slack_channel": f"C{t:02d}", "digest_at": "08:30",
                                  "created_at": now} for t in range(teams)])
        s.execute(insert(Staff), [{"name": f"lead{t:02d}", "role": "manager", "team_id": t + 1,
                                   "active": True, "created_at": now} for t in range(teams)]
                  + [{"name": "sm", "role": "service_manager", "team_id": None,
                      "active": True, "created_at": now}])
        s.execute(insert(Case), [{"reference": f"{t:02d}{c:05d}", "team_id": t + 1,
                                  "policy": "bexley", "allocated_worker": f"w{c % 12}",
                                  "created_at": now}
                                 for t in range(teams) for c in range(cases)])
        rows = []
        for case_id in range(1, teams * cases + 1):
            for k, (rule, days) in enumerate((("child_visited", -2), ("assessment_45", 3),
                                              ("assessment_initial_15", 0))):
                rows.append({"case_id": case_id, "rule": rule, "seq": 1, "title": rule,
                             "due": now + timedelta(days=days + (case_id % 5)),
                             "status": "pending", "owner": "worker",
                             "anchor_at": now - timedelta(days=20),
                             "hourly": False, "unit": "working_days", "computed_at": now,
                             "met_at": None, "met_by_event": None, "delay_reason": None,
                             "id": case_id * 3 + k})
        s.execute(insert(DeadlineRow), rows)
    return sessions


def read_open_deadlines(sessions: sessionmaker[Session]) -> float:
    """The anchor: seconds (best of 3) to read every open deadline with its case's columns
    in one SQLAlchemy Core query, the least any digest or sweep must read."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        with sessions() as s:
            s.execute(select(Case.reference, Case.team_id, Case.policy, Case.allocated_worker,
                             Case.imported_at, *DEADLINE_COLUMNS)
                      .select_from(DeadlineRow).join(Case, Case.id == DeadlineRow.case_id)
                      .where(open_deadline_clause())).all()
        best = min(best, time.perf_counter() - started)
    return best


def bench_digests(teams: int, cases: int) -> str:
    library = PackLibrary()
    now = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    sessions = _cases_db(teams, cases, now)
    anchor = read_open_deadlines(sessions)
    started = time.perf_counter()
    blocks = 0
    with sessions() as s:
        sections = digest_sections(s, now, library)
        for t in range(teams):
            team = TeamPeople(f"team{t:02d}", ("lead",), (), has_channel=True)
            for p in digest_plans(team, now.date()):
                # Composed, then rendered as Slack shows it: the whole cost of a digest.
                message = render(compose_digest(sections[team.name], p, team, now))
                blocks = max(blocks, len(message["blocks"]))
    elapsed = time.perf_counter() - started
    return (f"(b) digests for {teams} teams x {cases} open cases ({teams * cases * 3:,} open "
            f"deadlines), team digest and manager summary each: {elapsed:.2f} s; largest "
            f"message {blocks} blocks; anchor (one Core query) {anchor:.2f} s, ratio "
            f"{elapsed / anchor:.1f}x")


def bench_sweep(teams: int, cases: int) -> str:
    now = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)  # a Tuesday morning, digests due
    sessions = _cases_db(teams, cases, now)
    anchor = read_open_deadlines(sessions)
    outbox = Outbox(sessions, PackLibrary(), {}, lambda _r: "slack")
    started = time.perf_counter()
    first = outbox.sweep(now)
    first_s = time.perf_counter() - started
    with sessions.begin() as s:  # as the delivery loop would have done
        s.execute(update(OutboxRow).values(sent_at=now))
    steady = []
    for minute in (1, 2, 3):
        started = time.perf_counter()
        again = outbox.sweep(now + timedelta(minutes=minute))
        steady.append(time.perf_counter() - started)
        assert again.created == 0 and again.planned == first.planned
    fresh = Outbox(sessions, PackLibrary(), {}, lambda _r: "slack")
    started = time.perf_counter()
    fresh.sweep(now + timedelta(minutes=4))  # a new process: no plans to reuse yet
    restart_s = time.perf_counter() - started
    return (f"(c) sweep over {teams} teams x {cases} cases ({teams * cases * 3:,} open "
            f"deadlines): first sweep {first_s:.2f} s ({first.created:,} rows created); "
            f"steady-state sweep {min(steady):.2f}-{max(steady):.2f} s over 3 minutes "
            f"({first.planned:,} planned, 0 new), ratio {min(steady) / anchor:.1f}x to the "
            f"anchor (one Core query, {anchor:.2f} s); first steady sweep of a restarted "
            f"process {restart_s:.2f} s")


def _slow_worker(url: str, slack_url: str, max_seconds: float) -> None:
    """One delivery process of (d): the minute job's delivery loop, tick after tick, until
    every row is done (the other process may hold some for a while)."""
    from scheduler.reminders.jobs import DELIVERY_BUDGET

    _engine, sessions = open_database(url)
    client = WebClient(token="xoxb", base_url=slack_url, timeout=10, retry_handlers=[])
    outbox = Outbox(sessions, PackLibrary(), {"slack": SlackTransport(client,
                                                                     Directory(sessions))},
                    lambda _r: "slack")
    stop = time.monotonic() + max_seconds
    while time.monotonic() < stop:
        deliver_until(outbox, lambda: datetime.now(UTC), budget=DELIVERY_BUDGET)
        c = outbox.counts()
        if c["sent"] + c["parked"] + c["withdrawn"] == c["total"]:
            return
        time.sleep(1.0)  # the next minute's tick, sooner


def _slow_database(postgres: str | None) -> tuple[str, Callable[[], None]]:
    """A fresh database for (d) and how to drop it."""
    if not postgres:
        return f"sqlite:///{tempfile.mkdtemp()}/slow.db", lambda: None
    name = f"cc_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(postgres), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{postgres.rpartition('/')[0]}/{name}", drop


def bench_two_processes_slow_slack(prompts: int, users: int, slow: float,
                                   postgres: str | None) -> str:
    url, drop = _slow_database(postgres)
    try:
        _engine, sessions = open_database(url)
        now = datetime.now(UTC)
        with sessions.begin() as s:
            s.add(Team(name="t", policy="bexley", digest_at="08:30"))
            s.flush()
            s.execute(insert(Staff), [{"name": f"u{i:03d}", "role": "worker", "team_id": 1,
                                       "slack_user_id": f"U{i:04d}", "active": True,
                                       "created_at": now} for i in range(users)])
            s.execute(insert(OutboxRow), [{
                "key": f"slow:{n}", "stage": "due_today", "case_ref": f"{n:06d}",
                "rule": "r", "seq": 1, "recipient": f"staff:u{n % users:03d}", "team": "t",
                "transport": "slack", "urgent": False, "payload": to_json(Alert(f"prompt {n}")),
                "created_at": now, "next_attempt_at": now, "attempts": 0}
                for n in range(prompts)])
        _engine.dispose()
        with MockSlack() as slack:
            slack.delay = slow  # every call: posting, opening a DM, reading history
            started = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, __file__, "--worker", url, slack.url],
                                      cwd=ROOT, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]
            for proc in procs:
                _, err = proc.communicate(timeout=1800)
                if proc.returncode:
                    raise SystemExit(f"a delivery process failed:\n{err}")
            elapsed = time.perf_counter() - started
            keys = Counter(slack.delivered_keys())
            checks = len(slack.of("conversations.history"))
        _engine, sessions = open_database(url)
        with sessions() as s:
            sent = s.scalar(select(func.count()).select_from(OutboxRow)
                            .where(OutboxRow.sent_at.is_not(None)))
        _engine.dispose()
    finally:
        drop()
    dup = sum(n - 1 for n in keys.values() if n > 1)
    lost = prompts - len(keys)
    backend = "PostgreSQL" if postgres else "SQLite"
    return (f"(d) {prompts} prompts to {users} people, two processes on one {backend} "
            f"database, Slack {slow:g} s a call: {sum(keys.values())} posts, duplicated "
            f"{dup}, lost {lost}; marked sent {sent}; {checks} history checks; all done in "
            f"{elapsed:.0f} s")


class TimedEmail(EmailTransport):
    """The email transport, timing each send (rendering and the sendMail call)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.seconds: list[float] = []

    def send(self, to: Address, content: Content, key: str) -> None:
        started = time.perf_counter()
        try:
            super().send(to, content, key)
        finally:
            self.seconds.append(time.perf_counter() - started)


def bench_email_summaries(teams: int, cases: int, workers: int) -> str:
    now = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)  # a Tuesday morning, summaries due
    sessions = _cases_db(teams, cases, now)
    with sessions.begin() as s:
        s.execute(update(Staff).where(Staff.role == "manager")
                  .values(email=func.lower(Staff.name) + "@council.gov.uk"))
    directory = Directory(sessions)
    saved_ca = os.environ.get("REQUESTS_CA_BUNDLE")
    with MockGraph() as graph:
        # azure-identity's requests transport trusts the mock authority's CA through this.
        os.environ["REQUESTS_CA_BUNDLE"] = str(graph.ca_file)
        settings = Settings(
            graph_tenant_id=TENANT, graph_client_id=CLIENT_ID,
            graph_client_secret=CLIENT_SECRET, graph_sender=SENDER,
            graph_api_url=graph.api_url, graph_authority=graph.authority)
        transport = TimedEmail(Graph(settings), SENDER, directory)
        try:
            outbox = Outbox(sessions, PackLibrary(), {"email": transport}, lambda _r: "email")
            outbox.sweep(now)
            with sessions.begin() as s:  # only the managers' summaries are left to send
                s.execute(update(OutboxRow).where(OutboxRow.rule != "manager_summary")
                          .values(sent_at=now))
                keys = set(s.scalars(select(OutboxRow.key).where(
                    OutboxRow.rule == "manager_summary")))
            graph.fail_next("/sendMail", 429, retry_after=1)
            graph.fail_next("/sendMail", 503)
            graph.fail_next("/sendMail", 504, after_delivery=True)
            started = time.perf_counter()
            deliver_until(outbox, lambda: datetime.now(UTC), budget=120, threads=workers)
            elapsed = time.perf_counter() - started
        finally:
            transport.graph.close()
            if saved_ca is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = saved_ca
        at_mock = Counter(m.key_property(KEY_PROPERTY) for m in graph.sent())
        largest = max(len(m.message["body"]["content"]) for m in graph.sent())
        posts, checks = len(graph.of("/sendMail")), len(graph.of("/messages", "GET"))
        tokens = len(graph.token_requests)
    with sessions() as s:
        sent = s.scalar(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.rule == "manager_summary", OutboxRow.sent_at.is_not(None)))
    lost = len(keys - set(at_mock))
    dup = sum(n - 1 for n in at_mock.values() if n > 1)
    times = sorted(transport.seconds)
    return (f"(e) {len(keys)} managers' summaries by email ({teams} teams x {cases} cases), "
            f"the sweep job's delivery loop with {workers} threads, EmailTransport to the mock "
            f"Graph (faults: 429 Retry-After 1, 503, 504 after delivery): marked sent "
            f"{sent}, lost {lost}, duplicated {dup}; {posts} sendMail calls, {checks} Sent "
            f"Items checks, {tokens} token request(s); per summary (EmailTransport.send) "
            f"median {statistics.median(times) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms; "
            f"all delivered in {elapsed:.1f} s (the 5 s back-off after the 503 included); "
            f"largest email {largest / 1024:.0f} KB of HTML")


TEAMS_APP_ID = "77777777-2222-3333-4444-555555555555"


def bench_teams(messages: int, users: int, workers: int, time_factor: float) -> str:
    tmp = tempfile.mkdtemp()
    _engine, sessions = open_database(f"sqlite:///{tmp}/teams.db")
    now = datetime.now(UTC)
    hour = 3600.0 / time_factor
    limits = TeamsLimits(per_conversation=7, conversation_window=1.0,
                         app_per_second=APP_PER_SECOND,
                         hourly=HOURLY_CAP, hour=hour, hourly_per_conversation=True)
    with MockBotConnector(TEAMS_APP_ID, limits=limits) as mock:
        with sessions.begin() as s:
            s.add(Team(name="t", policy="bexley", digest_at="08:30"))
            s.flush()
            s.execute(insert(Staff), [{"name": f"u{i:03d}", "role": "worker", "team_id": 1,
                                       "msteams_user_id": f"aad-{i:03d}", "active": True,
                                       "created_at": now} for i in range(users)])
            s.execute(insert(OutboxRow), [{
                "key": f"teams:{n}", "stage": "due_today", "case_ref": f"{n:06d}",
                "rule": "r", "seq": 1, "recipient": f"staff:u{n % users:03d}", "team": "t",
                "transport": "teams", "urgent": False,
                "payload": to_json(Alert(f"prompt {n}")), "created_at": now,
                "next_attempt_at": now, "attempts": 0} for n in range(messages)])
        conversations = Conversations(sessions)
        for i in range(users):  # each person opened the app once: their chat is known
            conversations.remember(ConversationRef(
                f"a:{i:03d}", "personal", mock.service_url, f"28:{TEAMS_APP_ID}", "tenant",
                aad_object_id=f"aad-{i:03d}"))
        settings = Settings(teams_app_id=TEAMS_APP_ID, teams_app_password="secret",
                            teams_tenant_id="tenant",
                            teams_openid_metadata_url=mock.metadata_url,
                            teams_login_url=mock.url)
        transport = TeamsTransport(settings, conversations, Directory(sessions),
                                   cap=HourlyCap(HOURLY_CAP, window=hour))
        outbox = Outbox(sessions, PackLibrary(), {"teams": transport}, lambda _r: "teams")
        started = time.monotonic()
        deliver_until(outbox, lambda: datetime.now(UTC), budget=hour * 2 + 120,
                      threads=workers)
        elapsed = time.monotonic() - started
        posted = mock.activities()
        refused = dict(mock.limiter.refused) if mock.limiter else {}
        peak = mock.limiter.peak_app_per_second if mock.limiter else 0
    keys = Counter(str(p.body.get("channelData", {}).get("caseclockKey")) for p in posted)
    arrivals = sorted(p.at for p in posted)
    sent = outbox.counts()["sent"]
    lost = messages - len(keys)
    dup = sum(n - 1 for n in keys.values() if n > 1)
    first = len(arrivals)
    first_s = arrivals[-1] - started
    allowed = min(users * 7.0, float(APP_PER_SECOND))
    share = first / first_s / allowed
    late = ""
    return (f"(f) {messages} prompts to {users} people in Teams, TeamsTransport and the "
            f"delivery loop with {workers} threads, the hour scaled by 1/{time_factor:g} "
            f"({hour:g} s): {first} in {first_s:.2f} s = {first / first_s:.1f} "
            f"msg/s = {share:.0%} of the allowed {allowed:.0f}/s ({users} x 7/s, capped at "
            f"the app's {APP_PER_SECOND}/s); peak "
            f"{peak} taken in a second{late}; marked sent {sent}, lost {lost}, duplicated "
            f"{dup}; 429s answered {sum(refused.values())}"
            f"{' (' + ', '.join(f'{k} {n}' for k, n in refused.items()) + ')' if refused else ''}"
            f"; all done in "
            f"{elapsed:.1f} s")


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:  # one delivery process of (d)
        _slow_worker(sys.argv[2], sys.argv[3], max_seconds=1200)
        return
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--teams", type=int, default=50)
    p.add_argument("--cases", type=int, default=600)
    p.add_argument("--prompts", type=int, default=80)
    p.add_argument("--slow-seconds", type=float, default=8.0)
    p.add_argument("--postgres", help="admin URL of a PostgreSQL server for (d)")
    p.add_argument("--time-factor", type=float, default=20.0,
                   help="(f): the hour scaled down by this factor (180 s by default)")
    p.add_argument("--only", choices=("delivery", "digests", "sweep", "slow", "email",
                                      "teams"))
    args = p.parse_args()
    if args.only in (None, "delivery"):
        print(bench_delivery(args.messages, args.users, args.workers))
    if args.only in (None, "digests"):
        print(bench_digests(args.teams, args.cases))
    if args.only in (None, "sweep"):
        print(bench_sweep(args.teams, args.cases))
    if args.only in (None, "slow"):
        print(bench_two_processes_slow_slack(args.prompts, 20, args.slow_seconds,
                                             args.postgres))
    if args.only in (None, "email"):
        print(bench_email_summaries(args.teams, args.cases, args.workers))
    if args.only in (None, "teams"):
        print(bench_teams(args.messages, args.users, args.workers, args.time_factor))


if __name__ == "__main__":
    main()
