"""The outbox delivers every reminder exactly once: across faults, crashes and processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.directory import Directory
from bot.transports.slack.sending import SlackTransport
from scheduler.casebook import Casebook
from scheduler.packs import PackLibrary
from scheduler.reminders.address import Address
from scheduler.reminders.content import Content
from scheduler.reminders.delivery import BASE_BACKOFF, MAX_ATTEMPTS
from scheduler.reminders.outbox import Outbox
from store.models import OutboxRow
from tests.builders import at
from tests.conftest import FakeClock
from tests.mock_slack import MockSlack
from tests.test_cli_deadlines import ROOT


@dataclass
class Rig:
    casebook: Casebook
    slack: MockSlack
    clock: FakeClock
    transport: SlackTransport

    def outbox(self, **kw: object) -> Outbox:
        params: dict[str, object] = {"pace": 0.0, "base_backoff": 0.01}
        params.update(kw)
        return Outbox(self.casebook.sessions, self.casebook.library, {"slack": self.transport},
                      transport_for=lambda _r: "slack", **params)  # type: ignore[arg-type]

    def drain(self, outbox: Outbox, rounds: int = 200) -> None:
        """Deliver until nothing is left, moving the clock past every back-off."""
        for _ in range(rounds):
            outbox.deliver(self.clock)
            c = outbox.counts()
            if c["sent"] + c["parked"] + c["withdrawn"] == c["total"]:
                return
            self.clock.now += timedelta(seconds=5)
            time.sleep(0.01)
        raise AssertionError(f"not drained: {outbox.counts()}")


@pytest.fixture
def rig(casebook: Casebook, clock: FakeClock, library: PackLibrary) -> Iterator[Rig]:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    directory.add("jo", "worker", "north", "UJO")
    directory.add("priya", "manager", "north", "UPRIYA")
    directory.add("morgan", "service_manager", None, "UMORGAN")
    directory.add("ada", "admin", None, "UADA")
    clock.now = at(2026, 12, 18, 12)
    for i in range(6):  # six cases referred Fri 18 Dec 2026, allocated to jo
        ref = f"12345{i}"
        casebook.log(ref, "referral_received", at(2026, 12, 18, 10), {"track": "s17"},
                     actor="priya", source="test", team="north")
        casebook.log(ref, "allocated", at(2026, 12, 18, 11), {"worker": "jo"}, actor="priya",
                     source="test")
    with MockSlack() as slack:
        slack.clock = lambda: clock.now.timestamp()  # messages stamped in simulated time
        client = WebClient(token="xoxb-test", base_url=slack.url, timeout=1, retry_handlers=[])
        yield Rig(casebook, slack, clock, SlackTransport(client, directory))


def assert_each_once(rig: Rig, outbox: Outbox) -> None:
    keys = Counter(rig.slack.delivered_keys())
    assert keys and max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    assert len(keys) == outbox.counts()["sent"]


def test_sweeping_twice_creates_each_reminder_once_and_delivery_sends_it_once(rig: Rig) -> None:
    rig.clock.now = at(2026, 12, 30, 9)  # child visits overdue since this morning
    outbox = rig.outbox()
    first = outbox.sweep(rig.clock.now)
    again = outbox.sweep(rig.clock.now)
    # Six overdue visits to jo, the team's digest, the manager's and the service manager's
    # morning summaries.
    assert first.created == 9 and again.created == 0 and again.planned == first.planned
    rig.drain(outbox)
    assert_each_once(rig, outbox)
    channels = Counter(c.body["channel"] for c in rig.slack.of("chat.postMessage"))
    assert channels == {"DUJO": 6, "CNORTH": 1, "DUPRIYA": 1, "DUMORGAN": 1}
    digest = next(c for c in rig.slack.of("chat.postMessage") if c.body["channel"] == "CNORTH")
    assert digest.body["text"].startswith("north, Wed 30 Dec: 6 overdue")
    outbox.sweep(rig.clock.now)
    outbox.deliver(rig.clock)
    assert len(rig.slack.of("chat.postMessage")) == 9


def test_a_met_deadline_withdraws_its_unsent_reminder(rig: Rig) -> None:
    rig.clock.now = at(2026, 12, 29, 9)
    outbox = rig.outbox()
    assert outbox.sweep(rig.clock.now).created == 9  # six due today, three digests
    rig.casebook.log("123450", "child_seen", at(2026, 12, 29, 8), {}, actor="jo", source="t")
    assert outbox.sweep(rig.clock.now).withdrawn == 1
    rig.drain(outbox)
    to_jo = [c for c in rig.slack.of("chat.postMessage") if c.body["channel"] == "DUJO"]
    assert len(to_jo) == 5 and all("123450" not in c.body["text"] for c in to_jo)


class Recording:
    """A transport that notes the (simulated) moment of every send attempt."""

    def __init__(self, inner: SlackTransport, clock: FakeClock) -> None:
        self.inner, self.clock = inner, clock
        self.attempts: list[tuple[datetime, str]] = []

    def send(self, to: Address, content: Content, key: str) -> None:
        self.attempts.append((self.clock.now, key))
        self.inner.send(to, content, key)

    def already_delivered(self, to: Address, key: str, since: datetime) -> bool:
        return self.inner.already_delivered(to, key, since)


def _row(rig: Rig, key: str) -> OutboxRow:
    with rig.casebook.sessions() as s:
        row = s.scalar(select(OutboxRow).where(OutboxRow.key == key))
        assert row is not None
        return row


def test_500s_still_deliver_exactly_once(rig: Rig) -> None:
    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    outbox.sweep(rig.clock.now)
    rig.slack.fail_next("chat.postMessage", 500, times=3)
    rig.drain(outbox)
    assert_each_once(rig, outbox)
    assert outbox.counts()["sent"] == 9


def test_a_429_is_retried_no_earlier_than_retry_after_says(rig: Rig) -> None:
    rig.clock.now = at(2026, 12, 30, 9)
    recording = Recording(rig.transport, rig.clock)
    outbox = Outbox(rig.casebook.sessions, rig.casebook.library, {"slack": recording},
                    transport_for=lambda _r: "slack", pace=0.0, base_backoff=0.01)
    outbox.sweep(rig.clock.now)
    rig.slack.fail_next("chat.postMessage", 429, retry_after=1)
    assert outbox.deliver(rig.clock, limit=1) == {"retry": 1}
    first_at, key = recording.attempts[0]
    assert _row(rig, key).attempts == 0  # Slack pacing us is not a failed attempt
    rig.clock.now += timedelta(milliseconds=900)
    outbox.deliver(rig.clock)  # the others go; the rate-limited one waits its second
    assert [k for _, k in recording.attempts].count(key) == 1
    rig.clock.now += timedelta(milliseconds=100)
    rig.drain(outbox)
    again = [t for t, k in recording.attempts if k == key]
    assert len(again) == 2 and again[1] >= first_at + timedelta(seconds=1)
    assert_each_once(rig, outbox)


def test_a_timeout_is_checked_with_slack_before_sending_again(rig: Rig) -> None:
    # A timeout: Slack got the message but the answer came too late. The retry asks Slack
    # (message metadata) before sending again, so the message is not duplicated.
    rig.clock.now = at(2026, 12, 31, 9)
    outbox = rig.outbox()
    assert outbox.sweep(rig.clock.now).created >= 6
    for who in ("staff:jo", "staff:priya"):  # direct-message channels opened beforehand, so
        rig.transport.channel_of(Address.parse(who))  # the slow call is the message itself
    rig.slack.delay = 1.5  # longer than the client's 1 s timeout
    assert outbox.deliver(rig.clock, limit=1) == {"retry": 1}  # the client gave up
    rig.slack.delay = 0.0
    time.sleep(1.6)  # let the slow answer land in the mock
    arrived = rig.slack.delivered_keys()
    assert len(arrived) == 1  # ...although Slack did get it
    assert (_row(rig, arrived[0]).last_error or "").startswith("ambiguous")
    rig.clock.now += timedelta(seconds=30)
    rig.drain(outbox)
    assert len(rig.slack.of("conversations.history")) >= 1
    assert_each_once(rig, outbox)


def test_a_message_that_keeps_failing_is_parked_and_the_admins_are_told(rig: Rig) -> None:
    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    outbox.sweep(rig.clock.now)
    rig.slack.fail_next("chat.postMessage", 503, times=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS + 2):
        outbox.deliver(rig.clock, limit=1)
        rig.clock.now += timedelta(minutes=10)
    rig.drain(outbox)
    counts = outbox.counts()
    assert counts["parked"] == 1
    alerts = [c for c in rig.slack.of("chat.postMessage") if c.body["channel"] == "DUADA"]
    assert len(alerts) == 1 and "parked" in alerts[0].body["text"]
    assert f"{MAX_ATTEMPTS} attempts" in alerts[0].body["text"]
    assert "Slack answered 503" in alerts[0].body["text"]


def test_retries_ride_out_an_hour_long_slack_outage_before_parking(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random
    monkeypatch.setattr(random, "uniform", lambda low, _high: low)  # the shortest jitter
    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox(base_backoff=BASE_BACKOFF)  # the production schedule
    outbox.sweep(rig.clock.now)
    rig.slack.fail_next("chat.postMessage", 503, times=10 * MAX_ATTEMPTS)
    started = rig.clock.now
    parked: OutboxRow | None = None
    for _ in range(MAX_ATTEMPTS):
        assert outbox.deliver(rig.clock, limit=1)
        with rig.casebook.sessions() as s:
            row = s.scalar(select(OutboxRow).where(OutboxRow.attempts > 0))
        assert row is not None
        if row.parked_at is not None:
            parked = row
            break
        rig.clock.now = row.next_attempt_at
    assert parked is not None and parked.parked_at is not None
    assert parked.attempts == MAX_ATTEMPTS
    assert parked.parked_at - started >= timedelta(hours=1)


def _time_out_one_send(rig: Rig, outbox: Outbox) -> str:
    """Send one reminder to jo that Slack receives but answers too late; its key."""
    rig.transport.channel_of(Address.person("jo"))
    rig.slack.delay = 1.5  # longer than the client's 1 s timeout
    assert outbox.deliver(rig.clock, limit=1) == {"retry": 1}
    rig.slack.delay = 0.0
    time.sleep(1.6)  # let the slow answer land in the mock
    [key] = rig.slack.delivered_keys()
    return key


def test_a_history_the_app_cannot_read_parks_the_row_at_once_with_slacks_own_error(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A send timed out (it may have arrived), and the app cannot read the DM's history:
    # conversations.history answers ok: false, missing_scope. Whether it arrived is unknown:
    # the row is parked straight away and the admins told Slack's error, never resent blind.
    # Once the scope is added, re-queuing it finds it arrived.
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web import SlackResponse

    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    outbox.sweep(rig.clock.now)
    key = _time_out_one_send(rig, outbox)
    client = rig.transport.client
    real_history = client.conversations_history

    def missing_scope(**_kw: object) -> None:
        raise SlackApiError("missing_scope", SlackResponse(  # type: ignore[no-untyped-call]
            client=client, http_verb="POST", api_url="conversations.history", req_args={},
            data={"ok": False, "error": "missing_scope", "needed": "im:history",
                  "provided": "chat:write"}, headers={}, status_code=200))

    monkeypatch.setattr(client, "conversations_history", missing_scope)
    rig.clock.now += timedelta(seconds=30)
    assert outbox.deliver(rig.clock, limit=1) == {"parked": 1}
    row = _row(rig, key)
    assert row.parked_at == rig.clock.now and row.attempts == 2
    assert "missing_scope: add im:history" in (row.last_error or "")
    outbox.deliver(rig.clock)  # the alert to the admin, among the others
    [alert] = [c for c in rig.slack.of("chat.postMessage") if c.body["channel"] == "DUADA"]
    assert "missing_scope: add im:history" in alert.body["text"]
    assert "may already have arrived" in alert.body["text"]
    assert "sends it only if it did not arrive" in alert.body["text"]
    assert rig.slack.delivered_keys().count(key) == 1  # never sent again unchecked
    monkeypatch.setattr(client, "conversations_history", real_history)
    assert outbox.retry_parked(rig.clock.now) == 1
    rig.drain(outbox)
    assert_each_once(rig, outbox)
    assert _row(rig, key).sent_at is not None


def test_a_check_that_slack_cannot_answer_now_is_retried_never_resent_unchecked(
    rig: Rig,
) -> None:
    # A 503 on the history check may pass: the row waits and is checked again (not parked
    # at the first try, not sent again meanwhile), then found to have arrived.
    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    outbox.sweep(rig.clock.now)
    key = _time_out_one_send(rig, outbox)
    rig.slack.fail_next("conversations.history", 503)
    rig.clock.now += timedelta(seconds=30)
    assert outbox.deliver(rig.clock, limit=1) == {"retry": 1}
    row = _row(rig, key)
    assert row.parked_at is None and row.sent_at is None and row.attempts == 2
    assert (row.last_error or "").startswith("ambiguous: could not check")
    rig.drain(outbox)
    assert rig.slack.delivered_keys().count(key) == 1
    assert _row(rig, key).sent_at is not None
    assert_each_once(rig, outbox)


def _busy_hour(rig: Rig, channel: str, messages: int) -> None:
    """People post `messages` messages in `channel` after caseclock's, a second apart."""
    for i in range(messages):
        rig.clock.now += timedelta(seconds=1)
        rig.slack.post_as_person(channel, f"message {i}")


