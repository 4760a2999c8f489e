"""`caseclock import`: a council's open caseload from its case-management system's export."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select

from bot.directory import Directory
from bot.importer import parse_moment, read_caseload, read_map
from bot.transports.plain import plain
from scheduler.bulk_import import CaseloadImport
from scheduler.casebook import Casebook
from scheduler.reminders.content import from_json
from scheduler.reminders.outbox import Outbox
from store import repo
from store.db import open_database
from store.models import AuditEntry, EventRow, OutboxRow
from tests.builders import at
from tests.conftest import FakeClock
from tests.test_cli_deadlines import ROOT, caseclock

NOW = "2026-11-30T12:00"  # Mon 30 Nov 2026, midday


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    out = {"DATABASE_URL": database_url, "HOME": str(tmp_path)}
    assert caseclock("team", "add", "north", "--policy", "working-together-2023", env=out,
                     cwd=tmp_path).returncode == 0
    return out


def counts(database_url: str) -> dict[str, int]:
    engine, sessions = open_database(database_url)
    with sessions() as s:
        out = repo.count_rows(s)
    engine.dispose()
    return out


def case_json(ref: str, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    out = caseclock("case", ref, "--json", "--now", NOW, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return {d["rule"]: d["status"] for d in json.loads(out.stdout)["deadlines"]}


LCS_HEADERS = ("Child ID,Team,Referral Type,Allocated Worker,Referral Date,Child Seen Date,"
               "Seen Alone,Strategy Discussion Date,ICPC Date,CP Plan,"
               "Assessment Completed Date,Assessment Authorised Date,Primary Need Code")
LCS_MAP = """\
Child ID: case
Team: team
Referral Type: track
Allocated Worker: worker
Referral Date: referral_at
Child Seen Date: seen_at
Seen Alone: seen_alone
Strategy Discussion Date: strategy_at
ICPC Date: icpc_at
CP Plan: cp_plan
Assessment Completed Date: completed_at
Assessment Authorised Date: authorised_at
Primary Need Code:
"""


def test_an_lcs_export_imports_through_its_map(env: dict[str, str], tmp_path: Path,
                                               database_url: str) -> None:
    (tmp_path / "lcs.csv").write_text("\n".join((
        LCS_HEADERS,
        # Referred 1 Sep: the 45 working days ran out on Tue 3 Nov, unmet.
        "200101,north,s17,jo,01/09/2026 10:00,03/09/2026 11:00,Yes,,,,,,N1",
        # Completed and authorised in time.
        "200102,north,s17,jo,01/09/2026,03/09/2026,No,,,,20/10/2026,21/10/2026 16:30,N2",
        # Section 47: strategy on 2 Oct, conference on 21 Oct with a plan.
        "200103,north,s47,sam,02/10/2026 09:00,02/10/2026 15:00,yes,02/10/2026 11:00,"
        "21/10/2026 10:00,yes,,,N1",
    )) + "\n", encoding="utf-8")
    (tmp_path / "lcs-map.yaml").write_text(LCS_MAP, encoding="utf-8")
    out = caseclock("import", "cases", "lcs.csv", "--map", "lcs-map.yaml", "--now", NOW,
                    env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    # The export names workers but no allocation dates: no allocation event is made up.
    assert "Imported lcs.csv: 3 new case(s), 0 updated, 10 event(s), marked " \
        "import:lcs.csv" in out.stdout
    assert case_json("200101", env, tmp_path)["assessment_45"] == "overdue"
    assert case_json("200102", env, tmp_path)["assessment_45"] == "met"
    s47 = case_json("200103", env, tmp_path)
    assert s47["icpc_15"] == "met" and s47["core_group_10"] == "overdue"
    timeline = caseclock("case", "200103", "--now", NOW, env=env, cwd=tmp_path).stdout
    assert "allocated to sam" in timeline
    assert "icpc_held (cp_plan=True)" in timeline and "child_seen (alone=True)" in timeline
    assert "by cli:" in timeline and "via import:lcs.csv" in timeline
    # The column mapped to nothing is not read, and none of its values is stored.
    engine, sessions = open_database(database_url)
    with sessions() as s:
        stored = json.dumps([r.fields for r in s.scalars(sql_select(EventRow))])
        audit = [(a.actor.split(":")[0], a.action, a.detail) for a in s.scalars(
            sql_select(AuditEntry).where(AuditEntry.source == "import:lcs.csv"))]
    engine.dispose()
    assert "track" in stored and "N1" not in stored and "N2" not in stored
    # The audit trail shows the import apart: who ran it, from which file, case by case,
    # with references and counts only.
    assert sorted(audit, key=str) == [
        ("cli", "case_imported", {"case": "200101", "events": 2}),
        ("cli", "case_imported", {"case": "200102", "events": 4}),
        ("cli", "case_imported", {"case": "200103", "events": 4})]


def test_a_mosaic_export_with_its_own_date_and_flag_styles(env: dict[str, str],
                                                           tmp_path: Path) -> None:
    (tmp_path / "mosaic.csv").write_text(
        "\ufeffPerson ID,Team Name,Worker Name,Contact Date,Referral Start Date,Workflow,"
        "Date Child Seen,Seen Alone (Y/N),Single Assessment Completed\n"
        "300201,north,jo,19-Nov-2026 09:30,20-Nov-2026 14:30,s17,24/11/2026 10:15:00,Y,\n"
        "300202,north,,02/11/2026 08:00:00,,,,,\n", encoding="utf-8")
    (tmp_path / "mosaic.yaml").write_text(
        "Person ID: case\nTeam Name: team\nWorker Name: worker\nContact Date: contact_at\n"
        "Referral Start Date: referral_at\nWorkflow: track\nDate Child Seen: seen_at\n"
        "Seen Alone (Y/N): seen_alone\nSingle Assessment Completed: completed_at\n",
        encoding="utf-8")
    out = caseclock("import", "cases", "mosaic.csv", "--map", "mosaic.yaml", "--now", NOW,
                    env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2 new case(s), 0 updated, 4 event(s)" in out.stdout
    timeline = caseclock("case", "300201", "--now", NOW, env=env, cwd=tmp_path).stdout
    for line in ("Thu 19 Nov 2026 09:30  contact_received",
                 "Fri 20 Nov 2026 14:30  referral_received (track=s17)",
                 "Tue 24 Nov 2026 10:15  child_seen (alone=True)"):
        assert line in timeline
    # A contact alone opens a case: its decision was due the next working day.
    assert case_json("300202", env, tmp_path)["referral_decision"] == "overdue"


def test_every_kind_of_bad_row_is_refused_with_its_line_and_the_rest_stored(
        env: dict[str, str], tmp_path: Path, database_url: str) -> None:
    (tmp_path / "cases.csv").write_text(
        "case,team,track,referral_at,contact_at,completed_at\n"
        "400301,north,s17,02/11/2026,,\n"  # good
        "400302,south,s17,02/11/2026,,\n"  # unknown team
        "Smith,north,s17,02/11/2026,,\n"  # a name as the case reference
        "400304,north,s17,31/02/2026,,\n"  # an impossible date
        "400305,north,s17,10/11/2026,,01/11/2026\n"  # completed before its referral
        "400306,north,s17,,,20/11/2026\n"  # neither a referral nor a contact
        "400307,north,,02/11/2026,,\n"  # a referral without its track
        "400308,north,s17,02/12/2026,,\n"  # in the future
        "400301,north,s17,03/11/2026,,\n",  # the same case again
        encoding="utf-8")
    before = counts(database_url)
    dry = caseclock("import", "cases", "cases.csv", "--dry-run", "--now", NOW, env=env,
                    cwd=tmp_path)
    assert counts(database_url) == before  # a dry run stores nothing
    assert "Would store 1 new case(s), 0 updated, 1 event(s)" in dry.stdout
    all_or_nothing = caseclock("import", "cases", "cases.csv", "--all-or-nothing", "--now",
                               NOW, env=env, cwd=tmp_path)
    assert all_or_nothing.returncode == 2 and counts(database_url) == before
    assert "8 row(s) of cases.csv cannot be imported, so nothing was stored" in \
        all_or_nothing.stderr
    out = caseclock("import", "cases", "cases.csv", "--now", NOW, env=env, cwd=tmp_path)
    assert out.returncode == 2 and "1 new case(s), 0 updated, 1 event(s)" in out.stdout
    refusals = [line for line in out.stderr.splitlines() if line.startswith("caseclock: line")]
    expected = [
        "line 3: there is no team 'south': teams are north",
        "line 4: 'Smith' is not a case reference",
        "line 5: '31/02/2026' in referral_at is not a real date: type 2026-11-21, 21/11/2026",
        "line 6: completed_at (01/11/2026) is before referral_at (10/11/2026)",
        "line 7: case 400306 has no referral_at or contact_at: a case starts with a contact",
        "line 8: referral_at has no track: give s17, s47 or early_help",
        "line 9: 02/12/2026 12:00 is in the future",
        "line 10: case 400301 is already on line 2: give each case one row.",
    ]
    assert len(refusals) == len(expected), out.stderr
    for got, want in zip(refusals, expected, strict=True):
        assert want in got
        assert got.count(". ") == 0 and got.endswith(".")  # one sentence each
    assert dry.stderr.count("caseclock: line") == len(expected)
    assert counts(database_url)["cases"] == 1
    assert case_json("400301", env, tmp_path)["assessment_45"] == "pending"


def test_the_dry_run_counts_deadlines_overdue_and_due_this_week(env: dict[str, str],
                                                                tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(
        "case,team,track,referral_at,strategy_at\n"
        "500401,north,s17,01/10/2026,\n"  # 45 days end Thu 3 Dec: due this week
        "500402,north,s17,01/09/2026,\n"  # 45 days ended Tue 3 Nov: overdue
        # Strategy 2 Oct: conference due Fri 23 Oct, overdue; 45 days end Fri 4 Dec.
        "500403,north,s47,02/10/2026 09:00,02/10/2026 11:00\n"
        "500404,north,s17,20/11/2026,\n",  # 45 days end Wed 27 Jan 2027: neither
        encoding="utf-8")
    out = caseclock("import", "cases", "cases.csv", "--dry-run", "--now", NOW, env=env,
                    cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Would store 4 new case(s), 0 updated, 5 event(s)" in out.stdout
    assert "Deadlines: 2 now overdue, 2 due this week." in out.stdout


def test_importing_the_same_file_again_stores_nothing_new(env: dict[str, str], tmp_path: Path,
                                                          database_url: str) -> None:
    rows = ["case,team,track,referral_at,seen_at,completed_at",
            "600501,north,s17,02/11/2026 10:00,04/11/2026 12:00,",
            "600502,north,s47,03/11/2026,,"]
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    first = caseclock("import", "cases", "cases.csv", "--now", NOW, env=env, cwd=tmp_path)
    assert first.returncode == 0 and "2 new case(s), 0 updated, 3 event(s)" in first.stdout
    stored = counts(database_url)
    again = caseclock("import", "cases", "cases.csv", "--now", NOW, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 new case(s), 0 updated, 0 event(s)" in again.stdout
    assert "2 row(s) already stored" in again.stdout
    assert counts(database_url) == stored
    # A later export with the assessment completed adds that event alone.
    rows[1] += "25/11/2026 16:00"
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    later = caseclock("import", "cases", "cases.csv", "--now", NOW, env=env, cwd=tmp_path)
    assert "0 new case(s), 1 updated, 1 event(s)" in later.stdout
    assert counts(database_url)["events"] == stored["events"] + 1


def test_import_events_takes_the_deadlines_events_format(env: dict[str, str], tmp_path: Path,
                                                         database_url: str) -> None:
    lines = [
        {"case": "700601", "type": "referral_received", "at": "2026-11-02T10:00",
         "track": "s47"},
        {"case": "700601", "type": "strategy_discussion_held", "at": "2026-11-02T15:00"},
        {"case": "J Smith", "type": "referral_received", "at": "2026-11-02T10:00",
         "track": "s17"},
        {"case": "700602", "type": "child_seen", "at": "2026-11-03T10:00"},
    ]
    (tmp_path / "ev.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n",
                                       encoding="utf-8")
    out = caseclock("import", "events", "ev.jsonl", "--now", NOW, env=env, cwd=tmp_path)
    assert out.returncode == 2
    assert "1 new case(s), 0 updated, 2 event(s)" in out.stdout
    assert "caseclock: line 3: 'J Smith' is not a case reference" in out.stderr
    assert "caseclock: line 4: case 700602" in out.stderr
    assert case_json("700601", env, tmp_path)["icpc_15"] == "overdue"  # due Mon 23 Nov
    again = caseclock("import", "events", "ev.jsonl", "--now", NOW, env=env, cwd=tmp_path)
    assert "1 row(s) already stored" in again.stdout and counts(database_url)["events"] == 2


def test_a_progress_bar_shows_at_a_terminal_and_not_in_a_pipe(env: dict[str, str],
                                                              tmp_path: Path) -> None:
    rows = [f"{800000 + i},north,s17,02/11/2026" for i in range(3000)]
    (tmp_path / "big.csv").write_text("case,team,track,referral_at\n" + "\n".join(rows),
                                      encoding="utf-8")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the import on a pseudo-terminal
        os.chdir(tmp_path)
        os.execve(sys.executable, [sys.executable, "-m", "bot.cli", "import", "cases",
                                   "big.csv", "--dry-run", "--now", NOW],
                  {**os.environ, **env, "PYTHONPATH": str(ROOT), "COLUMNS": "100"})
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    _, status = os.waitpid(pid, 0)
    text = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-500:]
    assert "Importing" in text and "3000/3000" in text and "━" in text
    assert "Would store 3000 new case(s)" in text
    piped = caseclock("import", "cases", "big.csv", "--dry-run", "--now", NOW, env=env,
                      cwd=tmp_path)
    assert "Would store 3000 new case(s)" in piped.stdout
    assert "Importing" not in piped.stderr + piped.stdout and "━" not in piped.stderr


def test_uk_and_iso_moments() -> None:
    assert parse_moment("21/11/2026 14:30", "x") == at(2026, 11, 21, 14, 30)
    assert parse_moment("21/11/2026", "x") == at(2026, 11, 21, 12, 0)
    assert parse_moment("2026-11-21T14:30", "x") == at(2026, 11, 21, 14, 30)
    assert parse_moment("03/12/2026", "x").month == 12  # day first, never month first
    for bad in ("13/13/2026", "2026-02-30", "yesterday", "21/11/1899"):
        with pytest.raises(ValueError, match="is not a real date"):
            parse_moment(bad, "referral_at")


def test_a_file_without_the_columns_it_needs_is_refused_whole() -> None:
    with pytest.raises(ValueError, match="no 'case' column"):
        read_caseload(["Ref,team,referral_at\n"], ["north"])
    with pytest.raises(ValueError, match="no 'referral_at' or 'contact_at' column"):
        read_caseload(["case,team,seen_at\n"], ["north"])
    with pytest.raises(ValueError, match="with --team TEAM"):
        read_caseload(["case,referral_at\n"], ["north"])
    assert len(read_caseload(["case,referral_at,track\n", "123456,02/11/2026,s17\n"],
                             ["north"], default_team="north").rows) == 1
    # A typo in a map is refused, not read as a column to ignore.
    with pytest.raises(ValueError, match="maps 'Referral Date' to 'referal_at', which is not a "
                                         "column caseclock reads: use one of case, team"):
        read_map("Referral Date: referal_at\n", "lcs-map.yaml")
    assert read_map("Referral Date: referral_at\nPrimary Need Code:\n", "m") == {
        "referral date": "referral_at", "primary need code": ""}


# --- imported history and reminders ------------------------------------------------------

def test_deadlines_missed_before_the_import_go_to_the_manager_once_in_one_summary(
        casebook: Casebook, clock: FakeClock) -> None:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    directory.add("jo", "worker", "north", "UJO")
    directory.add("priya", "manager", "north", "UPRIYA")
    directory.add("morgan", "service_manager", None, "UMORGAN")
    lines = ["case,team,track,worker,referral_at",
             # Referred in September: the visit, the 15 and the 45 days all long missed.
             "910001,north,s17,jo,01/09/2026 10:00",
             "910002,north,s17,jo,02/09/2026 10:00",
             # Referred Fri 27 Nov: its visit falls due on Fri 4 Dec, prompted as usual.
             "910003,north,s17,jo,27/11/2026 10:00"]
    read = read_caseload(lines, ["north"])
    clock.now = at(2026, 11, 30, 9, 0)  # Monday, in working hours
    outbox = Outbox(casebook.sessions, casebook.library, {}, transport_for=lambda _r: "slack")
    CaseloadImport(casebook, "cli:test", "import:cases.csv", outbox).run(read.rows)
    outbox.sweep(clock.now)
    with casebook.sessions() as s:
        rows = s.scalars(sql_select(OutboxRow)).all()
    summaries = [r for r in rows if r.rule == "import_summary"]
    assert [r.recipient for r in summaries] == ["staff:priya"]
    text = plain(from_json(summaries[0].payload))
    # Four each: allocation (the export gives no allocation date, so none is assumed), the
    # visit, the 15-day and the 45-day assessment; and 910003's allocation, due Sat 28 Nov.
    assert "9 deadlines already missed before the import" in text
    for ref in ("910001", "910002"):
        assert f"{ref} Assessment completed and authorised within 45 working days" in text
        assert f"{ref} Case allocated within 24 hours of the referral" in text
    assert "910003 Child visited" not in text
    # Not one prompt each: nothing else about the imported history goes to anyone.
    assert not [r for r in rows if r.case_ref in ("910001", "910002")]
    assert not [r for r in rows if r.case_ref]  # and nothing is due yet for 910003
    # Later sweeps send no second summary, and no burst once escalation times pass.
    clock.now = at(2026, 12, 2, 9, 0)
    outbox.sweep(clock.now)
    with casebook.sessions() as s:
        later = s.scalars(sql_select(OutboxRow)).all()
    assert len([r for r in later if r.rule == "import_summary"]) == 1
    assert not [r for r in later if r.case_ref in ("910001", "910002")]
    # The case imported with its deadlines ahead is prompted as any other.
    assert [(r.case_ref, r.rule, r.stage, r.recipient) for r in later if r.case_ref] == [
        ("910003", "child_visited", "upcoming", "staff:jo")]
    # The digest still shows them: the manager's summary counts them among the overdue.
    digest = [r for r in later if r.rule == "manager_summary"]
    assert digest and "910001" in plain(from_json(digest[-1].payload))


def summaries_of(database_url: str) -> list[tuple[str, str]]:
    """(recipient, text) of every import summary in the outbox, in the order made."""
    engine, sessions = open_database(database_url)
    with sessions() as s:
        rows = s.scalars(sql_select(OutboxRow).where(OutboxRow.rule == "import_summary")
                         .order_by(OutboxRow.id)).all()
        out = [(r.recipient, plain(from_json(r.payload))) for r in rows]
    engine.dispose()
    return out


def test_the_corrected_rows_imported_again_the_same_day_get_a_summary_of_their_own(
        env: dict[str, str], tmp_path: Path, database_url: str) -> None:
    assert caseclock("staff", "add", "priya", "--team", "north", "--role", "manager",
                     env=env, cwd=tmp_path).returncode == 0
    rows = ["case,team,track,worker,referral_at",
            "930001,north,s17,jo,01/09/2026 10:00",
            "930002,north,s17,jo,31/09/2026 10:00"]  # no 31 September: refused
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    first = caseclock("import", "cases", "cases.csv", "--now", NOW, env=env, cwd=tmp_path)
    assert first.returncode == 2 and "line 3: '31/09/2026 10:00'" in first.stderr
    # A sweep runs (Mon 30 Nov, working hours), then the corrected file is imported again.
    assert caseclock("notify", "--now", NOW, env=env, cwd=tmp_path).returncode == 0
    rows[2] = "930002,north,s17,jo,02/09/2026 10:00"
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    again = caseclock("import", "cases", "cases.csv", "--now", "2026-11-30T14:00", env=env,
                      cwd=tmp_path)
    assert again.returncode == 0 and "1 new case(s), 0 updated" in again.stdout
    assert caseclock("notify", "--now", "2026-11-30T14:01", env=env,
                     cwd=tmp_path).returncode == 0
    summaries = summaries_of(database_url)
    assert [r for r, _ in summaries] == ["staff:priya", "staff:priya"]
    (_, one), (_, two) = summaries
    assert "930001 Assessment completed and authorised within 45 working days" in one
    assert "930002" not in one
    # The second run's summary holds its own case alone, not the first's again.
    assert "930002 Assessment completed and authorised within 45 working days" in two
    assert "930001" not in two


def test_a_sweep_between_the_chunks_of_an_import_does_not_cut_its_summary_short(
        casebook: Casebook, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    directory.add("priya", "manager", "north", "UPRIYA")
    monkeypatch.setattr("scheduler.bulk_import.CHUNK", 2)  # five cases: three transactions
    lines = ["case,team,track,worker,allocated_at,referral_at"] + [
        f"94000{i},north,s17,jo,0{i}/09/2026 11:00,0{i}/09/2026 10:00" for i in range(1, 6)]
    clock.now = at(2026, 11, 30, 9, 0)
    outbox = Outbox(casebook.sessions, casebook.library, {}, transport_for=lambda _r: "slack")
    # The minute sweep runs after each chunk is committed, before the next.
    CaseloadImport(casebook, "cli:test", "import:cases.csv", outbox).run(
        read_caseload(lines, ["north"]).rows, progress=lambda _n: outbox.sweep(clock.now))
    clock.now = at(2026, 11, 30, 9, 1)
    outbox.sweep(clock.now)
    with casebook.sessions() as s:
        rows = s.scalars(sql_select(OutboxRow)).all()
    summaries = [r for r in rows if r.rule == "import_summary"]
    assert [r.recipient for r in summaries] == ["staff:priya"]
    text = plain(from_json(summaries[0].payload))
    # The visit, the 15 and the 45 days of each of the five (allocated within the day): all
    # three chunks, not the first alone (6) that a sweep in between could see.
    assert "15 deadlines already missed before the import" in text
    assert "940001 Child visited no later than 5 days after the referral" in text
    assert "allocated within 24 hours" not in text


def test_a_worker_without_an_allocation_date_is_not_an_allocation_on_time(
        tmp_path: Path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "HOME": str(tmp_path)}
    assert caseclock("team", "add", "east", "--policy", "bexley", env=env,
                     cwd=tmp_path).returncode == 0
    rows = ["case,team,track,worker,allocated_at,referral_at",
            # Allocated 3 Nov, the day after the referral of 2 Nov: met, late.
            "950001,east,s17,jo,03/11/2026 15:00,02/11/2026 10:00",
            # The export names the worker but not when the case was allocated.
            "950002,east,s17,jo,,02/11/2026 10:00"]
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    first = caseclock("import", "cases", "cases.csv", "--now", NOW, env=env, cwd=tmp_path)
    assert first.returncode == 0 and "2 new case(s), 0 updated, 3 event(s)" in first.stdout
    assert case_json("950001", env, tmp_path)["allocation"] == "met_late"
    # Not met on time by an allocation made up at the referral: it stays as the export has it.
    assert case_json("950002", env, tmp_path)["allocation"] == "overdue"
    shown = caseclock("case", "950002", "--json", "--now", NOW, env=env, cwd=tmp_path)
    case = json.loads(shown.stdout)
    assert case["allocated_worker"] == "jo"
    assert [e["type"] for e in case["events"]] == ["referral_received"]
    # A later export with the case passed to sam is a reallocation, not "already stored".
    rows[2] = "950002,east,s17,sam,,02/11/2026 10:00"
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    dry = caseclock("import", "cases", "cases.csv", "--dry-run", "--now", NOW, env=env,
                    cwd=tmp_path)
    assert "Would reallocate: 1 case(s) to the worker the file names." in dry.stdout
    again = caseclock("import", "cases", "cases.csv", "--now", NOW, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 new case(s), 1 updated, 0 event(s)" in again.stdout
    assert "1 row(s) already stored" in again.stdout
    assert "Reallocated: 1 case(s) now held by the worker the file names." in again.stdout
    shown = caseclock("case", "950002", "--json", "--now", NOW, env=env, cwd=tmp_path)
    assert json.loads(shown.stdout)["allocated_worker"] == "sam"
    assert case_json("950002", env, tmp_path)["allocation"] == "overdue"


def test_an_import_at_the_weekend_holds_its_summary_for_monday_morning(
        casebook: Casebook, clock: FakeClock) -> None:
    directory = Directory(casebook.sessions)
    casebook.add_team("north", "bexley", slack_channel="CNORTH")
    directory.add("priya", "manager", "north", "UPRIYA")
    lines = ["case,team,track,referral_at", "960001,north,s17,01/09/2026 10:00"]
    clock.now = at(2026, 11, 28, 10, 0)  # Saturday
    outbox = Outbox(casebook.sessions, casebook.library, {}, transport_for=lambda _r: "slack")
    CaseloadImport(casebook, "cli:test", "import:cases.csv", outbox).run(
        read_caseload(lines, ["north"]).rows)
    with casebook.sessions() as s:
        rows = s.scalars(sql_select(OutboxRow)).all()
    assert [(r.rule, r.recipient) for r in rows] == [("import_summary", "staff:priya")]
    assert "960001 Case allocated within 24 hours" in plain(from_json(rows[0].payload))
    # A direct message: it waits for the start of working hours, Mon 30 Nov 08:30.
    assert rows[0].next_attempt_at == at(2026, 11, 30, 8, 30)
