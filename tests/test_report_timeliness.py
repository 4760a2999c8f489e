"""`caseclock report timeliness` on a store built from known events, every count by hand.

The period is October 2026; the report is run on Mon 30 Nov 2026. The summer bank holiday
(Mon 31 Aug 2026) falls inside every 45-working-day assessment below that starts in August,
so each of their due days is one working day later than a count of weekdays would give.

Team north (working-together-2023):
  100001 referral Mon 3 Aug; 45 working days -> due Tue 6 Oct (not Mon 5 Oct: the bank
         holiday); authorised Tue 6 Oct at 23:59 -> met on time, on its due day, 45 days taken.
  100002 referral Tue 4 Aug -> due Wed 7 Oct; authorised Thu 8 Oct 09:00 -> met late, 46 days.
  100003 referral Fri 14 Aug -> due Mon 19 Oct; never authorised -> missed and still open;
         a delay reason recorded.
  100004 referral Wed 5 Aug -> due Thu 8 Oct; closed Mon 12 Oct -> missed and stopped.
  100005 referral Mon 10 Aug -> due Tue 13 Oct; closed Tue 1 Sep -> never due (cancelled).
  100006 strategy discussion Mon 14 Sep -> conference due Mon 5 Oct; held Fri 2 Oct with a
         plan -> on time; its first core group (10 working days: Fri 16 Oct) never held.
  100007 strategy discussion Mon 21 Sep -> conference due Mon 12 Oct; held Tue 13 Oct -> late.
Team south (working-together-2023):
  200001 referral Mon 17 Aug -> due Tue 20 Oct; authorised Fri 28 Aug -> on time, 9 days.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.report_commands import build_report, report_csv, report_json
from bot.report_html import report_html
from scheduler.casebook import Casebook
from scheduler.timescales.calendar import LONDON

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)
OCT_1, OCT_31 = date(2026, 10, 1), date(2026, 10, 31)


def at(m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=LONDON)


def build_store(cb: Casebook) -> None:
    """The case set of the module docstring."""
    cb.add_team("north", "working-together-2023")
    cb.add_team("south", "working-together-2023")

    def log(case: str, type_: str, when: datetime, team: str = "north", **fields: object
            ) -> None:
        cb.log(case, type_, when, dict(fields), actor="test", source="test", team=team)

    for case, referral, worker in (("100001", at(8, 3), "jo"), ("100002", at(8, 4), "jo"),
                                   ("100003", at(8, 14), "sam"), ("100004", at(8, 5), None),
                                   ("100005", at(8, 10), None)):
        log(case, "referral_received", referral, track="s17")
        if worker:
            log(case, "allocated", referral.replace(hour=11), worker=worker)
    log("100001", "assessment_completed", at(10, 6, 9))
    log("100001", "assessment_authorised", at(10, 6, 23, 59))
    log("100002", "assessment_completed", at(10, 7, 9))
    log("100002", "assessment_authorised", at(10, 8, 9))
    log("100003", "delay_reason", at(10, 20), rule="assessment_45",
        reason="family unavailable")
    log("100004", "case_closed", at(10, 12), reason="moved out of area")
    log("100005", "case_closed", at(9, 1), reason="no further action")
    log("100006", "referral_received", at(9, 14, 9), track="s47")
    log("100006", "allocated", at(9, 14, 9, 30), worker="sam")
    log("100006", "strategy_discussion_held", at(9, 14, 14))
    log("100006", "icpc_held", at(10, 2), cp_plan=True)
    log("100007", "referral_received", at(9, 21, 9), track="s47")
    log("100007", "allocated", at(9, 21, 9, 30), worker="sam")
    log("100007", "strategy_discussion_held", at(9, 21, 14))
    log("100007", "icpc_held", at(10, 13), cp_plan=False)
    log("200001", "referral_received", at(8, 17), team="south", track="s17")
    log("200001", "assessment_completed", at(8, 27), team="south")
    log("200001", "assessment_authorised", at(8, 28), team="south")


@pytest.fixture
def store(casebook: Casebook) -> Casebook:
    casebook.clock.now = NOW  # type: ignore[attr-defined]
    build_store(casebook)
    return casebook


def measures(report_obj: dict[str, object]) -> dict[tuple[str, str], dict[str, int]]:
    out = {}
    for m in report_obj["measures"]:  # type: ignore[attr-defined]
        out[(m["team"], m["rule"])] = {k: m[k] for k in (
            "due", "met_on_time", "met_late", "open_overdue", "stopped_overdue")}
    return out


def test_every_count_of_october_by_hand(store: Casebook) -> None:
    report = build_report(store.sessions, store.library, OCT_1, OCT_31, NOW)
    got = measures(report_json(report))
    assert got[("north", "assessment_45")] == {
        "due": 4, "met_on_time": 1, "met_late": 1, "open_overdue": 1, "stopped_overdue": 1}
    assert got[("north", "icpc_15")] == {
        "due": 2, "met_on_time": 1, "met_late": 1, "open_overdue": 0, "stopped_overdue": 0}
    assert got[("north", "core_group_10")] == {
        "due": 1, "met_on_time": 0, "met_late": 0, "open_overdue": 1, "stopped_overdue": 0}
    assert got[("south", "assessment_45")] == {
        "due": 1, "met_on_time": 1, "met_late": 0, "open_overdue": 0, "stopped_overdue": 0}
    # Every rule of each team's pack is listed, those with nothing due with zeros.
    assert got[("south", "icpc_15")]["due"] == 0
    assert ("north", "referral_decision") in got
    assert report.days_taken["north"] == {"0-15": 0, "16-25": 0, "26-35": 0, "36-45": 1,
                                          "46-60": 1, "over 60": 0}
    assert report.days_taken["south"]["0-15"] == 1
    assert report.delay_reasons == {("north", "assessment_45", "family unavailable"): 1}
    workers = {(r.team, r.worker, r.rule): r.counts.as_dict() for r in report.by_worker}
    assert workers[("north", "jo", "assessment_45")]["met_on_time"] == 1
    assert workers[("north", "jo", "assessment_45")]["met_late"] == 1
    assert workers[("north", "sam", "assessment_45")]["open_overdue"] == 1
    assert workers[("north", "sam", "icpc_15")]["due"] == 2
    assert workers[("north", "unallocated", "assessment_45")]["stopped_overdue"] == 1
    months = {(r.team, r.month, r.rule): r.counts.due for r in report.by_month}
    assert months == {("north", "2026-10", "assessment_45"): 4,
                      ("north", "2026-10", "icpc_15"): 2,
                      ("north", "2026-10", "core_group_10"): 1,
                      ("south", "2026-10", "assessment_45"): 1}


def test_counting_from_day_one_makes_the_limit_one_day_shorter(store: Casebook) -> None:
    """The CIN validator's count: 100001, authorised on working day 45 counted from the
    referral (day 0), is on day 46 counted from day 1, so late; 100007's conference is due
    Fri 9 Oct instead of Mon 12 Oct (still late), 100006's Fri 2 Oct (still on time)."""
    report = build_report(store.sessions, store.library, OCT_1, OCT_31, NOW,
                          count_from_day_one=True)
    got = measures(report_json(report))
    assert got[("north", "assessment_45")] == {
        "due": 4, "met_on_time": 0, "met_late": 2, "open_overdue": 1, "stopped_overdue": 1}
    assert got[("north", "icpc_15")] == {
        "due": 2, "met_on_time": 1, "met_late": 1, "open_overdue": 0, "stopped_overdue": 0}
    assert report.days_taken["north"]["46-60"] == 2 and report.days_taken["north"]["36-45"] == 0
    assert report.days_taken["south"]["0-15"] == 1  # 10 days from day one: still 0-15
    # A rule of the pack other than the two DfE measures keeps its own count.
    assert got[("north", "core_group_10")]["open_overdue"] == 1


