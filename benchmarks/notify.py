"""Reminder delivery and digest benchmarks.

    .venv/bin/python benchmarks/notify.py [--messages 2000] [--users 200] [--workers 4]

(a) 2,000 direct messages to 200 users through a mock Slack on localhost that allows one
    message a second per channel and answers 429 (Retry-After: 1) beyond it. Reports the
    throughput as a share of the allowed rate (200 users x 1/s), and messages lost and
    duplicated (each carries its outbox key as metadata).
(b) Building the morning digests of 50 teams with 600 open cases each (3 open deadlines a
    case), from the store.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.directory import Directory  # noqa: E402
from bot.notify_transports import SlackTransport  # noqa: E402
from scheduler.messages import digest_sections, render_digest  # noqa: E402
from scheduler.notify import TeamPeople, digest_plans  # noqa: E402
from scheduler.outbox import Outbox  # noqa: E402
from scheduler.packs import PackLibrary  # noqa: E402
from store.db import open_database  # noqa: E402
from store.models import Case, DeadlineRow, OutboxRow, Staff, Team  # noqa: E402
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
            "transport": "slack", "urgent": False, "payload": {"text": f"prompt {n}"},
            "created_at": now, "next_attempt_at": now, "attempts": 0}
            for n in range(messages)])
    with MockSlack() as slack:
        slack.pace = 1.0  # Slack's one message a second per channel, 429 beyond
        client = WebClient(token="xoxb", base_url=slack.url, timeout=10, retry_handlers=[])
        transport = SlackTransport(client, Directory(sessions))
        outbox = Outbox(sessions, library, {"slack": transport}, lambda _r: "slack")
        started = time.perf_counter()
        done = threading.Event()

        def work() -> None:
            while not done.is_set():
                if not outbox.deliver(lambda: datetime.now(UTC), limit=20):
                    time.sleep(0.01)
                c = outbox.counts()
                if c["sent"] + c["parked"] >= messages:
                    done.set()

        threads = [threading.Thread(target=work) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        elapsed = time.perf_counter() - started
        keys = Counter(slack.delivered_keys())
        rate_limited = slack.rate_limited
    sent = outbox.counts()["sent"]
    lost = messages - len(keys)
    dup = sum(n - 1 for n in keys.values() if n > 1)
    allowed = users * 1.0
    share = messages / elapsed / allowed
    ideal = messages / users - 1  # the last message to a channel can go at t = 9 s
    return (f"(a) {messages} messages to {users} users, {workers} delivery threads: "
            f"{elapsed:.2f} s (ideal {ideal:.0f}-{ideal + 1:.0f} s), "
            f"{messages / elapsed:.1f} msg/s = {share:.0%} of the allowed {allowed:.0f}/s; "
            f"marked sent {sent}, lost {lost}, duplicated {dup}, 429s answered {rate_limited}")


def bench_digests(teams: int, cases: int) -> str:
    tmp = tempfile.mkdtemp()
    _engine, sessions = open_database(f"sqlite:///{tmp}/digest.db")
    library = PackLibrary()
    now = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    with sessions.begin() as s:
        s.execute(insert(Team), [{"name": f"team{t:02d}", "policy": "bexley",
                                  "slack_channel": f"C{t:02d}", "digest_at": "08:30",
                                  "created_at": now} for t in range(teams)])
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
                             "status": "pending", "owner": "worker", "anchor_at": now,
                             "hourly": False, "unit": "working_days", "computed_at": now,
                             "met_at": None, "met_by_event": None, "delay_reason": None,
                             "id": case_id * 3 + k})
        s.execute(insert(DeadlineRow), rows)
    started = time.perf_counter()
    blocks = 0
    with sessions() as s:
        sections = digest_sections(s, now, library)
        for t in range(teams):
            team = TeamPeople(f"team{t:02d}", ("lead",), (), f"C{t:02d}")
            for p in digest_plans(team, now.date()):
                message = render_digest(sections[team.name], p, team, now)
                blocks = max(blocks, len(message["blocks"]))
    elapsed = time.perf_counter() - started
    return (f"(b) digests for {teams} teams x {cases} open cases ({teams * cases * 3:,} open "
            f"deadlines), team digest and manager summary each: {elapsed:.2f} s; largest "
            f"message {blocks} blocks")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--teams", type=int, default=50)
    p.add_argument("--cases", type=int, default=600)
    args = p.parse_args()
    print(bench_delivery(args.messages, args.users, args.workers))
    print(bench_digests(args.teams, args.cases))


if __name__ == "__main__":
    main()
