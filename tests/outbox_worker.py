"""A caseclock delivery process for the crash and two-process tests: sweeps and delivers
on the given database until every row is done (or the time limit), with a short lease so a
dead peer's claims are taken over quickly.

    python -m tests.outbox_worker DB_URL SLACK_URL NOW EPOCH [--lease S] [--timeout S]
        [--limit N] [--max-seconds S]

Its clock is simulated time that runs at the real pace: NOW at the real moment EPOCH (a Unix
time the test chooses), so every process and the mock Slack agree on what time it is.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.directory import Directory
from bot.transports.slack.sending import SlackTransport
from scheduler.packs import PackLibrary
from scheduler.reminders.outbox import Outbox
from store.db import open_database


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("slack_url")
    p.add_argument("now")
    p.add_argument("epoch", type=float)
    p.add_argument("--lease", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=0.5)  # the Slack client's, per call
    p.add_argument("--limit", type=int, default=5)  # rows a claim takes
    p.add_argument("--max-seconds", type=float, default=120.0)
    args = p.parse_args()
    _engine, sessions = open_database(args.url)
    client = WebClient(token="xoxb-test", base_url=args.slack_url, timeout=args.timeout,
                       retry_handlers=[])
    outbox = Outbox(sessions, PackLibrary(), {"slack": SlackTransport(client,
                                                                     Directory(sessions))},
                    transport_for=lambda _r: "slack", lease=timedelta(seconds=args.lease),
                    pace=0.0, base_backoff=0.05)
    sweep_at = datetime.fromisoformat(args.now)

    def clock() -> datetime:
        return sweep_at + timedelta(seconds=time.time() - args.epoch)

    outbox.sweep(sweep_at)
    stop = time.monotonic() + args.max_seconds
    # Until every row is sent, parked or withdrawn, by this process or the other: a peer
    # may die holding claims, which this one then takes over.
    while time.monotonic() < stop:
        done = outbox.deliver(clock, limit=args.limit)
        if not done:
            c = outbox.counts()
            if c["sent"] + c["parked"] + c["withdrawn"] == c["total"]:
                break
            time.sleep(0.05)
    print("worker finished", flush=True)


if __name__ == "__main__":
    main()
