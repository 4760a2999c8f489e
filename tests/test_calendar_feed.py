"""A person's deadlines as a calendar feed: `calendar link NAME`, `/calendar/<token>.ics`,
`calendar revoke NAME`. The feed is read through the Starlette route with its TestClient."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.calendar_feed import calendar_route, issue_token, revoke_tokens
from bot.cli import main
from bot.directory import Directory
from scheduler.casebook import Casebook
from scheduler.timescales.calendar import LONDON
from store.calendar_tokens import CalendarToken

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=LONDON)  # Mon 30 Nov 2026


@pytest.fixture
def book(casebook: Casebook) -> Casebook:
    """Team north on Bexley's pack: jo (worker), kim (manager). 100101 is jo's, referred this
    morning; 100102 is referred and not yet allocated; 100103 awaits kim's sign-off."""
    casebook.clock.now = NOW  # type: ignore[attr-defined]
    casebook.add_team("north", "bexley")
    staff = Directory(casebook.sessions)
    staff.add("jo", "worker", "north")
    staff.add("kim", "manager", "north")

    def log(case: str, type_: str, when: datetime, **fields: object) -> None:
        casebook.log(case, type_, when, dict(fields), actor="test", source="test")

    log("100101", "referral_received", NOW.replace(hour=9), track="s17")
    log("100101", "allocated", NOW.replace(hour=10), worker="jo")
    log("100102", "referral_received", NOW.replace(hour=11), track="s17")
    log("100103", "referral_received", NOW - timedelta(days=20), track="s17")
    log("100103", "allocated", NOW - timedelta(days=20), worker="jo")
    log("100103", "assessment_completed", NOW.replace(hour=8))
    return casebook


def client(book: Casebook) -> TestClient:
    return TestClient(Starlette(routes=[calendar_route(book.sessions, book.clock)]))


def feed(book: Casebook, token: str) -> Calendar:
    resp = client(book).get(f"/calendar/{token}.ics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(resp.content)
    cal.validate()  # PRODID, VERSION and at least one component
    return cal


def events(cal: Calendar) -> dict[str, tuple[object, object]]:
    """SUMMARY -> (DTSTART, DTEND) of every event, checking what RFC 5545 requires of each."""
    out = {}
    uids = set()
    for ev in cal.walk("VEVENT"):
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert ev.get(prop) is not None, (prop, ev)
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        assert end > start
        uids.add(str(ev["UID"]))
        out[str(ev["SUMMARY"])] = (start, end)
    assert len(uids) == len(out)
    return out


def test_a_workers_feed_holds_their_open_deadlines_as_all_day_events(book: Casebook) -> None:
    token = issue_token(book.sessions, "jo", "test")
    got = events(feed(book, token))
    deadlines = {f"{d.case} {d.title}": d for ref in ("100101", "100103")
                 for d in book.deadlines(ref) if d.open and d.owner == "worker"}
    assert deadlines and set(got) == set(deadlines)
    for summary, (start, end) in got.items():
        due_day = deadlines[summary].due.astimezone(LONDON).date()
        assert (start, end) == (due_day, due_day + timedelta(days=1))  # all day, on the due day
    # Nobody's name is in the feed: only case references and rule titles.
    body = client(book).get(f"/calendar/{token}.ics").text
    assert "SUMMARY:100101 " in body
    assert not any("jo" in line.split(":", 1)[1].lower() for line in body.splitlines()
                   if line.startswith(("SUMMARY", "UID", "X-WR-CALNAME")))


def test_a_managers_feed_has_timed_hour_rules_and_authorisations_waiting(book: Casebook
                                                                         ) -> None:
    token = issue_token(book.sessions, "kim", "test")
    got = events(feed(book, token))
    allocation = next(d for d in book.deadlines("100102") if d.rule == "allocation")
    start, end = got[f"100102 {allocation.title}"]
    # 24 hours from the referral at 11:00: a timed event ending Tue 1 Dec at 11:00 London.
    assert isinstance(end, datetime) and end == datetime(2026, 12, 1, 11, 0, tzinfo=LONDON)
    assert end - start == timedelta(minutes=30)
    waiting = [s for s in got if s.startswith("100103 Authorise the assessment")]
    assert waiting == ["100103 Authorise the assessment (completed 30/11)"]
    # Shown on the day the 45-working-day assessment is due: referral Tue 10 Nov + 45.
    a45 = next(d for d in book.deadlines("100103") if d.rule == "assessment_45")
    assert got[waiting[0]][0] == a45.due.astimezone(LONDON).date()


def test_the_feed_changes_as_events_are_logged(book: Casebook) -> None:
    token = issue_token(book.sessions, "kim", "test")
    assert any(s.startswith("100103 Authorise") for s in events(feed(book, token)))
    book.log("100103", "assessment_authorised", NOW.replace(hour=11, minute=30), {},
             actor="kim", source="test")
    after = events(feed(book, token))
    assert not any(s.startswith("100103") for s in after)
    assert any(s.startswith("100102 ") for s in after)  # the rest is still there


def test_the_token_is_random_256_bits_and_stored_only_hashed(book: Casebook) -> None:
    token = issue_token(book.sessions, "jo", "test")
    other = issue_token(book.sessions, "kim", "test")
    assert len(token) >= 43 and token != other  # 32 bytes of urlsafe base64
    with book.sessions() as s:
        rows = s.scalars(select(CalendarToken)).all()
    stored = {r.token_hash for r in rows}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in (token, other)}
    assert not any(token in str(vars(r)) for r in rows)