def test_a_period_after_september_finds_nothing_due_and_says_zero(store: Casebook) -> None:
    report = build_report(store.sessions, store.library, date(2026, 9, 1), date(2026, 9, 30),
                          NOW, team="south")
    got = measures(report_json(report))
    assert {team for team, _ in got} == {"south"}
    assert got[("south", "assessment_45")]["due"] == 0


def test_a_long_period_counts_each_month_as_its_own_report_does(store: Casebook) -> None:
    """Over more than a quarter the store is read another way (a scan, on SQLite): October
    inside July-November has the same counts as October alone."""
    long = build_report(store.sessions, store.library, date(2026, 7, 1), date(2026, 11, 30),
                        NOW)
    october = build_report(store.sessions, store.library, OCT_1, OCT_31, NOW)
    in_long = {(r.team, r.rule): r.counts for r in long.by_month if r.month == "2026-10"}
    alone = {(r.team, r.rule): r.counts for r in october.measures if r.counts.due}
    assert in_long == alone and len(alone) == 4
    assert sum(c.due for c in alone.values()) == 8


def _html_numbers(html: str) -> dict[tuple[str, str], list[int]]:
    """The 'By team and rule' table of the HTML report: (team, rule) -> its numbers."""
    section = html.split("<h2>By team and rule</h2>", 1)[1].split("</table>", 1)[0]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section)[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        out[(cells[0], cells[1])] = [int(c) for c in cells[2:7]]
    return out


def test_csv_json_and_html_agree(store: Casebook, database_url: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    common = ["report", "timeliness", "--from", "01/10/2026", "--to", "2026-10-31",
              "--now", NOW.isoformat()]
    outputs = {}
    for fmt in ("json", "csv", "html"):
        assert main([*common, "--format", fmt, "--out", str(tmp_path / f"r.{fmt}")]) == 0
        assert f"to {tmp_path / f'r.{fmt}'}" in capsys.readouterr().out
        outputs[fmt] = (tmp_path / f"r.{fmt}").read_text(encoding="utf-8")
    from_json = {k: list(v.values()) for k, v in measures(json.loads(outputs["json"])).items()}
    from_csv = {(r["team"], r["rule"]): [int(r[k]) for k in (
                    "due", "met_on_time", "met_late", "open_overdue", "stopped_overdue")]
                for r in csv.DictReader(io.StringIO(outputs["csv"])) if r["breakdown"] == "team"}
    from_html = _html_numbers(outputs["html"])
    assert from_json[("north", "assessment_45")] == [4, 1, 1, 1, 1]
    assert from_json == from_csv == from_html
    # The HTML agrees with the pure rendering of the same report.
    report = build_report(store.sessions, store.library, OCT_1, OCT_31, NOW)
    assert outputs["html"] == report_html(report)
    assert outputs["csv"] == report_csv(report)


def test_table_on_the_terminal_and_refusals(store: Casebook, database_url: str,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "timeliness", "--from", "01/10/2026", "--to", "31/10/2026",
                 "--now", NOW.isoformat()]) == 0
    text = capsys.readouterr().out
    assert "Timeliness of deadlines due Thu 1 Oct 2026 to Sat 31 Oct 2026" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("north")
                and "assessment_45" in ln)
    assert line.split()[2:] == ["4", "1", "1", "1", "1", "0", "25%"]
    assert "36-45: 1  46-60: 1" in text
    assert main(["report", "timeliness", "--from", "31/10/2026", "--to", "01/10/2026"]) == 2
    err = capsys.readouterr().err
    assert "the period ends (Thu 1 Oct 2026) before it starts (Sat 31 Oct 2026)" in err
    assert main(["report", "timeliness", "--from", "10/31/2026", "--to", "01/11/2026"]) == 2
    assert "'10/31/2026' in --from is not a date: type 2027-01-29 or 29/01/2027" in \
        capsys.readouterr().err
    assert main(["report", "timeliness", "--from", "01/10/2026", "--to", "31/10/2026",
                 "--team", "east"]) == 2
    assert "there is no team east: teams are north, south." in capsys.readouterr().err
