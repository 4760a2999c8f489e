"""Email as Outlook shows it (bot/transports/email_html.py): north's digest for Tue 1 Dec
2026 and an urgent prompt, checked for their structure and opened in headless Chromium.

`python -m tests.test_email_html` writes the picture the README shows, docs/email-digest.png.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.commands.table import SEE_ALL
from bot.transports.email_html import render, subject_of
from scheduler.reminders.content import (
    Action,
    ActionRef,
    Alert,
    ChecklistItem,
    Digest,
    Entry,
    Prompt,
    Section,
    Summary,
    plain_text,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOCS_PICTURE = Path(__file__).resolve().parent.parent / "docs" / "email-digest.png"

WORKING_DAYS = [d for d in (date(2026, 11, 9) + timedelta(days=n) for n in range(14))
                if d.weekday() < 5]  # Mon 9 Nov to Fri 20 Nov
JO_OVERDUE = tuple(f"1234{i:02d} Child visited ({day:%a} {day.day} {day:%b})"
                   for i, day in enumerate(WORKING_DAYS))
DIGEST = Digest(
    "north, Tue 1 Dec: 11 overdue, 2 due today, 0 due in the next 3 working days, "
    "1 awaiting authorisation.",
    (Section("Overdue", (Entry("jo", JO_OVERDUE),
                         Entry("sam", ("654321 Strategy discussion (Mon 30 Nov, "
                                       "information from <b>police</b> & school)",)))),
     Section("Due today", (Entry("sam", ("654322 Assessment (Tue 1 Dec, checklist 2/5)",
                                         "654323 Visit (Tue 1 Dec)")),)),
     Section("Due in the next 3 working days", ()),
     Section("Awaiting authorisation", (Entry("unallocated", ("777001 assessment completed",)),),
             more=3)),
    team="north", counts={"Overdue": 11, "Due today": 2, "Due in the next 3 working days": 0,
                          "Awaiting authorisation": 1})
REF = ActionRef("123456", "visit_s47", 1, "overdue")
PROMPT = Prompt(
    REF, ("Overdue: case 123456, Child seen within 24 hours, was due 7pm today.",
          "No reason has been recorded yet (/case 123456 reason visit_s47 why)."),
    "Visit", (ChecklistItem(0, "Seen alone", True), ChecklistItem(1, "Bedroom seen", False)),
    (Action("log_it", ActionRef("123456", "visit_s47", 1, "overdue", event="child_seen"), True),
     Action("reason", REF), Action("snooze", REF), Action("quote", REF)),
    quote="The child must be seen within 24 hours of the strategy discussion.")


def _tags(html: str, name: str) -> list[str]:
    return re.findall(rf"<{name}\b[^>]*>", html)


def test_the_subjects_say_what_is_due() -> None:
    assert subject_of(DIGEST) == "caseclock: north, Tue 1 Dec: 11 overdue, 2 due today, " \
                                 "1 awaiting authorisation"
    assert subject_of(PROMPT) == ("Overdue: case 123456, Child seen within 24 hours, "
                                  "was due 7pm today")
    summary = Summary("Morning summary for north, Tue 1 Dec: 2 exceptions (legal limits "
                      "missed), 0 escalated, 4 other overdue, 0 awaiting your authorisation.", ())
    assert subject_of(summary) == ("caseclock: Morning summary for north, Tue 1 Dec: "
                                   "2 exceptions (legal limits missed), 4 other overdue")
    assert subject_of(Digest("south, Wed 2 Dec: 0 overdue, 0 due today.", ())) == (
        "caseclock: south, Wed 2 Dec: nothing due")
    assert subject_of(Alert("caseclock could not deliver notification 7. It is parked.")) == (
        "caseclock for the admins: caseclock could not deliver notification 7")


def test_the_digest_is_tables_with_inline_styles_and_nothing_to_fetch_or_run() -> None:
    _subject, html, _text = render(DIGEST)
    for banned in ("<script", "<style", "<img", "<link", "<iframe", "<form", "<button",
                   "src=", "href=", "class=", "url(", "@import", "javascript:"):
        assert banned not in html.lower(), banned
    cells = _tags(html, "td")
    # The frame (two tables) and one table for each of the three sections with lines.
    assert len(_tags(html, "table")) == 2 + 3 and len(cells) > 15
    assert all('style="' in td for td in cells)  # every cell styles itself, inline
    assert all('role="presentation"' in t for t in _tags(html, "table"))
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html


def test_every_line_the_digest_shows_is_in_the_email_and_the_cut_is_counted() -> None:
    _subject, html, text = render(DIGEST)
    shown = DIGEST.fit(None)
    for header, people in shown.shown:
        assert f">{header} (" in html
        for who, lines, _more in people:
            assert f">{who}</td>" in html
            for line in lines:
                assert line.replace("&", "&amp;").replace("<", "&lt;").replace(
                    ">", "&gt;") in html
    assert all(line in html for line in JO_OVERDUE[:8])
    assert JO_OVERDUE[8] not in html and "and 2 more, see /due team" in html
    # The section the planner cut short says how many more; an empty one is left out.
    assert ">Awaiting authorisation (4)</td>" in html and "and 3 more, see /due team" in html
    assert ">Overdue (11)</td>" in html and "Due in the next 3 working days (" not in html
    assert "not shown here" not in html  # each cut is said once, in its section
    assert text == plain_text(DIGEST, None, SEE_ALL)  # pointing to where all is listed


def test_case_text_is_escaped() -> None:
    _subject, html, _text = render(DIGEST)
    assert "information from &lt;b&gt;police&lt;/b&gt; &amp; school" in html
    assert "<b>" not in html


def test_a_prompt_by_email_lists_the_commands_to_type_instead_of_buttons() -> None:
    subject, html, text = render(PROMPT)
    assert "<button" not in html and "<a " not in html and "<input" not in html
    commands = re.findall(r"monospace[^>]*>([^<]*)</span>", html)
    assert commands[:3] == ["/seen 123456", "/case 123456 reason visit_s47 why",
                            "/case 123456"]
    assert ">Log it (add a date and time if it was not just now, e.g. yesterday 16:00)</td>" \
        in html
    assert "<i>The child must be seen within 24 hours of the strategy discussion.</i>" in html
    assert "&#9745;</td>" in html and "Seen alone" in html and "&#9744;</td>" in html
    assert "No reason has been recorded yet (/case 123456 reason visit_s47 why)." in html
    assert text == plain_text(PROMPT, None, SEE_ALL) and subject in html


def headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium without a sandbox, GPU, network chatter or a profile of the user's."""
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=90, check=False)


def screenshot(html: str, out: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """The email as a 720-pixel-wide window shows it, saved as a PNG."""
    page = work / "email.html"
    page.write_text(html, encoding="utf-8")
    return headless(work, "--window-size=720,820", "--hide-scrollbars",
                    f"--screenshot={out}", page.as_uri())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                                              "chromium)")
def test_the_digest_renders_in_chromium(tmp_path: Path) -> None:
    _subject, html, _text = render(DIGEST)
    page = tmp_path / "email.html"
    page.write_text(html, encoding="utf-8")
    run = headless(tmp_path, "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert "123409 Child visited" not in run.stdout and "123407 Child visited" in run.stdout
    shot = tmp_path / "digest.png"
    run = screenshot(html, shot, tmp_path)
    assert run.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


if __name__ == "__main__":  # writes docs/email-digest.png
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        done = screenshot(render(DIGEST)[1], DOCS_PICTURE, Path(work))
        sys.exit(done.returncode)
