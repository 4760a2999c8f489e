"""APScheduler only wakes the work: the jobs, their ids and their settings."""

from __future__ import annotations

import io

from scheduler.casebook import Casebook
from scheduler.reminders.jobs import build_scheduler, run_sweep
from scheduler.reminders.outbox import Outbox
from tests.builders import at
from tests.conftest import FakeClock


def test_jobs_have_ids_london_time_coalescing_and_a_grace_time(casebook: Casebook,
                                                               clock: FakeClock) -> None:
    outbox = Outbox(casebook.sessions, casebook.library)
    sched = build_scheduler(outbox, casebook, clock, {"north": "08:30", "south": "09:15"})
    sched.start(paused=True)  # defaults are applied on start; paused, nothing runs
    try:
        jobs = {j.id: j for j in sched.get_jobs()}
    finally:
        sched.shutdown(wait=False)
    assert set(jobs) == {"sweep", "digest-north", "digest-south", "recompute"}
    for job in jobs.values():
        assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == 120
        assert str(job.trigger.timezone) == "Europe/London"
    fields = {f.name: str(f) for f in jobs["digest-south"].trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon-fri", "9", "15")
    assert jobs["sweep"].trigger.interval.total_seconds() == 60


def test_a_sweep_job_creates_and_delivers_through_the_console(casebook: Casebook,
                                                              clock: FakeClock) -> None:
    from bot.directory import Directory
    from bot.transports.console import ConsoleTransport

    casebook.add_team("north", "bexley")
    Directory(casebook.sessions).add("jo", "worker", "north")
    clock.now = at(2026, 11, 2, 12)
    casebook.log("123456", "referral_received", at(2026, 11, 2, 10), {"track": "s17"},
                 actor="jo", source="test", team="north")
    casebook.log("123456", "allocated", at(2026, 11, 2, 11), {"worker": "jo"}, actor="jo",
                 source="test")
    out = io.StringIO()
    outbox = Outbox(casebook.sessions, casebook.library, {"console": ConsoleTransport(out)})
    clock.now = at(2026, 11, 10, 9)
    run_sweep(outbox, clock)
    run_sweep(outbox, clock)  # again: nothing twice
    text = out.getvalue()
    assert text.count("[caseclock -> jo] Overdue: case 123456, Child visited") == 1


def test_the_sweep_job_keeps_delivering_while_rows_are_due(casebook: Casebook,
                                                           clock: FakeClock) -> None:
    # Slack answers the first prompt 429 (Retry-After: 1): the job waits the second and sends
    # it in the same tick, rather than leaving it for the next minute's.
    from datetime import UTC, datetime

    from slack_sdk import WebClient

    from bot.directory import Directory
    from bot.transports.slack.sending import SlackTransport
    from tests.mock_slack import MockSlack

    casebook.add_team("north", "bexley")
    directory = Directory(casebook.sessions)
    directory.add("jo", "worker", "north", "UJO")
    clock.now = at(2026, 11, 2, 12)
    casebook.log("123456", "referral_received", at(2026, 11, 2, 10), {"track": "s17"},
                 actor="jo", source="test", team="north")
    casebook.log("123456", "allocated", at(2026, 11, 2, 11), {"worker": "jo"}, actor="jo",
                 source="test")
    start, started = at(2026, 11, 10, 9), datetime.now(UTC)

    def running() -> datetime:  # simulated time moving at the real pace
        return start + (datetime.now(UTC) - started)

    with MockSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.url, timeout=5, retry_handlers=[])
        outbox = Outbox(casebook.sessions, casebook.library,
                        {"slack": SlackTransport(client, directory)}, lambda _r: "slack")
        slack.fail_next("chat.postMessage", 429, retry_after=1)
        done = run_sweep(outbox, running, budget=10)
        texts = [c.body["text"] for c in slack.of("chat.postMessage")]
    assert done == {"retry": 1, "sent": 1}
    assert len(texts) == 1 and texts[0].startswith("Overdue: case 123456, Child visited")
