"""Subscribing to a calendar feed through `caseclock serve` as its own process, as Outlook or
Google Calendar would: the URL `caseclock calendar link` prints, fetched over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from bot.app import build_app
from store.settings import Settings
from tests.mock_slack import MockSlack
from tests.serve_process import serve_process
from tests.test_slack import SECRET

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET, as a calendar app subscribing does it."""
    try:
        with urllib.request.urlopen(url, timeout=15) as resp:
            return int(resp.status), resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


@pytest.fixture(params=["with Slack", "without Slack"])
def env(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """`caseclock serve` running on a store with team north and jo, with Slack configured and
    without it (a council on Microsoft 365 still subscribes to its feeds); its environment."""
    url = f"sqlite:///{tmp_path / 'caseclock.db'}"
    app = build_app(Settings(database_url=url))
    app.casebook.add_team("north", "bexley")
    app.directory.add("jo", "worker", "north", "UJO")
    port = free_port()
    with MockSlack() as slack, (tmp_path / "serve.log").open("w") as log:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CASECLOCK_"))}
        env.update(DATABASE_URL=url, SLACK_API_URL=slack.url, PYTHONPATH=str(ROOT),
                   HOME=str(tmp_path), CASECLOCK_PUBLIC_URL=f"http://127.0.0.1:{port}")
        if request.param == "with Slack":
            env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET)
        with serve_process(port, env, tmp_path, log, tmp_path / "serve.log"):
            # Slack's endpoint is there only when Slack is configured.
            slack_status = post_status(f"http://127.0.0.1:{port}/slack/events")
            assert (slack_status == 404) == (request.param == "without Slack"), slack_status
            started = (tmp_path / "serve.log").read_text()
            assert "calendar feeds at /calendar/" in started, started
            assert ("Slack not configured, so no reminders" in started) == (
                request.param == "without Slack"), started
            yield env


def post_status(url: str) -> int:
    """The status of an empty, unsigned POST."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"),
                                    timeout=15) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def caseclock(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def summaries(body: bytes) -> list[str]:
    cal = Calendar.from_ical(body)
    cal.validate()
    return sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT"))


def test_subscribing_through_the_server(env: dict[str, str], tmp_path: Path) -> None:
    referral = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="minutes")
    caseclock(env, "log", "100501", "referral_received", "track=s17", "--at", referral)
    caseclock(env, "log", "100501", "allocated", "worker=jo")
    url = caseclock(env, "calendar", "link", "jo").splitlines()[0]
    assert url.startswith(env["CASECLOCK_PUBLIC_URL"] + "/calendar/") and url.endswith(".ics")
    status, ctype, body = get(url)
    assert (status, ctype) == (200, "text/calendar; charset=utf-8")
    before = summaries(body)
    assert "100501 Child visited no later than 5 days after the referral" in before
    # Logging the visit takes it out of the feed at the next refresh.
    caseclock(env, "log", "100501", "child_seen", "alone=true")
    after = summaries(get(url)[2])
    assert "100501 Child visited no later than 5 days after the referral" not in after
    assert len(after) == len(before) - 1
    wrong = url[:-5] + ("A" if url[-5] != "A" else "B") + ".ics"
    assert get(wrong)[0] == 404
    caseclock(env, "calendar", "revoke", "jo")
    assert get(url)[0] == 404