def test_a_wrong_revoked_or_replaced_token_is_a_404(book: Casebook) -> None:
    c = client(book)
    first = issue_token(book.sessions, "jo", "test")
    assert c.get(f"/calendar/{first}.ics").status_code == 200
    for wrong in (first[:-1] + ("A" if first[-1] != "A" else "B"), "x", "../../etc/passwd",
                  "A" * 43):
        resp = c.get(f"/calendar/{wrong}.ics")
        assert (resp.status_code, resp.text) == (404, "Not Found")
    second = issue_token(book.sessions, "jo", "test")  # a new link ends the old one
    assert c.get(f"/calendar/{first}.ics").status_code == 404
    assert c.get(f"/calendar/{second}.ics").status_code == 200
    assert revoke_tokens(book.sessions, "jo", "test") == 1
    assert c.get(f"/calendar/{second}.ics").status_code == 404


def test_a_removed_staff_members_feed_is_empty(book: Casebook) -> None:
    token = issue_token(book.sessions, "jo", "test")
    assert events(feed(book, token))
    Directory(book.sessions).remove("jo")
    cal = feed(book, token)  # still a valid calendar, for the subscribed app, with no events
    assert cal.walk("VEVENT") == [] and cal.walk("VTIMEZONE")
    # Added back later, they need a new link: the old URL does not come back to life.
    Directory(book.sessions).add("jo", "worker", "north")
    assert client(book).get(f"/calendar/{token}.ics").status_code == 404
    assert events(feed(book, issue_token(book.sessions, "jo", "test")))


def test_link_and_revoke_on_the_command_line(book: Casebook, database_url: str,
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CASECLOCK_PUBLIC_URL", "https://caseclock.example.gov.uk/")
    monkeypatch.chdir(tmp_path)
    assert main(["calendar", "link", "jo"]) == 0
    url, advice = capsys.readouterr().out.splitlines()[:2]
    assert url.startswith("https://caseclock.example.gov.uk/calendar/") and url.endswith(".ics")
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert "Subscribe from web" in advice
    assert client(book).get(f"/calendar/{token}.ics").status_code == 200
    assert main(["calendar", "revoke", "jo"]) == 0
    assert capsys.readouterr().out == "Ended jo's calendar feed (1 URL revoked).\n"
    assert client(book).get(f"/calendar/{token}.ics").status_code == 404
    assert main(["calendar", "link", "nobody"]) == 2
    assert ("nobody is not in the staff directory: add them with `caseclock staff add NAME "
            "--team TEAM --role worker`.") in capsys.readouterr().err
    with book.sessions() as s:
        assert s.scalars(select(CalendarToken)).all()[-1].revoked_at is not None