def test_a_post_500_messages_back_is_still_found_before_sending_again(rig: Rig) -> None:
    # The send to jo timed out at 09:00 Wed 30 Dec, but Slack got it; by the retry 500 more
    # messages sit in the channel. Slack answers newest first, 200 a page: the check reads
    # every page back to the send, finds the key on the third page and sends nothing.
    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    outbox.sweep(rig.clock.now)
    key = _time_out_one_send(rig, outbox)
    _busy_hour(rig, "DUJO", 500)
    pages = rig.slack.history_pages
    assert outbox.deliver(rig.clock, limit=1) == {"sent": 1}
    assert rig.slack.history_pages - pages == 3  # 501 messages at 200 a page
    assert rig.slack.delivered_keys().count(key) == 1
    assert _row(rig, key).sent_at == rig.clock.now
    rig.drain(outbox)  # the others still go, each once
    assert_each_once(rig, outbox)
    assert outbox.counts()["sent"] == 9


def test_a_history_too_long_to_read_parks_the_row_and_tells_the_admins(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where the check cannot read the whole window (here capped at 2 pages of 200), whether
    # the message arrived is unknown: parked and the admins told, not sent again blind.
    import bot.transports.slack.sending as transports

    monkeypatch.setattr(transports, "HISTORY_PAGES", 2)
    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    outbox.sweep(rig.clock.now)
    key = _time_out_one_send(rig, outbox)
    _busy_hour(rig, "DUJO", 500)
    assert outbox.deliver(rig.clock, limit=1) == {"parked": 1}
    assert rig.slack.delivered_keys().count(key) == 1
    row = _row(rig, key)
    assert row.parked_at == rig.clock.now and row.sent_at is None
    assert "longer than 400 messages" in (row.last_error or "")
    rig.drain(outbox)
    [alert] = [c for c in rig.slack.of("chat.postMessage") if c.body["channel"] == "DUADA"]
    assert "longer than 400 messages" in alert.body["text"]
    assert f"notification {row.id} (overdue, child_visited, to jo)" in alert.body["text"]
    assert rig.slack.delivered_keys().count(key) == 1


def test_a_history_slack_says_goes_on_without_a_cursor_parks_the_row(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slack answers a page with has_more but no next_cursor: the rest cannot be read, so
    # whether the reminder arrived is unknown: parked, never sent again blind.
    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    outbox.sweep(rig.clock.now)
    key = _time_out_one_send(rig, outbox)
    client = rig.transport.client

    def truncated(**_kw: object) -> dict[str, Any]:
        return {"ok": True, "messages": [{"ts": "1.0", "text": "someone else"}],
                "has_more": True, "response_metadata": {"next_cursor": ""}}

    monkeypatch.setattr(client, "conversations_history", truncated)
    rig.clock.now += timedelta(seconds=30)
    assert outbox.deliver(rig.clock, limit=1) == {"parked": 1}
    row = _row(rig, key)
    assert row.parked_at == rig.clock.now and row.sent_at is None
    assert "has more messages but gave no cursor" in (row.last_error or "")
    assert rig.slack.delivered_keys().count(key) == 1


def test_two_workers_at_once_never_send_the_same_reminder_twice(rig: Rig) -> None:
    rig.clock.now = at(2026, 12, 31, 9)
    a, b = rig.outbox(worker_id="a"), rig.outbox(worker_id="b")
    a.sweep(rig.clock.now)
    b.sweep(rig.clock.now)
    total = a.counts()["total"]
    rig.slack.delay = 0.02  # widen the window in which both could pick the same row

    def work(o: Outbox) -> None:
        for _ in range(40):
            o.deliver(rig.clock, limit=2)

    threads = [threading.Thread(target=work, args=(o,)) for o in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rig.slack.delay = 0.0
    rig.drain(a)
    assert a.counts()["sent"] == total
    assert_each_once(rig, a)


def test_a_digest_job_beside_the_minute_sweep_never_sends_a_row_twice(rig: Rig) -> None:
    # One process, as `caseclock serve` runs it: the minute sweep's delivery threads are
    # still working through a slow Slack (1.5 s a message) when a team's digest job fires
    # and delivers from threads of its own. The first batch outlives its 6 s lease: without
    # per-claim tokens and renewal the digest job takes its rows over, both send them.
    from scheduler.reminders.jobs import run_sweep

    start, started = at(2026, 12, 30, 9), time.monotonic()

    def running() -> datetime:  # simulated time moving at the real pace
        return start + timedelta(seconds=time.monotonic() - started)

    rig.slack.clock = lambda: running().timestamp()
    client = WebClient(token="xoxb-test", base_url=rig.slack.url, timeout=3, retry_handlers=[])
    outbox = Outbox(rig.casebook.sessions, rig.casebook.library,
                    {"slack": SlackTransport(client, Directory(rig.casebook.sessions))},
                    transport_for=lambda _r: "slack", lease=timedelta(seconds=6), pace=0.0)
    rig.slack.delay = 1.5
    rig.slack.slow_methods = {"chat.postMessage", "conversations.open"}
    results: dict[str, dict[str, int]] = {}

    def job(name: str, after: float) -> None:
        time.sleep(after)
        results[name] = run_sweep(outbox, running, budget=40.0)

    jobs = [threading.Thread(target=job, args=("sweep", 0.0)),
            threading.Thread(target=job, args=("digest-north", 7.0))]
    for t in jobs:
        t.start()
    for t in jobs:
        t.join()
    assert outbox.counts()["total"] == 9
    assert sum(r.get("sent", 0) for r in results.values()) == 9
    assert_each_posted_once(rig.slack, outbox)


def test_a_worker_whose_claim_was_taken_over_does_not_send_the_row(rig: Rig) -> None:
    # Worker a claims the reminders at 09:00:00 and stalls past its 2-minute lease; at
    # 09:02:01 worker b takes them over. When a wakes up it must not send what it no longer
    # holds: b sends each reminder, once.
    rig.clock.now = at(2026, 12, 30, 9)
    a, b = rig.outbox(worker_id="a"), rig.outbox(worker_id="b")
    a.sweep(rig.clock.now)
    held = a.delivery.claim(rig.clock.now, limit=50)
    assert len(held) == 9
    rig.clock.now += timedelta(minutes=2, seconds=1)
    assert sum(b.deliver(rig.clock).values()) == 9
    assert [a.delivery.deliver_one(row, rig.clock, recovered) for row, recovered in held] == [
        "lost"] * 9
    assert_each_posted_once(rig.slack, a)
    assert len(rig.slack.of("chat.postMessage")) == 9


def test_a_lease_shorter_than_the_slowest_slack_call_is_refused(rig: Rig) -> None:
    client = WebClient(token="xoxb-test", base_url=rig.slack.url, timeout=10,
                       retry_handlers=[])
    transport = SlackTransport(client, Directory(rig.casebook.sessions))
    with pytest.raises(ValueError, match=r"the claim lease \(8 s\) must be longer than "
                                         r"the slowest transport call \(10 s\)"):
        Outbox(rig.casebook.sessions, rig.casebook.library, {"slack": transport},
               lease=timedelta(seconds=8))
    ok = Outbox(rig.casebook.sessions, rig.casebook.library, {"slack": transport})
    assert ok.lease == timedelta(minutes=2) and ok.delivery.max_call == 10


def _worker(database_url: str, slack: MockSlack, now: datetime, epoch: float,
            *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.outbox_worker", database_url, slack.url,
         now.isoformat(), str(epoch), *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})


def _simulated(slack: MockSlack, now: datetime) -> float:
    """Run the mock on the workers' clock: `now` at the real moment returned (the epoch)."""
    epoch = time.time()
    slack.clock = lambda: now.timestamp() + (time.time() - epoch)
    return epoch


def assert_each_posted_once(slack: MockSlack, outbox: Outbox) -> None:
    """Every row sent, each key posted exactly once: none lost, none duplicated."""
    with outbox.sessions() as s:
        keys = set(s.scalars(select(OutboxRow.key)))
    posted = Counter(slack.delivered_keys())
    assert keys and outbox.counts()["sent"] == len(keys)
    assert {k: n for k, n in posted.items() if n > 1} == {}  # 0 duplicated
    assert sorted(keys - set(posted)) == []  # 0 lost
    assert set(posted) == keys


def test_a_process_killed_mid_delivery_loses_and_duplicates_nothing(
    rig: Rig, database_url: str
) -> None:
    for i in range(6, 30):  # more cases, so the kill lands mid-way
        rig.casebook.log(f"22345{i}", "referral_received", at(2026, 12, 18, 10),
                         {"track": "s17"}, actor="priya", source="test", team="north")
    now = at(2026, 12, 31, 9)
    epoch = _simulated(rig.slack, now)
    rig.slack.delay = 0.05
    first = _worker(database_url, rig.slack, now, epoch)
    deadline = time.monotonic() + 30
    while len(rig.slack.of("chat.postMessage")) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    delivered_at_kill = len(rig.slack.of("chat.postMessage"))
    time.sleep(2.2)  # the dead process's claims expire (2 s lease in the worker)
    rig.slack.delay = 0.0
    second = _worker(database_url, rig.slack, now, epoch)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    outbox = rig.outbox()
    counts = outbox.counts()
    assert 0 < delivered_at_kill < counts["total"]
    assert_each_posted_once(rig.slack, outbox)


def test_two_processes_on_one_database_send_each_reminder_once(
    rig: Rig, database_url: str
) -> None:
    now = at(2026, 12, 31, 9)
    epoch = _simulated(rig.slack, now)
    rig.slack.delay = 0.01
    procs = [_worker(database_url, rig.slack, now, epoch) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert_each_posted_once(rig.slack, rig.outbox())


def test_two_processes_with_a_slow_slack_never_send_a_row_they_no_longer_hold(
    rig: Rig, database_url: str
) -> None:
    # Slack takes 2 s to answer each message (reading history is quick); each process claims
    # up to 20 rows at once under a 10 s lease (its client gives up after 3 s). A batch
    # takes longer than its lease: the process must give back what it has not reached, and
    # re-confirm each claim just before sending, or the other process takes the rows over,
    # finds nothing in the channel yet, and both send them.
    for i in range(6, 8):  # two more cases: 23 reminders in all, more than a claim takes
        rig.casebook.log(f"22345{i}", "referral_received", at(2026, 12, 18, 10),
                         {"track": "s17"}, actor="priya", source="test", team="north")
    now = at(2026, 12, 31, 9)
    epoch = _simulated(rig.slack, now)
    rig.slack.delay = 2.0
    rig.slack.slow_methods = {"chat.postMessage", "conversations.open"}
    options = ("--lease", "10", "--timeout", "3", "--limit", "20", "--max-seconds", "90")
    procs = [_worker(database_url, rig.slack, now, epoch, *options) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    outbox = rig.outbox()
    assert outbox.counts()["total"] == 23
    assert_each_posted_once(rig.slack, outbox)


def test_a_steady_state_sweep_renders_and_writes_nothing(rig: Rig) -> None:
    # Every minute the sweep plans every open deadline; what the outbox already holds must
    # cost a lookup, not a rendered message and an INSERT per row in a write transaction.
    from sqlalchemy import event

    rig.clock.now = at(2026, 12, 30, 9)
    outbox = rig.outbox()
    assert outbox.sweep(rig.clock.now).created == 9
    engine = rig.casebook.sessions.kw["bind"]
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        again = outbox.sweep(rig.clock.now + timedelta(minutes=1))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert again.created == 0 and again.planned == 9
    assert "INSERT" not in statements and "UPDATE" not in statements
    # One query for the open deadlines, not one per case or per reminder.
    assert statements.count("SELECT") < 10, statements


def test_the_outbox_reads_the_stores_rules_directly_not_through_copies() -> None:
    import scheduler.reminders.sweep as outbox
    from store import repo

    assert not hasattr(outbox, "_awaiting_authorisation")
    assert outbox.awaiting_authorisation is repo.awaiting_authorisation
    assert outbox.overseers is repo.overseers  # imported with the module, not in _teams


def test_a_preview_pauses_the_cyclic_collector_and_restores_it_as_it_was() -> None:
    import gc

    from scheduler.reminders.sweep import _no_cyclic_gc

    assert gc.isenabled()
    with _no_cyclic_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _no_cyclic_gc():
            pass
        assert not gc.isenabled()  # an embedding program's choice is left alone
    finally:
        gc.enable()
