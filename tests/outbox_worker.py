"""A caseclock delivery process for the crash and two-process tests: sweeps and delivers
on the given database until nothing is left, with a short lease so a dead peer's claims
are taken over quickly."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot.directory import Directory
from bot.notify_transports import SlackTransport
from scheduler.outbox import Outbox
from scheduler.packs import PackLibrary
from store.db import open_database


def main() -> None:
    url, slack_url, now_iso = sys.argv[1], sys.argv[2], sys.argv[3]
    _engine, sessions = open_database(url)
    client = WebClient(token="xoxb-test", base_url=slack_url, timeout=5, retry_handlers=[])
    outbox = Outbox(sessions, PackLibrary(), {"slack": SlackTransport(client,
                                                                     Directory(sessions))},
                    transport_for=lambda _r: "slack", lease=timedelta(seconds=1), pace=0.0,
                    base_backoff=0.05)
    sweep_at = datetime.fromisoformat(now_iso)
    started = datetime.now(UTC)

    def clock() -> datetime:  # simulated time that runs at the real pace from `now`
        return sweep_at + (datetime.now(UTC) - started)

    outbox.sweep(sweep_at)
    idle = 0
    while idle < 30:
        done = outbox.deliver(clock, limit=5)
        idle = 0 if done else idle + 1
        time.sleep(0.05)
    print("worker finished", flush=True)


if __name__ == "__main__":
    main()
