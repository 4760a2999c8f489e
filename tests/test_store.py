"""The store on SQLite and PostgreSQL: first use, append-only events, one-transaction
recompute, refusals that write nothing, idempotent retries, UTC round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from scheduler.casebook import Casebook
from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import EventError
from store import repo
from store.db import current_revision, head_revision, open_database
from store.models import AppendOnlyError, AuditEntry, DeadlineRow, EventRow
from tests.conftest import FakeClock


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def counts(cb: Casebook) -> dict[str, int]:
    with cb.sessions() as s:
        return repo.count_rows(s)


@pytest.fixture
def team(casebook: Casebook) -> str:
    casebook.add_team("north", "bexley", actor="admin")
    return "north"


def test_schema_is_created_on_first_use_and_reopening_is_harmless(database_url: str) -> None:
    engine, _ = open_database(database_url)
    assert current_revision(engine) == head_revision()
    names = set(inspect(engine).get_table_names())
    assert {"teams", "staff", "cases", "events", "deadlines", "audit"} <= names
    engine.dispose()
    engine, _ = open_database(database_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_logging_stores_who_when_where_and_recomputes_in_the_same_transaction(
    casebook: Casebook, team: str
) -> None:
    result = casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                          actor="jo", source="slack:U123", team=team)
    with casebook.sessions() as s:
        row = s.scalar(select(EventRow).where(EventRow.id == result.event_id))
        assert row is not None
        assert (row.recorded_by, row.source, row.type) == ("jo", "slack:U123",
                                                           "referral_received")
        assert row.at == at(2026, 11, 2) and row.at.tzinfo is not None
        assert row.recorded_at.tzinfo is not None
        stored = {(d.rule, d.seq): (d.due, d.status) for d in s.scalars(select(DeadlineRow))}
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "event_logged")).all()
    computed = {(d.rule, d.seq): (d.due, d.status) for d in casebook.deadlines("123456")}
    assert stored == computed and ("child_visited", 1) in stored
    assert stored[("child_visited", 1)][0] == at(2026, 11, 9, 23, 59).replace(second=59)
    assert [a.detail for a in audit] == [{"case": "123456", "event": result.event_id,
                                          "type": "referral_received"}]
    assert "jo" not in str(audit[0].detail)  # who is a column of its own


def test_the_reply_data_says_what_changed(casebook: Casebook, team: str) -> None:
    casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team=team)
    result = casebook.log("123456", "child_seen", at(2026, 11, 5), {"alone": "yes"},
                          actor="jo", source="cli")
    before = {d.rule: d.status for d in result.before}
    after = {d.rule: d.status for d in result.after}
    # Logged late (the clock says 30 Nov), but the visit on 5 Nov was within the 5 days.
    assert before["child_visited"] == "overdue" and after["child_visited"] == "met"


def test_events_cannot_be_updated_or_deleted(casebook: Casebook, team: str,
                                             database_url: str) -> None:
    result = casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                          actor="jo", source="cli", team=team)
    with casebook.sessions() as s:
        row = s.scalar(select(EventRow).where(EventRow.id == result.event_id))
        assert row is not None
        row.type = "case_closed"
        with pytest.raises(AppendOnlyError):
            s.flush()
        s.rollback()
        row = s.scalar(select(EventRow).where(EventRow.id == result.event_id))
        s.delete(row)
        with pytest.raises(AppendOnlyError):
            s.flush()
    for sql in ("UPDATE events SET type = 'case_closed'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"), casebook.sessions.begin() as s:
            s.execute(text(sql))
    assert counts(casebook)["events"] == 1


@pytest.mark.parametrize(
    ("case", "type_", "when", "fields", "says"),
    [
        ("123456", "referral_received", at(2026, 12, 1), {"track": "s17"}, "in the future"),
        ("123456", "referal_received", at(2026, 11, 2), {}, "not an event type"),
        ("Jane Smith", "referral_received", at(2026, 11, 2), {"track": "s17"},
         "not a case reference"),
        ("Smith", "referral_received", at(2026, 11, 2), {"track": "s17"},
         "not a case reference"),
        ("JohnSmith", "referral_received", at(2026, 11, 2), {"track": "s17"},
         "never a name"),
        # Only a contact or a referral opens a case (the store is the one truth).
        ("123456", "assessment_authorised", at(2026, 11, 2), {}, "there is no case 123456"),
        ("123456", "child_seen", at(2026, 11, 2), {"alone": True}, "there is no case 123456"),
        ("123456", "case_closed", at(2026, 11, 2), {"reason": "nfa"},
         "log its contact or referral first"),
        ("123456", "referral_received", at(2026, 11, 2), {}, "needs track"),
        ("123456", "extension_agreed", at(2026, 11, 2), {"until": "29/02/2027", "reason": "x"},
         "not a date"),
    ],
)
def test_refused_events_store_nothing(casebook: Casebook, team: str, case: str, type_: str,
                                      when: datetime, fields: dict[str, str], says: str) -> None:
    before = counts(casebook)
    with pytest.raises(EventError, match=says):
        casebook.log(case, type_, when, fields, actor="jo", source="cli", team=team)
    assert counts(casebook) == before


def test_a_suffolk_child_seen_day_past_7_is_refused_and_stores_nothing(
    casebook: Casebook, team: str
) -> None:
    casebook.add_team("south", "suffolk", actor="admin")
    casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team="south")
    before = counts(casebook)
    with pytest.raises(EventError, match="seen_by_day 8 is past day 7, the latest the suffolk "
                                         "procedure allows for child_seen: give a day from 1 "
                                         "to 7"):
        casebook.log("123456", "management_decision", at(2026, 11, 2, 14),
                     {"seen_by_day": 8}, actor="jo", source="cli")
    assert counts(casebook) == before
    casebook.log("123456", "management_decision", at(2026, 11, 2, 14), {"seen_by_day": "7"},
                 actor="jo", source="cli")
    # Bexley has no such limit (it does not read the day): a day past 7 is stored there.
    casebook.log("654321", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team=team)
    casebook.log("654321", "management_decision", at(2026, 11, 2, 14), {"seen_by_day": 8},
                 actor="jo", source="cli")
    assert counts(casebook)["events"] == before["events"] + 3


def test_a_new_case_needs_a_team_when_there_are_several(casebook: Casebook, team: str) -> None:
    casebook.add_team("south", "suffolk", actor="admin")
    before = counts(casebook)
    with pytest.raises(EventError, match="say which team with --team"):
        casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                     actor="jo", source="cli")
    assert counts(casebook) == before
    casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team="south")
    assert casebook.case_summary("123456").policy == "suffolk"


def test_a_retried_delivery_is_stored_once(casebook: Casebook, team: str) -> None:
    first = casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                         actor="jo", source="slack:U1", team=team, request_id="T1-abc")
    again = casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                         actor="jo", source="slack:U1", team=team, request_id="T1-abc")
    assert again.duplicate and again.event_id == first.event_id
    assert counts(casebook)["events"] == 1


def test_instants_round_trip_in_utc_across_the_october_clock_change(
    casebook: Casebook, team: str, clock: FakeClock
) -> None:
    # 01:30 UTC on 25 Oct 2026 is 01:30 GMT, just after 02:00 BST became 01:00 GMT: the
    # wall-clock time 01:30 happens twice that night.
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)   # 01:30 BST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    casebook.log("123456", "referral_received", first, {"track": "s47"}, actor="jo",
                 source="cli", team=team)
    casebook.log("123456", "child_seen", second, {}, actor="jo", source="cli")
    got = [(e.type, e.at) for e in casebook.timeline("123456")]
    assert got == [("referral_received", first), ("child_seen", second)]
    assert all(t.tzinfo is not None for _, t in got)
    assert got[1][1] - got[0][1] == second - first  # one hour apart, not zero


def test_void_keeps_the_row_and_removes_the_event_from_deadlines(
    casebook: Casebook, team: str
) -> None:
    casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team=team)
    wrong = casebook.log("123456", "child_seen", at(2026, 11, 3), {}, actor="jo", source="cli")
    assert {d.rule: d.status for d in casebook.deadlines("123456")}["child_visited"] == "met"
    casebook.log("123456", "event_voided", at(2026, 11, 30, 11),
                 {"event_id": wrong.event_id, "reason": "wrong case"}, actor="jo", source="cli")
    assert {d.rule: d.status for d in casebook.deadlines("123456")}["child_visited"] == (
        "overdue")
    timeline = {e.id: e for e in casebook.timeline("123456")}
    assert timeline[wrong.event_id].voided
    assert counts(casebook)["events"] == 3
    with pytest.raises(EventError, match="already voided"):
        casebook.log("123456", "event_voided", at(2026, 11, 30, 11),
                     {"event_id": wrong.event_id, "reason": "again"}, actor="jo", source="cli")


def test_fields_with_dates_survive_the_json_column(casebook: Casebook, team: str) -> None:
    casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team=team)
    casebook.log("123456", "extension_agreed", at(2026, 11, 20),
                 {"until": "29/01/2027", "reason": "awaiting health information"},
                 actor="manager1", source="cli")
    ext = {d.rule: d for d in casebook.deadlines("123456")}["assessment_extended"]
    assert ext.due.date() == date(2027, 1, 29)


def test_duplicate_team_is_refused(casebook: Casebook, team: str) -> None:
    with pytest.raises(repo.StoreError, match="already exists"):
        casebook.add_team("north", "medway", actor="admin")


def test_unique_event_ids_are_enforced_by_the_database(casebook: Casebook, team: str) -> None:
    r = casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                     actor="jo", source="cli", team=team)
    with pytest.raises(IntegrityError), casebook.sessions.begin() as s:
        case = repo.get_case(s, "123456")
        assert case is not None
        s.add(EventRow(id=r.event_id, case_id=case.id, type="child_seen",
                       at=at(2026, 11, 3), fields={}, recorded_by="x", source="cli"))


def test_a_closure_after_a_missed_visit_keeps_it_overdue_stopped_and_out_of_open_queries(
    casebook: Casebook, team: str
) -> None:
    # Bexley: child visited within 5 WD of the referral Mon 2 Nov 2026, so by Mon 9 Nov.
    # Closed Thu 12 Nov with the visit missed: the breach stays, nobody is chased for it.
    casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team=team)
    assert ("child_visited", 1) in open_keys(casebook)
    closed = casebook.log("123456", "case_closed", at(2026, 11, 12), {"reason": "moved away"},
                          actor="jo", source="cli")
    with casebook.sessions() as s:
        row = s.scalar(select(DeadlineRow).where(DeadlineRow.rule == "child_visited"))
        assert row is not None
        assert (row.status, row.stopped_at, row.stopped_by_event) == (
            "overdue", at(2026, 11, 12), closed.event_id)
    assert open_keys(casebook) == set()  # every open query goes through one clause


def open_keys(cb: Casebook) -> set[tuple[str, int]]:
    with cb.sessions() as s:
        return {(d.rule, d.seq) for d, _ in repo.open_deadline_rows(s)}


def test_open_deadline_rows_narrow_to_teams_and_owners_in_the_query(
    casebook: Casebook, team: str
) -> None:
    casebook.add_team("south", "medway", actor="admin")
    casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team=team)
    casebook.log("654321", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team="south")
    with casebook.sessions() as s:
        ids = {t.name: t.id for t in repo.list_teams(s)}
        every = repo.open_deadline_rows(s)
        assert {c.reference for _, c in every} == {"123456", "654321"}
        north = repo.open_deadline_rows(s, team_ids=[ids[team]])
        assert north and {c.reference for _, c in north} == {"123456"}
        assert repo.open_deadline_rows(s, team_ids=[]) == []
        both = repo.open_deadline_rows(s, team_ids={ids[team], ids["south"]})
        assert [d.id for d, _ in both] == [d.id for d, _ in every]
        owned = repo.open_deadline_rows(s, team_ids=[ids[team]], owners=("manager",))
        assert owned and {d.owner for d, _ in owned} == {"manager"}
        assert owned == [(d, c) for d, c in north if d.owner == "manager"]


def test_log_log_many_and_check_refuse_a_bad_event_alike(casebook: Casebook, team: str
                                                          ) -> None:
    from scheduler.casebook import LogEntry

    good = at(2026, 11, 2)
    naive = datetime(2026, 11, 2, 9, 0)
    assert casebook._prepare("123456", "referral_received", good, {"track": "s17"}) == (
        "123456", {"track": "s17"})
    for ref, fields, when in (("12", {"track": "s17"}, good),          # the reference
                              ("123456", {"track": "nonsense"}, good),  # a field
                              ("123456", {"track": "s17"}, naive),      # the time's zone
                              ("12", {"track": "nonsense"}, naive)):    # all three: the first
        said = []
        for how in ("log", "log_many"):
            with pytest.raises(EventError) as refused:
                if how == "log":
                    casebook.log(ref, "referral_received", when, fields, actor="jo",
                                 source="cli", team=team)
                else:
                    casebook.log_many([LogEntry(ref, "referral_received", when, fields,
                                                team=team)], actor="jo", source="cli")
            said.append(str(refused.value))
        assert said[0] == said[1], said
    assert casebook.case_references() == []


def test_recomputing_every_case_leaves_the_stored_rows_identical(
    casebook: Casebook, team: str, clock: FakeClock
) -> None:
    casebook.add_team("south", "medway", actor="admin")
    casebook.log("123456", "referral_received", at(2026, 11, 2), {"track": "s17"},
                 actor="jo", source="cli", team=team)
    casebook.log("123456", "child_seen", at(2026, 11, 4), {"alone": "yes"}, actor="jo",
                 source="cli")
    casebook.log("654321", "referral_received", at(2026, 10, 1), {"track": "s47"},
                 actor="jo", source="cli", team="south")
    casebook.log("654321", "assessment_started", at(2026, 10, 2), {}, actor="jo", source="cli")
    casebook.log("654321", "case_closed", at(2026, 11, 20), {"reason": "nfa"}, actor="jo",
                 source="cli")

    def stored() -> list[tuple[object, ...]]:
        with casebook.sessions() as s:
            return sorted(
                (d.case_id, d.rule, d.seq, d.title, d.due, d.status, d.met_at, d.met_by_event,
                 d.owner, d.anchor_at, d.hourly, d.delay_reason, d.unit, d.stopped_at,
                 d.stopped_by_event)
                for d in s.scalars(select(DeadlineRow)))

    first = stored()
    assert any(r[13] is not None for r in first)  # the closed case has stopped reviews
    assert casebook.recompute_all() == 2
    assert stored() == first
    assert casebook.recompute_all() == 2
    assert stored() == first


def test_a_stored_review_conference_due_on_a_sunday_is_stored_for_the_friday_before(
    casebook: Casebook, team: str
) -> None:
    # The stored rows (what reminders and /due read) and a recompute agree with the engine:
    # ICPC Mon 30 Nov 2026 + 3 months = Sun 28 Feb 2027, so due Fri 26 Feb 2027.
    for type_, when, fields in (("referral_received", at(2026, 11, 2), {"track": "s47"}),
                                ("strategy_discussion_held", at(2026, 11, 3), {}),
                                ("icpc_held", at(2026, 11, 30), {"cp_plan": True})):
        casebook.log("123456", type_, when, fields, actor="jo", source="cli", team=team)

    def stored_due() -> datetime:
        with casebook.sessions() as s:
            return s.scalars(select(DeadlineRow.due).where(
                DeadlineRow.rule == "review_conference_first")).one()

    friday = datetime(2027, 2, 26, 23, 59, 59, tzinfo=LONDON)
    assert stored_due() == friday
    assert casebook.recompute_all() == 1 and stored_due() == friday


def test_the_case_pattern_setting_defaults_to_the_vocabularys_and_must_compile(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    from store.settings import Settings

    monkeypatch.delenv("CASECLOCK_CASE_PATTERN", raising=False)
    assert Settings(_env_file=None).case_pattern is None  # None: the one default, a digit needed
    monkeypatch.setenv("CASECLOCK_CASE_PATTERN", "[A-Z]{2}[0-9]{6}")
    assert Settings(_env_file=None).case_pattern == "[A-Z]{2}[0-9]{6}"
    monkeypatch.setenv("CASECLOCK_CASE_PATTERN", "[A-Z")
    with pytest.raises(ValidationError, match="CASECLOCK_CASE_PATTERN is not a regular"):
        Settings(_env_file=None)


def test_two_taps_of_one_referral_at_once_store_it_once(casebook: Casebook, team: str) -> None:
    # A double tap reaches two workers at the same instant, on a new case (the first
    # opens it) and on a case already referred: the check runs under the case's lock.
    import threading

    from scheduler.casebook import RepeatedReferral

    for ref, referred_before in (("900001", False), ("900002", True)):
        if referred_before:
            casebook.log(ref, "referral_received", at(2026, 11, 30, 9), {"track": "s17"},
                         actor="jo", source="chat", team=team)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def tap(ref: str = ref, barrier: threading.Barrier = barrier,
                outcomes: list[str] = outcomes) -> None:
            barrier.wait()
            try:
                casebook.log(ref, "referral_received", at(2026, 11, 30, 11), {"track": "s17"},
                             actor="jo", source="chat", team=team, refuse_repeat=True)
                outcomes.append("stored")
            except RepeatedReferral:
                outcomes.append("refused")

        taps = [threading.Thread(target=tap) for _ in range(2)]
        for t in taps:
            t.start()
        for t in taps:
            t.join()
        expected = ["refused", "refused"] if referred_before else ["refused", "stored"]
        assert sorted(outcomes) == expected
        assert [e.type for e in casebook.timeline(ref)] == ["referral_received"]
