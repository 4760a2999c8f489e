# ruff: noqa: F811  (`rig` is the Slack fixture imported from test_slack, used by name)
"""What people do with reminders: buttons in Slack, checklists, digests within Slack's limits,
and the dry-run preview managers and checks use."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.transports.plain import plain
from bot.transports.slack.blocks import render
from scheduler.casebook import Casebook
from scheduler.packs import PackLibrary
from scheduler.reminders.content import from_json
from scheduler.reminders.outbox import Outbox
from store.models import ChecklistTick, OutboxRow
from tests.builders import at
from tests.conftest import FakeClock
from tests.test_cli_deadlines import caseclock
from tests.test_slack import SlackRig, rig  # noqa: F401  (the Slack fixture)


def click(rig: SlackRig, user: str, action: dict[str, Any], channel: str = "DJO") -> None:
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T1"},
               "trigger_id": f"trig-{time.time_ns()}", "api_app_id": "A1",
               "response_url": rig.slack.response_url(f"act{time.time_ns()}"),
               "container": {"type": "message", "channel_id": channel},
               "channel": {"id": channel}, "actions": [action]}
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 200


@pytest.fixture
def prompted(rig: SlackRig, clock: FakeClock) -> Iterator[tuple[SlackRig, Outbox]]:
    # A referral on Mon 2 Nov 2026 with a North-Yorkshire-style checklist: Bexley has the
    # assessment-review checklist on its 15-day rule.
    rig.casebook.log("123456", "referral_received", at(2026, 11, 2, 10), {"track": "s17"},
                     actor="priya", source="test", team="north")
    rig.casebook.log("123456", "allocated", at(2026, 11, 2, 11), {"worker": "jo"},
                     actor="priya", source="test")
    clock.now = at(2026, 11, 23, 9)  # the 15 days fall due today
    outbox = Outbox(rig.casebook.sessions, rig.casebook.library, {}, lambda _r: "slack")
    outbox.sweep(clock.now)
    with rig.casebook.sessions.begin() as s:  # as if delivered
        for row in s.scalars(select(OutboxRow)):
            row.sent_at = clock.now
    yield rig, outbox


def _row(slack_rig: SlackRig, rule: str, recipient: str) -> OutboxRow:
    with slack_rig.casebook.sessions() as s:
        row = s.scalar(select(OutboxRow).where(OutboxRow.rule == rule,
                                               OutboxRow.recipient == recipient))
        assert row is not None
        return row


def test_a_due_today_prompt_carries_title_date_checklist_and_buttons(
    prompted: tuple[SlackRig, Outbox]
) -> None:
    rig, _ = prompted
    row = _row(rig, "assessment_initial_15", "staff:jo")
    text = plain(from_json(row.payload))
    assert text.startswith("Due today: case 123456, Assessment completed within the first 15")
    assert "Mon 23 Nov, day 15 of 15" in text
    assert "Checklist (Regular review of the assessment): 0 of 8 done." in text
    blocks = render(from_json(row.payload))["blocks"]
    buttons = [e["action_id"] for b in blocks if b.get("block_id") == "buttons"
               for e in b["elements"]]
    assert buttons == ["caseclock_log_it", "caseclock_reason", "caseclock_snooze",
                       "caseclock_quote"]
    manager = _row(rig, "assessment_initial_15", "staff:priya")
    assert "Decide today whether to extend" in plain(from_json(manager.payload))


def test_ticks_are_stored_and_shown_in_the_next_prompt(prompted: tuple[SlackRig, Outbox],
                                                        clock: FakeClock) -> None:
    rig, outbox = prompted
    value = "123456|assessment_initial_15|1|due_today"
    click(rig, "UJO", {"action_id": "caseclock_tick", "block_id": "checklist",
                       "type": "checkboxes", "selected_options": [
                           {"value": f"{value}|0"}, {"value": f"{value}|2"}]})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with rig.casebook.sessions() as s:
            items = sorted(t.item for t in s.scalars(select(ChecklistTick)))
        if items:
            break
        time.sleep(0.05)
    assert items == [0, 2]
    clock.now = at(2026, 11, 24, 9)  # overdue now: the next prompt shows the progress
    planned = {p.key: plain(c) for p, c in outbox.plan(clock.now)}
    overdue = next(m for k, m in planned.items()
                   if ":assessment_initial_15:" in k and ":overdue:staff:jo" in k)
    assert "2 of 8 done" in overdue and "[x] Child seen alone" in overdue


def _ticks(rig: SlackRig) -> list[int]:
    with rig.casebook.sessions() as s:
        return sorted(t.item for t in s.scalars(select(ChecklistTick)))


def test_unticking_the_last_item_is_stored(prompted: tuple[SlackRig, Outbox]) -> None:
    rig, _ = prompted
    value = "123456|assessment_initial_15|1|due_today"
    row = _row(rig, "assessment_initial_15", "staff:jo")
    [block_id] = [b["block_id"] for b in render(from_json(row.payload))["blocks"]
                  if b.get("block_id", "").startswith("checklist")]
    click(rig, "UJO", {"action_id": "caseclock_tick", "block_id": block_id,
                       "type": "checkboxes", "selected_options": [{"value": f"{value}|3"}]})
    deadline = time.monotonic() + 5
    while _ticks(rig) != [3] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ticks(rig) == [3]
    # Slack sends the box's block id and no options at all when the last tick is removed.
    click(rig, "UJO", {"action_id": "caseclock_tick", "block_id": block_id,
                       "type": "checkboxes", "selected_options": []})
    deadline = time.monotonic() + 5
    while _ticks(rig) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ticks(rig) == []


def _snoozed(rig: SlackRig) -> list[OutboxRow]:
    with rig.casebook.sessions() as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.key.like("%:snoozed:%"))))


def _referred_and_prompted(rig: SlackRig, clock: FakeClock, worker: str | None) -> Outbox:
    """Case 123456 referred Mon 2 Nov 2026 (15 working days: Mon 23 Nov); on Thu 19 Nov the
    "coming up" prompt of the 15 days has been delivered."""
    rig.casebook.log("123456", "referral_received", at(2026, 11, 2, 10), {"track": "s17"},
                     actor="priya", source="test", team="north")
    if worker:
        rig.casebook.log("123456", "allocated", at(2026, 11, 2, 11), {"worker": worker},
                         actor="priya", source="test")
    clock.now = at(2026, 11, 19, 9)
    outbox = Outbox(rig.casebook.sessions, rig.casebook.library, {}, lambda _r: "slack")
    outbox.sweep(clock.now)
    with rig.casebook.sessions.begin() as s:  # as if delivered
        for row in s.scalars(select(OutboxRow)):
            row.sent_at = clock.now
    return outbox


def test_a_snoozed_prompt_comes_back_next_morning_with_the_checklist_as_it_is_then(
    rig: SlackRig, clock: FakeClock
) -> None:
    outbox = _referred_and_prompted(rig, clock, "jo")
    clock.now = at(2026, 11, 19, 10)
    click(rig, "UJO", {"action_id": "caseclock_snooze", "type": "button",
                       "value": "123456|assessment_initial_15|1|upcoming"})
    reply = rig.slack.wait_for("response_url")[-1]
    assert "Snoozed: it comes back Fri 20 Nov at 08:30" in reply.body["text"]
    [copy] = _snoozed(rig)
    assert copy.recipient == "staff:jo" and copy.next_attempt_at == at(2026, 11, 20, 8, 30)
    from scheduler.reminders.actions import set_ticks
    set_ticks(rig.casebook.sessions, "123456", "assessment_initial_15", 1, [0, 2], "jo")
    outbox.sweep(at(2026, 11, 20, 8, 29))
    [copy] = _snoozed(rig)
    text = plain(from_json(copy.payload))
    assert text.startswith("Coming up: case 123456, Assessment completed within the first 15")
    assert "Mon 23 Nov, day 14 of 15" in text and "2 of 8 done" in text
    assert "[x] Child seen alone" in text


def test_a_snoozed_prompt_overtaken_by_a_later_stage_is_dropped(
    prompted: tuple[SlackRig, Outbox], clock: FakeClock
) -> None:
    rig, outbox = prompted
    clock.now = at(2026, 11, 23, 10)  # due today; snoozed to Tuesday, when it is overdue
    click(rig, "UJO", {"action_id": "caseclock_snooze", "type": "button",
                       "value": "123456|assessment_initial_15|1|due_today"})
    rig.slack.wait_for("response_url")
    [copy] = _snoozed(rig)
    assert copy.recipient == "staff:jo"  # jo's own: priya's copy is hers to snooze
    result = outbox.sweep(at(2026, 11, 24, 8, 30))
    assert result.withdrawn >= 1
    with rig.casebook.sessions() as s:
        to_jo = [(r.stage, r.key) for r in s.scalars(select(OutboxRow).where(
            OutboxRow.recipient == "staff:jo", OutboxRow.rule == "assessment_initial_15",
            OutboxRow.sent_at.is_(None), OutboxRow.withdrawn_at.is_(None)))]
    assert [stage for stage, _ in to_jo] == ["overdue"]  # not a stale "due today" as well


def test_a_snooze_in_the_team_channel_is_the_channels_alone(
    rig: SlackRig, clock: FakeClock
) -> None:
    # Nobody allocated: the "coming up" prompt went to the team's channel, where the manager
    # snoozes it. When jo is allocated that afternoon, jo still gets the prompt.
    outbox = _referred_and_prompted(rig, clock, None)
    # priya also had the same stage in a direct message (as a manager may): the channel's
    # snooze must leave it alone.
    with rig.casebook.sessions.begin() as s:
        channel_row = s.scalar(select(OutboxRow).where(
            OutboxRow.recipient == "team:north", OutboxRow.rule == "assessment_initial_15"))
        assert channel_row is not None
        s.add(OutboxRow(key=channel_row.key.replace("team:north", "staff:priya"),
                        stage="upcoming", case_ref="123456", rule="assessment_initial_15",
                        seq=1, recipient="staff:priya", team="north", transport="slack",
                        urgent=False, payload=channel_row.payload, created_at=clock.now,
                        next_attempt_at=clock.now, attempts=1, sent_at=clock.now))
    clock.now = at(2026, 11, 19, 10)
    click(rig, "UPRIYA", {"action_id": "caseclock_snooze", "type": "button",
                          "value": "123456|assessment_initial_15|1|upcoming"}, channel="CNORTH")
    rig.slack.wait_for("response_url")
    assert [r.recipient for r in _snoozed(rig)] == ["team:north"]
    clock.now = at(2026, 11, 19, 14, 1)
    rig.casebook.log("123456", "allocated", at(2026, 11, 19, 14), {"worker": "jo"},
                     actor="priya", source="test")
    outbox.sweep(at(2026, 11, 19, 14, 1))
    with rig.casebook.sessions() as s:
        stages = {r.stage for r in s.scalars(select(OutboxRow).where(
            OutboxRow.recipient == "staff:jo", OutboxRow.rule == "assessment_initial_15"))}
    assert stages == {"upcoming"}


def test_escalations_cannot_be_snoozed(prompted: tuple[SlackRig, Outbox]) -> None:
    rig, _ = prompted
    click(rig, "UPRIYA", {"action_id": "caseclock_snooze", "type": "button",
                          "value": "123456|allocation|1|escalated"})
    reply = rig.slack.wait_for("response_url")[-1]
    assert "cannot be snoozed" in reply.body["text"]


def test_record_a_reason_stores_a_delay_reason(prompted: tuple[SlackRig, Outbox]) -> None:
    rig, _ = prompted
    payload = {"type": "view_submission", "user": {"id": "UJO"}, "team": {"id": "T1"},
               "view": {"id": "V9", "type": "modal", "callback_id": "caseclock_reason_modal",
                        "private_metadata": "123456|assessment_initial_15|1|due_today",
                        "state": {"values": {"reason": {"v": {
                            "value": "awaiting health information"}}}}}}
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 200
    # The reason is stored after the acknowledgement (a lazy listener): wait for it.
    deadline = time.monotonic() + 10
    reason = None
    while reason is None and time.monotonic() < deadline:
        d = {x.rule: x for x in rig.casebook.deadlines("123456")}["assessment_initial_15"]
        reason = d.delay_reason
        time.sleep(0.05)
    assert reason == "awaiting health information"


def test_the_procedure_sentence_on_request(prompted: tuple[SlackRig, Outbox]) -> None:
    rig, _ = prompted
    click(rig, "UJO", {"action_id": "caseclock_quote", "type": "button",
                       "value": "123456|assessment_initial_15|1|due_today"})
    reply = rig.slack.wait_for("response_url")[-1]
    assert "All assessments are initially allocated to be completed within 15 days" in (
        reply.body["text"])


def test_a_big_teams_digest_stays_within_50_blocks(casebook: Casebook, clock: FakeClock) -> None:
    casebook.add_team("big", "bexley", slack_channel="CBIG")
    from bot.directory import Directory
    directory = Directory(casebook.sessions)
    directory.add("lead", "manager", "big", "ULEAD")
    clock.now = at(2026, 11, 2, 12)
    for i in range(60):
        worker = f"w{i:02d}"
        directory.add(worker, "worker", "big", None)
        casebook.log(f"9{i:05d}", "referral_received", at(2026, 11, 2, 9), {"track": "s17"},
                     actor="lead", source="test", team="big")
        casebook.log(f"9{i:05d}", "allocated", at(2026, 11, 2, 10), {"worker": worker},
                     actor="lead", source="test")
    clock.now = at(2026, 11, 10, 9)
    outbox = Outbox(casebook.sessions, casebook.library, {}, lambda _r: "slack")
    digest = next(render(c) for p, c in outbox.plan(clock.now) if p.rule == "digest")
    assert len(digest["blocks"]) <= 50
    assert digest["text"].startswith("big, Tue 10 Nov: 60 overdue, ")
    # 47 workers fit beside the headline, the section's header and the closing line; the
    # 13 others are counted there, exactly.
    assert len(digest["blocks"]) == 50
    assert digest["blocks"][-1]["elements"][0]["text"] == (
        "and 13 more not shown here (13 overdue), see `/due team`")
    shown = sum(b["text"]["text"].count("Child visited") for b in digest["blocks"]
                if b["type"] == "section")
    assert shown + 13 == 60


def test_notify_dry_run_json_is_the_preview_contract(tmp_path: Path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "HOME": str(tmp_path)}
    for args in (("team", "add", "north", "--policy", "bexley", "--slack-channel", "CNORTH"),
                 ("staff", "add", "jo", "--team", "north", "--role", "worker"),
                 ("staff", "add", "priya", "--team", "north", "--role", "manager"),
                 ("log", "123456", "referral_received", "track=s17", "--at",
                  "2026-11-02T10:00"),
                 ("log", "123456", "allocated", "worker=jo", "--at", "2026-11-02T11:00")):
        assert caseclock(*args, env=env, cwd=tmp_path).returncode == 0
    out = caseclock("notify", "--now", "2026-11-10T09:00", "--dry-run", "--json", env=env,
                    cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    got = {(r["stage"], r["rule"], r["case"], r["recipient"], r["transport"]) for r in rows}
    assert ("overdue", "child_visited", "123456", "jo", "console") in got
    assert not any(r[0] == "escalated" for r in got)  # overdue since this morning only
    assert ("digest", "digest", "", "north", "console") in got  # the team (its channel)
    next_day = caseclock("notify", "--now", "2026-11-11T09:00", "--dry-run", "--json",
                         env=env, cwd=tmp_path)
    assert ("escalated", "child_visited", "123456", "priya", "console") in {
        (r["stage"], r["rule"], r["case"], r["recipient"], r["transport"])
        for r in json.loads(next_day.stdout)}
    # A preview changes nothing: running it again gives the same list.
    again = caseclock("notify", "--now", "2026-11-10T09:00", "--dry-run", "--json", env=env,
                      cwd=tmp_path)
    assert json.loads(again.stdout) == rows


def test_notify_retry_parked_queues_parked_reminders_again(
        tmp_path: Path, database_url: str, library: PackLibrary) -> None:
    # An admin told "parked: missing_scope" fixes the app, then asks for the rows again.
    from store.db import open_database

    env = {"DATABASE_URL": database_url, "HOME": str(tmp_path)}
    for args in (("team", "add", "north", "--policy", "bexley", "--slack-channel", "CNORTH"),
                 ("staff", "add", "jo", "--team", "north", "--role", "worker"),
                 ("log", "123456", "referral_received", "track=s17", "--at",
                  "2026-11-02T10:00"),
                 ("log", "123456", "allocated", "worker=jo", "--at", "2026-11-02T11:00")):
        assert caseclock(*args, env=env, cwd=tmp_path).returncode == 0
    _engine, sessions = open_database(database_url)
    outbox = Outbox(sessions, library, {}, lambda _r: "slack")
    outbox.sweep(at(2026, 11, 10, 9))
    with sessions.begin() as s:
        rows = s.scalars(select(OutboxRow)).all()
        assert rows
        for row in rows:
            row.parked_at, row.attempts = at(2026, 11, 10, 9), 12
    out = caseclock("notify", "--retry-parked", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Re-queued {len(rows)} parked notification(s)")
    with sessions() as s:
        assert all(r.parked_at is None and r.attempts == 0
                   for r in s.scalars(select(OutboxRow)))
    _engine.dispose()


def test_the_digest_shows_checklist_progress(prompted: tuple[SlackRig, Outbox],
                                              clock: FakeClock) -> None:
    rig, outbox = prompted
    from scheduler.reminders.actions import set_ticks
    set_ticks(rig.casebook.sessions, "123456", "assessment_initial_15", 1, [0, 2, 5], "jo")
    clock.now = at(2026, 11, 24, 9)
    digest = next(render(c) for p, c in outbox.plan(clock.now) if p.rule == "digest")
    assert "123456 Assessment completed within the first 15 days" in digest["text"]
    assert "checklist 3/8" in digest["text"]


def test_digests_skip_the_packs_closure_days(casebook: Casebook, clock: FakeClock,
                                             tmp_path: Path) -> None:
    from scheduler.packs import BUILTIN_DIR, PackLibrary
    (tmp_path / "closed-xmas.yaml").write_text(
        "name: closed-xmas\ntitle: Closed between Christmas and New Year\n"
        "extends: working-together-2023\nclosure_days: [2026-12-29, 2026-12-30, 2026-12-31]\n",
        encoding="utf-8")
    library = PackLibrary([BUILTIN_DIR, tmp_path])
    own = Casebook(casebook.sessions, library, clock)
    own.add_team("xmas", "closed-xmas", slack_channel="CXMAS")
    outbox = Outbox(casebook.sessions, library, {}, lambda _r: "slack")
    for day, expected in ((24, True), (29, False), (30, False), (31, False)):
        planned = [p for p, _ in outbox.plan(at(2026, 12, day, 9)) if p.stage == "digest"]
        assert bool(planned) is expected, day
    planned = [p for p, _ in outbox.plan(at(2027, 1, 4, 9)) if p.stage == "digest"]
    assert [p.recipient for p in planned] == ["team:xmas"]


def test_every_meeting_event_of_every_pack_gets_a_log_it_button_with_its_command() -> None:
    from bot.commands.grammar import SUBCOMMANDS
    from bot.commands.table import command_for_event
    from scheduler.packs import PackLibrary
    from scheduler.timescales.vocabulary import EVENT_TYPES

    LOG_COMMAND = {e: command_for_event(e) for e in EVENT_TYPES if command_for_event(e)}

    # Each entry is the grammar's own way of logging that event.
    special = {"allocate": "allocated", "extend": "extension_agreed",
               "received": "agency_info_received"}
    top = {"/referral": "referral_received", "/seen": "child_seen",
           "/strategy": "strategy_discussion_held"}
    for event, found in LOG_COMMAND.items():
        assert found is not None
        command, words = found
        made = top[command] if command in top else (
            special.get(words) or SUBCOMMANDS[words][0])
        assert made == event, (event, command, words)
    library = PackLibrary()
    for name in library.names():
        for rule in library.get(name).rules:
            assert any(m.event in LOG_COMMAND for m in rule.met_by), (name, rule.id)
            # The prompt's "Log it" carries the rule's first meeting event: it has a command.
            assert rule.met_by[0].event in LOG_COMMAND, (name, rule.id)


def test_log_it_on_a_family_contact_prompt_prefills_its_command_and_logs_it(
    rig: SlackRig, clock: FakeClock
) -> None:
    rig.casebook.log("123456", "referral_received", at(2026, 11, 2, 10), {"track": "s47"},
                     actor="priya", source="test", team="north")
    click(rig, "UJO", {"action_id": "caseclock_log_it", "type": "button",
                       "value": "123456|family_contact|1|due_today|family_contacted"})
    opened = rig.slack.wait_for("views.open")[0]
    view = opened.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "caseclock_log_line" and view["private_metadata"] == "/case"
    assert view["blocks"][0]["element"]["initial_value"] == "123456 family "
    payload = {"type": "view_submission", "user": {"id": "UJO"}, "team": {"id": "T1"},
               "view": {"id": "V77", "type": "modal", "callback_id": "caseclock_log_line",
                        "private_metadata": "/case", "state": {"values": {"line": {"v": {
                            "value": "123456 family 23/11/2026 10:00"}}}}}}
    assert rig.post(urlencode({"payload": json.dumps(payload)})) == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "family_contacted" not in {
            e.type for e in rig.casebook.timeline("123456")}:
        time.sleep(0.05)
    assert "family_contacted" in {e.type for e in rig.casebook.timeline("123456")}


def test_morning_summaries_name_exceptions_escalations_and_authorisations_waiting(
    casebook: Casebook, clock: FakeClock
) -> None:
    from bot.directory import Directory
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    casebook.add_team("lone", "bexley")  # no channel, no manager of its own
    directory.add("jo", "worker", "north", "UJO")
    directory.add("priya", "manager", "north", "UPRIYA")
    directory.add("morgan", "service_manager", None, "UMORGAN")
    clock.now = at(2026, 11, 11, 12)

    def log(case: str, etype: str, when: datetime, team: str = "north", **fields: Any) -> None:
        casebook.log(case, etype, when, fields, actor="priya", source="test", team=team)

    log("100001", "referral_received", at(2026, 9, 1), track="s17")  # 45 days: Tue 3 Nov
    log("100002", "referral_received", at(2026, 11, 2), track="s17")  # visit due Mon 9 Nov
    log("100002", "allocated", at(2026, 11, 2, 11), worker="jo")
    log("100003", "referral_received", at(2026, 10, 1), track="s17")
    log("100003", "assessment_completed", at(2026, 11, 10, 15), outcome="cin")
    log("200001", "referral_received", at(2026, 11, 2), team="lone", track="s17")
    outbox = Outbox(casebook.sessions, casebook.library, {}, lambda _r: "slack")
    digests = {(p.rule, p.recipient): plain(c) for p, c in outbox.plan(at(2026, 11, 12, 9))
               if p.stage == "digest"}
    summary = digests[("manager_summary", "staff:priya")]
    assert summary.startswith("Morning summary for north, Thu 12 Nov: 1 exception (legal "
                              "limits missed), ")
    exceptions, escalated = summary.split("Exceptions:")[1].split("Escalated:")
    assert "100001 Assessment completed and authorised within 45 working days" in exceptions
    assert "100002 Child visited" in escalated.split("Awaiting authorisation:")[0]
    assert "100003 assessment completed" in summary.split("Awaiting authorisation:")[1]
    service = digests[("service_summary", "staff:morgan")]
    assert service.startswith("Morning summary of 2 teams, Thu 12 Nov: 1 exception (legal "
                              "limits missed), ")
    assert "north: exceptions:" in service and "100001" in service and "100003" in service
    # The lone team has no channel and no manager: its digest goes to the service manager.
    assert digests[("digest", "staff:morgan")].startswith("lone, Thu 12 Nov: ")


def test_the_preview_computes_deadlines_at_its_moment_and_ignores_snoozes(
    casebook: Casebook, clock: FakeClock
) -> None:
    # Medway reviews an assessment after 10, then 25 working days, then weekly. Logged on
    # Tue 1 Sep 2026, the store holds the first review only; a preview of Tue 20 Oct (the
    # fourth review's day) must show it, as the engine would compute it then.
    from bot.directory import Directory
    from scheduler.reminders.actions import snooze
    directory = Directory(casebook.sessions)
    casebook.add_team("kent", "medway", slack_channel="CKENT")
    directory.add("jo", "worker", "kent", "UJO")
    directory.add("priya", "manager", "kent", "UPRIYA")
    clock.now = at(2026, 9, 1, 12)
    casebook.log("123456", "referral_received", at(2026, 9, 1, 10), {"track": "s17"},
                 actor="priya", source="test", team="kent")
    casebook.log("123456", "assessment_started", at(2026, 9, 1, 11), {}, actor="priya",
                 source="test")
    assert [d.seq for d in casebook.deadlines("123456") if d.rule == "assessment_review"] == [1]
    outbox = Outbox(casebook.sessions, casebook.library, {}, lambda _r: "slack")
    x = at(2026, 10, 20, 9)
    reviews = {(p.stage, p.seq, p.recipient) for p, _ in outbox.plan(x)
               if p.rule == "assessment_review"}
    assert ("due_today", 4, "staff:priya") in reviews
    # The sweep, from the stored deadlines, does not know the fourth review yet.
    with casebook.sessions() as s:
        stored = outbox._plan(s, x).items
    assert not any(p.rule == "assessment_review" and p.seq == 4 for p, _ in stored)
    # A snooze is the recipient's and the outbox's business: the preview lists the stage.
    outbox.sweep(at(2026, 9, 14, 9))
    snooze(casebook.sessions, casebook.calendar_of("123456"), "123456", "assessment_review", 1,
           "upcoming", "priya", at(2026, 9, 14, 10))
    assert ("upcoming", 1, "staff:priya") in {
        (p.stage, p.seq, p.recipient) for p, _ in outbox.plan(at(2026, 9, 14, 11))
        if p.rule == "assessment_review"}


def test_a_service_managers_summary_waits_for_the_latest_digest_and_covers_every_team(
    casebook: Casebook, clock: FakeClock
) -> None:
    # north's digest is at 08:30, south's at 09:30; morgan, a service manager with no list
    # of teams, oversees both. One summary, once south's digest is due, naming both.
    from bot.directory import Directory
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH", digest_at="08:30")
    casebook.add_team("south", "bexley", slack_channel="CSOUTH", digest_at="09:30")
    directory.add("priya", "manager", "north", "UPRIYA")
    directory.add("sam", "manager", "south", "USAM")
    directory.add("morgan", "service_manager", None, "UMORGAN")
    clock.now = at(2026, 11, 11, 12)
    for ref, team in (("100001", "north"), ("200001", "south")):  # 45 days: Tue 3 Nov
        casebook.log(ref, "referral_received", at(2026, 9, 1), {"track": "s17"},
                     actor="priya", source="test", team=team)
    outbox = Outbox(casebook.sessions, casebook.library, {}, lambda _r: "slack")

    def summaries() -> list[str]:
        with casebook.sessions() as s:
            return [plain(from_json(r.payload)) for r in s.scalars(select(OutboxRow).where(
                OutboxRow.rule == "service_summary", OutboxRow.recipient == "staff:morgan"))]

    outbox.sweep(at(2026, 11, 12, 8, 31))
    assert summaries() == []  # south's digest is still to come
    outbox.sweep(at(2026, 11, 12, 9, 31))
    [text] = summaries()
    assert text.startswith("Morning summary of 2 teams, Thu 12 Nov: 2 exceptions")
    assert "north: exceptions" in text and "100001" in text
    assert "south: exceptions" in text and "200001" in text
    outbox.sweep(at(2026, 11, 12, 10, 31))
    assert len(summaries()) == 1  # once a day


def test_snoozed_copies_are_refreshed_with_one_query_each_not_one_per_copy(
    casebook: Casebook, clock: FakeClock
) -> None:
    from sqlalchemy import event

    from bot.directory import Directory
    from scheduler.reminders.actions import refresh_snoozed, snooze
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    directory.add("jo", "worker", "north", "UJO")
    directory.add("priya", "manager", "north", "UPRIYA")
    clock.now = at(2026, 11, 2, 12)
    refs = ("100001", "100002", "100003")
    for ref in refs:
        casebook.log(ref, "referral_received", at(2026, 11, 2, 10), {"track": "s17"},
                     actor="priya", source="test", team="north")
        casebook.log(ref, "allocated", at(2026, 11, 2, 11), {"worker": "jo"}, actor="priya",
                     source="test")
    clock.now = at(2026, 11, 19, 9)
    outbox = Outbox(casebook.sessions, casebook.library, {}, lambda _r: "slack")
    outbox.sweep(clock.now)
    with casebook.sessions.begin() as s:  # as if delivered
        for row in s.scalars(select(OutboxRow)):
            row.sent_at = clock.now
    for ref in refs:
        snooze(casebook.sessions, casebook.calendar_of(ref), ref, "assessment_initial_15", 1,
               "upcoming", "jo", at(2026, 11, 19, 10))
    now = at(2026, 11, 20, 8, 29)
    with casebook.sessions() as s:
        teams = outbox._plan(s, now).teams
    engine = casebook.sessions.kw["bind"]
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with casebook.sessions.begin() as s:
            dropped, refreshed = refresh_snoozed(s, casebook.library, teams, now)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (dropped, refreshed) == (0, 3)  # "day 14 of 15" now
    selects = [x for x in statements if x.lstrip().upper().startswith("SELECT")]
    # The copies, their deadlines, their ticks: not a deadline and a ticks query per copy.
    assert len(selects) == 3, selects


def test_withdrawing_nudges_reuses_the_plans_authorisations_waiting(
    casebook: Casebook, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scheduler.reminders.sweep as outbox_module
    from bot.directory import Directory
    from store.repo import awaiting_authorisation
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    directory.add("priya", "manager", "north", "UPRIYA")
    clock.now = at(2026, 11, 10, 16)
    casebook.log("100003", "referral_received", at(2026, 10, 1), {"track": "s17"},
                 actor="priya", source="test", team="north")
    casebook.log("100003", "assessment_completed", at(2026, 11, 10, 15), {"outcome": "cin"},
                 actor="priya", source="test")
    outbox = Outbox(casebook.sessions, casebook.library, {}, lambda _r: "slack")
    outbox.sweep(at(2026, 11, 12, 9))  # the nudge to priya, Thu 08:30: not yet sent

    def nudges() -> list[tuple[bool, bool]]:
        with casebook.sessions() as s:
            return [(r.sent_at is None, r.withdrawn_at is None) for r in s.scalars(
                select(OutboxRow).where(OutboxRow.rule == "awaiting_authorisation"))]

    assert nudges() == [(True, True)]
    calls: list[int] = []
    real = awaiting_authorisation

    def counted(s: Any, *args: Any) -> Any:
        calls.append(1)
        return real(s, *args)

    monkeypatch.setattr(outbox_module, "awaiting_authorisation", counted)
    # Out of hours the nudge is not planned, so the sweep asks whether it still applies:
    # from what its plan read, not by reading every completion again.
    outbox.sweep(at(2026, 11, 12, 18))
    assert len(calls) == 1 and nudges() == [(True, True)]
    clock.now = at(2026, 11, 12, 18, 1)
    casebook.log("100003", "assessment_authorised", at(2026, 11, 12, 18, 1), {},
                 actor="priya", source="test")
    assert outbox.sweep(at(2026, 11, 12, 18, 2)).withdrawn == 1
    assert nudges() == [(True, False)]
