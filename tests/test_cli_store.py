"""`team`, `log`, `case` and `run` driven as a shell user would, on a database of their own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store import repo
from store.db import open_database
from tests.test_cli_deadlines import caseclock


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "HOME": str(tmp_path)}


def recent(days: float) -> str:
    """An ISO instant `days` ago (the CLI refuses the future, so tests log the past)."""
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="minutes")


def test_team_log_and_case_json(env: dict[str, str], tmp_path: Path) -> None:
    assert caseclock("team", "add", "north", "--policy", "bexley", env=env,
                     cwd=tmp_path).returncode == 0
    out = caseclock("log", "123456", "referral_received", "track=s47", "--at", recent(3),
                    env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Logged referral received for 123456")
    assert "New: Case allocated within 24 hours" in out.stdout and "Next:" in out.stdout
    seen = caseclock("log", "123456", "child_seen", "alone=yes", "--at", recent(2),
                     env=env, cwd=tmp_path)
    assert seen.returncode == 0, seen.stderr
    assert "Met: Child visited no later than 5 days" in seen.stdout
    case = caseclock("case", "123456", "--json", env=env, cwd=tmp_path)
    assert case.returncode == 0, case.stderr
    got = {d["rule"]: d["status"] for d in json.loads(case.stdout)["deadlines"]}
    assert got["child_visited"] == "met" and got["allocation"] == "overdue"
    text = caseclock("case", "123456", env=env, cwd=tmp_path).stdout
    assert "team north, policy bexley" in text and "via cli" in text


def test_log_takes_options_and_fields_in_any_order_and_the_chat_dates(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert caseclock("team", "add", "east", "--policy", "suffolk", env=env,
                     cwd=tmp_path).returncode == 0
    logs = [  # (arguments as typed, the moment the reply names)
        (("123456", "referral_received", "--team", "east", "--at", "2026-11-02T09:00",
          "track=s17"), "Mon 2 Nov 2026 09:00"),  # the order `caseclock log --help` shows
        (("--at", "03/11/2026 9.15", "123456", "allocated", "worker=jo"),
         "Tue 3 Nov 2026 09:15"),
        (("123456", "child_seen", "--at", "3/11/2026", "14:30", "alone=yes"),  # unquoted
         "Tue 3 Nov 2026 14:30"),
        (("123456", "family_contacted", "--at", "2026-11-04"), "Wed 4 Nov 2026 12:00"),
        (("123456", "assessment_started", "--at", "2026-11-04 13:05:00"),  # ISO still reads
         "Wed 4 Nov 2026 13:05"),
    ]
    for args, moment in logs:
        out = caseclock("log", *args, env=env, cwd=tmp_path)
        assert out.returncode == 0, (args, out.stderr)
        assert f"for 123456 at {moment} (event " in out.stdout, out.stdout
    case = json.loads(caseclock("case", "123456", "--json", env=env, cwd=tmp_path).stdout)
    assert [(e["type"], e["at"], e["fields"]) for e in case["events"]] == [
        ("referral_received", "2026-11-02T09:00:00+00:00", {"track": "s17"}),
        ("allocated", "2026-11-03T09:15:00+00:00", {"worker": "jo"}),
        ("child_seen", "2026-11-03T14:30:00+00:00", {"alone": True}),
        ("family_contacted", "2026-11-04T12:00:00+00:00", {}),
        ("assessment_started", "2026-11-04T13:05:00+00:00", {}),
    ]
    bad = caseclock("log", "123456", "child_seen", "--at", "31/13", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "'31/13' has no month 13: dates are day first" in bad.stderr
    assert "13/31" not in bad.stderr  # no such date to suggest
    after = json.loads(caseclock("case", "123456", "--json", env=env, cwd=tmp_path).stdout)
    assert len(after["events"]) == 5


def test_case_json_is_the_case_its_timeline_and_its_deadlines(
    env: dict[str, str], tmp_path: Path
) -> None:
    caseclock("team", "add", "north", "--policy", "bexley", env=env, cwd=tmp_path)
    for args in (("referral_received", "track=s47", "--team", "north", "--at",
                  "2026-11-02T09:00"),
                 ("allocated", "worker=jo", "--at", "2026-11-02T10:00"),
                 ("child_seen", "alone=yes", "--at", "2026-11-03T15:00")):
        out = caseclock("log", "123456", *args, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    seen_id = json.loads(caseclock("case", "123456", "--json", env=env,
                                   cwd=tmp_path).stdout)["events"][2]["id"]
    void = caseclock("log", "123456", "event_voided", f"event_id={seen_id}",
                     "reason=wrong case", "--at", "2026-11-04T09:00", env=env, cwd=tmp_path)
    assert void.returncode == 0, void.stderr
    out = caseclock("case", "123456", "--json", "--now", "2026-11-10T12:00", env=env,
                    cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    case = json.loads(out.stdout)
    assert {k: case[k] for k in ("case", "team", "policy", "allocated_worker")} == {
        "case": "123456", "team": "north", "policy": "bexley", "allocated_worker": "jo"}
    events = case["events"]
    assert [e["type"] for e in events] == ["referral_received", "allocated", "child_seen",
                                           "event_voided"]
    seen = events[2]
    assert seen["id"] == seen_id and seen["voided"] is True
    assert seen["at"] == "2026-11-03T15:00:00+00:00" and seen["fields"] == {"alone": True}
    assert seen["source"] == "cli" and seen["recorded_by"].startswith("cli:")
    assert seen["recorded_at"].startswith("20") and events[0]["voided"] is False
    assert events[3]["fields"] == {"event_id": seen_id, "reason": "wrong case"}
    # The deadlines are the objects of `deadlines --json`: the voided visit meets nothing.
    visit = next(d for d in case["deadlines"] if d["rule"] == "child_visited")
    assert visit["status"] == "overdue" and visit["met_by_event"] is None


def test_refusals_from_the_store_commands_exit_2_and_store_nothing(
    env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    caseclock("team", "add", "north", "--policy", "bexley", env=env, cwd=tmp_path)
    caseclock("team", "add", "south", "--policy", "suffolk", env=env, cwd=tmp_path)
    cases = [
        (("team", "add", "east", "--policy", "kent"), "is not a policy pack"),
        (("team", "add", "north", "--policy", "medway"), "already exists"),
        (("log", "123456", "referral_received", "track=s17"), "say which team"),
        (("log", "123456", "referral_received", "track=s17", "--team", "west"),
         "there is no team west"),
        (("log", "123456", "referral_received", "s17", "--team", "north"), "name=value"),
        (("log", "J Smith", "referral_received", "track=s17", "--team", "north"),
         "not a case reference"),
        # A name of letters only fits "3-20 letters and digits" but is still refused.
        (("log", "Smith", "referral_received", "track=s17", "--team", "north"),
         "never a name"),
        (("log", "JohnSmith", "child_seen", "--team", "north"), "not a case reference"),
        # Only a contact or a referral opens a case.
        (("log", "123456", "assessment_authorised", "--team", "north"),
         "there is no case 123456: log its contact or referral first"),
        (("log", "123456", "child_seen", "alone=true", "--team", "north"),
         "there is no case 123456: log its contact or referral first"),
        (("log", "123456", "referral_received", "track=s17", "--team", "north", "--at",
          "2999-01-01T10:00"), "in the future"),
        (("case", "654321"), "there is no case 654321"),
    ]
    for args, says in cases:
        out = caseclock(*args, env=env, cwd=tmp_path)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert says in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1
    listed = caseclock("team", "list", env=env, cwd=tmp_path).stdout
    assert "east" not in listed and "north: policy bexley" in listed
    assert caseclock("case", "123456", env=env, cwd=tmp_path).returncode == 2
    engine, sessions = open_database(database_url)
    with sessions() as s:
        assert repo.case_references(s) == [] and repo.count_rows(s)["events"] == 0
    engine.dispose()


def test_run_loads_samples_on_a_first_run_then_answers_commands(tmp_path: Path) -> None:
    # The README's run command on the embedded default: SQLite file in the working directory,
    # the console reading commands from standard input.
    env = {"DATABASE_URL": "sqlite:///caseclock.db", "HOME": str(tmp_path)}
    first = caseclock("run", env=env, cwd=tmp_path, stdin="/case 100202\n")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "caseclock.db").exists()
    assert "sample teams, staff" in first.stdout
    assert "You are jo (worker, team north-assessment)" in first.stdout
    assert "Due for your team:" in first.stdout
    assert "Case 100202: team north-assessment, bexley" in first.stdout
    again = caseclock("run", env=env, cwd=tmp_path, stdin="")
    assert again.returncode == 0 and "sample teams" not in again.stdout
