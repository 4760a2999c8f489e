"""The `deadlines` and `policy` commands: the contract other tools rely on, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.timescales.vocabulary import looks_like_case

ROOT = Path(__file__).resolve().parents[1]


def caseclock(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
              stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the entry point in a subprocess, as a shell user would, with `stdin` piped in."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=120, input=stdin)


def write_events(path: Path, *events: dict[str, object]) -> Path:
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    return path


def test_deadlines_json_for_a_section_47_referral(tmp_path: Path) -> None:
    f = write_events(
        tmp_path / "ev.jsonl",
        {"case": "123456", "type": "referral_received", "at": "2026-11-02T10:00", "track": "s47"},
        {"case": "123456", "type": "strategy_discussion_held", "at": "2026-11-02T15:00"},
        {"case": "123456", "type": "child_seen", "at": "2026-11-03T09:00+00:00", "alone": True},
    )
    out = caseclock("deadlines", "--policy", "relational-practice", "--events", str(f),
                    "--now", "2026-11-04T12:00", "--json")
    assert out.returncode == 0, out.stderr
    got = {d["rule"]: d for d in json.loads(out.stdout)}
    seen = got["child_seen_s47"]
    assert seen["due"] == "2026-11-03T10:00:00+00:00"
    assert seen["status"] == "met" and seen["met_at"] == "2026-11-03T09:00:00+00:00"
    assert got["icpc_15"]["due"] == "2026-11-23T23:59:59+00:00"
    assert got["assessment_45"]["status"] == "pending"
    for d in got.values():
        assert {"case", "rule", "seq", "title", "due", "status", "met_at"} <= d.keys()


def test_deadlines_json_keeps_a_breach_missed_before_the_case_closed(tmp_path: Path) -> None:
    # Bexley: the child was to be visited by Mon 9 Nov 2026; the case closed Thu 12 Nov.
    f = write_events(
        tmp_path / "ev.jsonl",
        {"case": "123456", "type": "referral_received", "at": "2026-11-02T10:00", "track": "s17"},
        {"case": "123456", "type": "allocated", "at": "2026-11-02T11:00", "worker": "jo"},
        {"case": "123456", "type": "case_closed", "at": "2026-11-12T10:00", "reason": "moved"},
    )
    out = caseclock("deadlines", "--policy", "bexley", "--events", str(f),
                    "--now", "2026-11-20T12:00", "--json")
    assert out.returncode == 0, out.stderr
    got = {d["rule"]: d for d in json.loads(out.stdout)}
    assert got["child_visited"]["status"] == "overdue"
    assert got["child_visited"]["stopped_at"] == "2026-11-12T10:00:00+00:00"
    # Not yet due when the case closed: no longer applies.
    assert got["assessment_initial_15"]["status"] == "cancelled"
    assert got["assessment_initial_15"]["stopped_at"] is None
    assert got["allocation"]["status"] == "met" and got["allocation"]["stopped_at"] is None


def test_deadlines_table_uses_uk_dates_and_weekdays(tmp_path: Path) -> None:
    f = write_events(tmp_path / "ev.jsonl",
                     {"case": "AB1234", "type": "referral_received", "at": "2026-11-02T10:00",
                      "track": "s17"})
    out = caseclock("deadlines", "--policy", "bexley", "--events", str(f),
                    "--now", "2026-11-04T12:00")
    assert out.returncode == 0, out.stderr
    assert "Mon 9 Nov" in out.stdout  # child visited within 5 working days
    assert "day 2 of 5" in out.stdout


def test_a_void_line_withdraws_the_event_it_names(tmp_path: Path) -> None:
    f = write_events(
        tmp_path / "ev.jsonl",
        {"case": "123456", "type": "referral_received", "at": "2026-11-02T10:00", "track": "s17"},
        {"id": "oops", "case": "123456", "type": "assessment_authorised",
         "at": "2026-11-03T10:00"},
        {"case": "123456", "type": "event_voided", "at": "2026-11-03T11:00",
         "event_id": "oops", "reason": "wrong case"},
    )
    out = caseclock("deadlines", "--policy", "working-together-2023", "--events", str(f),
                    "--now", "2026-11-04T12:00", "--json")
    assert out.returncode == 0, out.stderr
    assert {d["rule"]: d["status"] for d in json.loads(out.stdout)}["assessment_45"] == "pending"


@pytest.mark.parametrize(
    ("event", "args", "says"),
    [
        ({"case": "123456", "type": "referal_received", "at": "2026-11-02T10:00"}, (),
         "not an event type"),
        ({"case": "123456", "type": "referral_received", "at": "2026-11-02T10:00"}, (),
         "needs track"),
        ({"case": "123456", "type": "referral_received", "at": "2026-11-02T10:00",
          "track": "s18"}, (), "not a valid track"),
        ({"case": "123456", "type": "referral_received", "at": "02/31/2026", "track": "s17"},
         (), "not a date and time"),
        ({"case": "Jane Smith", "type": "referral_received", "at": "2026-11-02T10:00",
          "track": "s17"}, (), "not a case reference"),
        ({"case": "JohnSmith", "type": "referral_received", "at": "2026-11-02T10:00",
          "track": "s17"}, (), "not a case reference"),
        ({"case": "123456", "type": "referral_received", "at": "2026-12-02T10:00",
          "track": "s17"}, ("--now", "2026-11-04T12:00"), "in the future"),
        ({"case": "123456", "type": "assessment_authorised", "at": "2026-11-02T10:00"}, (),
         "cannot be logged"),
        ({"case": "123456", "type": "child_seen", "at": "2026-11-02T10:00", "alone": "maybe"},
         (), "not yes or no"),
    ],
)
def test_bad_events_are_refused_with_one_sentence_and_exit_2(
    tmp_path: Path, event: dict[str, object], args: tuple[str, ...], says: str
) -> None:
    f = write_events(tmp_path / "ev.jsonl", event)
    out = caseclock("deadlines", "--policy", "bexley", "--events", str(f), "--json", *args)
    assert out.returncode == 2
    assert says in out.stderr and "line 1" in out.stderr
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_suffolk_child_seen_day_past_day_7_is_refused_naming_its_line(tmp_path: Path) -> None:
    referral = {"case": "123456", "type": "referral_received", "at": "2026-11-02T10:00",
                "track": "s17"}
    decision = {"case": "123456", "type": "management_decision", "at": "2026-11-02T14:00",
                "seen_by_day": 10}
    f = write_events(tmp_path / "ev.jsonl", referral, decision)
    out = caseclock("deadlines", "--policy", "suffolk", "--events", str(f), "--now",
                    "2026-11-03T12:00", "--json")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().endswith("line 2: seen_by_day 10 is past day 7, the latest the "
                                       "suffolk procedure allows for child_seen: give a day "
                                       "from 1 to 7.")
    write_events(f, referral, {**decision, "seen_by_day": 7})
    out = caseclock("deadlines", "--policy", "suffolk", "--events", str(f), "--now",
                    "2026-11-03T12:00", "--json")
    assert out.returncode == 0, out.stderr
    seen = next(d for d in json.loads(out.stdout) if d["rule"] == "child_seen")
    assert seen["due"].startswith("2026-11-10")  # day 7: Tue 10 Nov 2026


def test_a_custom_case_pattern_is_named_in_the_refusal(tmp_path: Path) -> None:
    # An authority whose references are two letters and six digits: the refusal names
    # that shape, not the default's "3-20 letters and digits".
    env = {"CASECLOCK_CASE_PATTERN": "[A-Z]{2}[0-9]{6}"}
    f = write_events(tmp_path / "ev.jsonl", {"case": "123456", "type": "contact_received",
                                             "at": "2026-11-02T10:00"})
    out = caseclock("deadlines", "--policy", "bexley", "--events", str(f), env=env)
    assert out.returncode == 2 and out.stdout == ""
    assert "[A-Z]{2}[0-9]{6}" in out.stderr and "3-20" not in out.stderr
    write_events(f, {"case": "AB123456", "type": "contact_received", "at": "2026-11-02T10:00"})
    out = caseclock("deadlines", "--policy", "bexley", "--events", str(f), "--now",
                    "2026-11-02T12:00", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert {d["case"] for d in json.loads(out.stdout)} == {"AB123456"}


def test_looks_like_case_needs_the_pattern_and_a_digit() -> None:
    # The chat grammar's test for "is this token a case?": words and names never are.
    assert looks_like_case("123456") and looks_like_case("AB1234")
    for word in ("Smith", "JohnSmith", "alone", "12", "1234567890123456789012", "12 34"):
        assert not looks_like_case(word), word
    assert looks_like_case("AB123456", "[A-Z]{2}[0-9]{6}")
    assert not looks_like_case("123456", "[A-Z]{2}[0-9]{6}")
    assert not looks_like_case("ABCDEF", "[A-Z]{6}")  # a digit is needed under any pattern


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        # Two lines voiding each other: neither names an event on an earlier line.
        ([{"id": "a", "case": "123456", "type": "event_voided", "at": "2026-11-03T10:00",
           "event_id": "b", "reason": "x"},
          {"id": "b", "case": "123456", "type": "event_voided", "at": "2026-11-03T10:00",
           "event_id": "a", "reason": "x"}], 'line 1: event_voided names "b"'),
        # A void dated before the event it withdraws (its line comes after it).
        ([{"id": "ok", "case": "123456", "type": "contact_received", "at": "2026-11-03T10:00"},
          {"case": "123456", "type": "event_voided", "at": "2026-11-02T10:00",
           "event_id": "ok", "reason": "x"}], "line 2: the void at 02/11/2026 10:00 is earlier"),
    ],
)
def test_voids_must_follow_what_they_withdraw(
    tmp_path: Path, lines: list[dict[str, object]], says: str
) -> None:
    f = write_events(tmp_path / "ev.jsonl", *lines)
    out = caseclock("deadlines", "--policy", "bexley", "--events", str(f), "--now",
                    "2026-11-04T12:00", "--json")
    assert out.returncode == 2 and out.stdout == ""
    assert says in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_void_of_a_void_on_later_lines_restores_the_event(tmp_path: Path) -> None:
    f = write_events(
        tmp_path / "ev.jsonl",
        {"case": "123456", "type": "referral_received", "at": "2026-11-02T10:00", "track": "s17"},
        {"id": "auth", "case": "123456", "type": "assessment_authorised",
         "at": "2026-11-03T10:00"},
        {"id": "v1", "case": "123456", "type": "event_voided", "at": "2026-11-03T11:00",
         "event_id": "auth", "reason": "thought it was the wrong case"},
        {"case": "123456", "type": "event_voided", "at": "2026-11-03T12:00",
         "event_id": "v1", "reason": "it was the right case"},
    )
    out = caseclock("deadlines", "--policy", "working-together-2023", "--events", str(f),
                    "--now", "2026-11-04T12:00", "--json")
    assert out.returncode == 0, out.stderr
    assert {d["rule"]: d["status"] for d in json.loads(out.stdout)}["assessment_45"] == "met"


def test_unknown_policy_names_the_known_ones(tmp_path: Path) -> None:
    f = write_events(tmp_path / "ev.jsonl", {"case": "123456", "type": "contact_received",
                                             "at": "2026-11-02T10:00"})
    out = caseclock("deadlines", "--policy", "bexly", "--events", str(f))
    assert out.returncode == 2
    assert "'bexly' is not a policy pack (did you mean bexley?)" in out.stderr


def test_policy_list_show_and_explain() -> None:
    listed = caseclock("policy", "list")
    assert listed.returncode == 0
    for name in ("working-together-2023", "north-yorkshire", "relational-practice", "bexley",
                 "suffolk", "medway"):
        assert name in listed.stdout
    shown = caseclock("policy", "show", "suffolk")
    assert shown.returncode == 0
    assert "assessment_day_35" in shown.stdout and "suffolk-social-work" in shown.stdout
    assert ("by day 7, counting the date of the latest referral received (or day seen_by_day "
            "of the management decision, 1 to 7)") in shown.stdout
    day_35 = shown.stdout.split("assessment_day_35:")[1].split("\n\n")[0]
    assert "met by:    assessment authorised or extension agreed with until after the due " \
           "day" in day_35
    explained = caseclock("policy", "explain", "suffolk", "--referral", "02/11/2026",
                          "--track", "s47")
    assert explained.returncode == 0, explained.stderr
    lines = {ln.split()[0]: ln for ln in explained.stdout.splitlines() if ln and ln[0].islower()}
    assert "Fri 27 Nov 2026" in lines["assessment_day_20"]
    assert "Wed 6 Jan 2027" in lines["assessment_45"]
    # Read aloud by a practice lead: singular where the count is one.
    assert "(1 working day after the latest allocated)" in lines["family_contact"]
    assert "24 hours after the latest strategy discussion held" in lines["s47_child_seen"]


def test_policy_explain_moves_a_review_conference_off_a_sunday_and_says_so() -> None:
    # The explained timeline assumes the ICPC the same day as the referral, Mon 30 Nov 2026:
    # three months on is Sun 28 Feb 2027, so the review is due Fri 26 Feb.
    explained = caseclock("policy", "explain", "working-together-2023", "--referral",
                          "30/11/2026", "--track", "s47")
    assert explained.returncode == 0, explained.stderr
    lines = {ln.split()[0]: ln for ln in explained.stdout.splitlines() if ln and ln[0].islower()}
    line = lines["review_conference_first"]
    assert "Fri 26 Feb 2027" in line and "28 Feb" not in line
    assert "3 months after the latest icpc held (cp_plan=True), or the working day before " \
           "if that is not one" in line


def test_policy_explain_shows_only_what_applies_to_the_track_asked_for() -> None:
    def rules(track: str) -> tuple[set[str], str]:
        out = caseclock("policy", "explain", "suffolk", "--referral", "02/11/2026",
                        "--track", track)
        assert out.returncode == 0, out.stderr
        body = out.stdout.split("\n\n")[1]  # between the heading and the closing note
        return {ln.split()[0] for ln in body.splitlines()}, out.stdout

    s17, text = rules("s17")
    assert {"management_decision", "child_seen", "assessment_day_20", "assessment_45",
            "family_contact"} <= s17
    s47_path = {"s47_child_seen", "s47_oversight", "s47_planning", "icpc_report", "icpc_15",
                "core_group_10", "review_conference_first", "review_conference_next"}
    assert not s17 & s47_path, s17 & s47_path
    assert ("8 more rules start from a strategy discussion or conference, should the case "
            "become a section 47 enquiry: `caseclock policy explain suffolk --track s47` "
            "lists them.") in text
    s47, text = rules("s47")
    assert s47_path | s17 <= s47 and "more rule" not in text


def test_policy_check_names_file_rule_and_field_of_a_typo(tmp_path: Path) -> None:
    bad = tmp_path / "my-authority.yaml"
    bad.write_text(
        "name: my-authority\ntitle: Mine\nextends: working-together-2023\nrules:\n"
        "  - id: child_seen_local\n    title: Child seen in 4 days\n"
        "    due: {unit: working_days, count: 4}\n    anchor: {event: referral_received}\n"
        "    met_by: [{event: child_sen}]\n    owner: worker\n"
        "    source: {document: x.txt, quote: the child must be seen within four days}\n",
        encoding="utf-8",
    )
    out = caseclock("policy", "check", str(bad))
    assert out.returncode == 2
    assert str(bad) in out.stderr and "rule child_seen_local" in out.stderr
    assert "met_by[0].event" in out.stderr and "did you mean child_seen?" in out.stderr
    bad.write_text(bad.read_text().replace("child_sen", "child_seen").replace(
        "working_days", "workdays"), encoding="utf-8")
    out = caseclock("policy", "check", str(bad))
    assert out.returncode == 2 and "due.unit" in out.stderr and "workdays" in out.stderr
    bad.write_text(bad.read_text().replace("workdays", "working_days").replace(
        "{event: child_seen}", "{event: child_seen, where: {alone: ture}}"), encoding="utf-8")
    out = caseclock("policy", "check", str(bad))
    assert out.returncode == 2 and "met_by[0].where.alone" in out.stderr
    assert "'ture'" in out.stderr and "true or false" in out.stderr


def test_an_authority_adds_a_pack_without_code(tmp_path: Path) -> None:
    good = tmp_path / "my-authority.yaml"
    good.write_text(
        "name: my-authority\ntitle: Mine\nextends: working-together-2023\n"
        "closure_days: [2026-12-29, 2026-12-30, 2026-12-31]\nrules:\n"
        "  - id: child_seen_local\n    title: Child seen within 4 working days\n"
        "    due: {unit: working_days, count: 4}\n    anchor: {event: referral_received}\n"
        "    met_by: [{event: child_seen}]\n    owner: worker\n"
        "    source: {document: mine.txt, quote: the child must be seen within four days}\n",
        encoding="utf-8",
    )
    env = {"CASECLOCK_POLICY_DIR": str(tmp_path)}
    assert caseclock("policy", "check", str(good), env=env).returncode == 0
    f = write_events(tmp_path / "ev.jsonl", {"case": "123456", "type": "referral_received",
                                             "at": "2026-12-23T10:00", "track": "s17"})
    out = caseclock("deadlines", "--policy", "my-authority", "--events", str(f), "--now",
                    "2026-12-23T12:00", "--json", env=env)
    assert out.returncode == 0, out.stderr
    got = {d["rule"]: d["due"][:10] for d in json.loads(out.stdout)}
    # Thu 24 Dec, then the closure days and bank holidays until Mon 4 Jan 2027.
    assert got["child_seen_local"] == "2027-01-06"
    assert "assessment_45" in got


@pytest.mark.parametrize(("encoding", "says"), [
    ("utf-16", "is UTF-16 text"),  # with its byte-order mark, as Windows "Unicode" saves
    ("utf-16-le", "is UTF-16 text"),  # without one
    ("utf-8-sig", "starts with a byte-order mark"),  # Notepad's "UTF-8 with BOM"
    ("latin-1", "is not UTF-8 text (line 1)"),
])
def test_an_events_file_not_in_plain_utf8_is_one_sentence_and_exit_2(
    tmp_path: Path, encoding: str, says: str
) -> None:
    text = json.dumps({"case": "123456", "type": "referral_received",
                       "at": "2026-11-02T10:00", "track": "s17"}) + "\n"
    good = tmp_path / "good.jsonl"
    good.write_text(text, encoding="utf-8")
    ok = caseclock("deadlines", "--policy", "bexley", "--events", str(good), "--json",
                   "--now", "2026-11-04T12:00")
    assert ok.returncode == 0 and "child_visited" in ok.stdout, ok.stderr
    bad = tmp_path / "bad.jsonl"
    # The same event (with a note in French, so Latin-1 differs from UTF-8 too).
    bad.write_text(text.replace("}", ', "note": "café"}'), encoding=encoding)
    out = caseclock("deadlines", "--policy", "bexley", "--events", str(bad), "--json",
                    "--now", "2026-11-04T12:00")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (f"caseclock: {bad} {says}: save it as UTF-8 without a byte-order "
                          "mark, one JSON event per line.\n")


def test_a_reader_that_stops_early_gets_no_broken_pipe_error(tmp_path: Path) -> None:
    # Far more than a pipe holds, so caseclock is still writing when `head` goes away.
    events = [{"case": f"{100000 + n}", "type": "referral_received",
               "at": "2026-11-02T10:00", "track": "s47"} for n in range(600)]
    f = write_events(tmp_path / "many.jsonl", *events)
    for args in (("deadlines", "--policy", "bexley", "--events", str(f), "--now",
                  "2026-11-04T12:00"),
                 ("deadlines", "--policy", "bexley", "--events", str(f), "--json", "--now",
                  "2026-11-04T12:00")):
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline().decode()  # what `| head -1` prints
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
        assert first.startswith(("case ", "[")), first
        assert "Traceback" not in err and "BrokenPipe" not in err, err
        assert err == "" and proc.returncode == 141


@pytest.mark.parametrize("args", [
    ("policy", "list"),
    ("policy", "show", "suffolk"),
    ("policy", "explain", "suffolk", "--referral", "02/11/2026"),
])
def test_a_reader_that_reads_nothing_gets_no_broken_pipe_error(args: tuple[str, ...]) -> None:
    # `caseclock policy show suffolk | true`: the reader is gone before the first write, so
    # the output, short enough to sit in the buffer, fails only at the final flush.
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err and "ignored" not in err, err
    assert err == "" and proc.returncode == 141
    # And with a reader, the same command says what it should.
    shown = caseclock(*args)
    assert shown.returncode == 0 and shown.stdout.startswith(("bexley", "suffolk")), shown
