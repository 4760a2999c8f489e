"""The Teams cards through Microsoft's own Adaptive Cards renderer in headless Chromium: each
parses without a complaint, draws its toggles and buttons, and shows case text literally."""

from __future__ import annotations

import html
import re
import struct
from pathlib import Path

import pytest

from bot.transports.teams.cards import refreshed_card, render_card
from scheduler.reminders.content import Alert
from tests.card_render import CHROMIUM, card_page, marks, rendered_dom, screenshot
from tests.test_teams_cards import digest, picture_digest, prompt

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install chromium)")


def visible_text(dom: str) -> str:
    """The card's text as a reader sees it (tags dropped, entities read)."""
    start = dom.index('<div id="card">')
    card = dom[start:dom.index("<script", start)]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card)))


def test_the_page_is_self_contained() -> None:
    page = card_page(render_card(prompt()))
    # Nothing is fetched: no tag loads a file (the libraries' own code mentions `src=`).
    assert not re.search(r"<(script|img|iframe)\b[^>]*\bsrc=|<link\b|@import", page)
    assert page.count("<script>") == 4 and "<style>" in page
    assert "For license information please see adaptivecards.min.js.LICENSE.txt" in page
    assert "markdown-it 14.3.3 https://github.com/markdown-it/markdown-it @license MIT" in page


def test_a_prompt_card_renders_its_toggles_and_buttons_without_complaint(
        tmp_path: Path) -> None:
    dom = rendered_dom(render_card(prompt(ticked=(True, False, True))), tmp_path)
    found = marks(dom)
    assert "data-error" not in found
    assert found["data-events"] == ""  # nothing the renderer could not parse or validate
    assert found["data-toggles"] == "3"
    assert found["data-buttons"].split("|") == [
        "Log it", "Record a reason", "Snooze to next working day", "Show the procedure",
        "Save checklist"]
    checked = re.findall(r'<input[^>]*type="checkbox"[^>]*>', dom)
    assert len(checked) == 3
    text = visible_text(dom)
    assert "Due today Case 123456, Assessment review at 15 working days, Mon 23 Nov, day 15 " \
           "of 15. Checklist (Assessment review): 1 of 3 done." in text
    assert "Child seen alone and their views recorded" in text


def test_case_text_that_looks_like_markdown_is_shown_as_typed(tmp_path: Path) -> None:
    dom = rendered_dom(render_card(prompt(case="AB_12*3_[x]<y>")), tmp_path)
    assert "Case AB_12*3_[x]<y>, Assessment review" in visible_text(dom)
    assert "<em>" not in dom and "<strong>" not in dom and "\\" not in visible_text(dom)
    # The check can fail: the same text unescaped is read as Markdown by the renderer.
    card = render_card(prompt())
    card["body"][1]["text"] = "case AB_12*3_[x]<y>, some *emphasis* and _this_"
    dom = rendered_dom(card, tmp_path)
    assert "<em>emphasis</em>" in dom and "<em>this</em>" in dom


def test_a_digest_card_renders_its_lists_and_closing_line(tmp_path: Path) -> None:
    d = picture_digest()
    dom = rendered_dom(render_card(d), tmp_path)
    found = marks(dom)
    assert "data-error" not in found and found["data-events"] == ""
    assert (found["data-toggles"], found["data-buttons"]) == ("0", "")
    text = visible_text(dom)
    assert dom.count("<li>") == 8 + 1 + 1 + 2 + 1 + 1  # jo's eight and "and 2 more", ...
    assert "and 2 more, see /due team" in text
    assert text.rstrip().endswith("and 16 more not shown here (16 coming up), see /due team")


def test_a_400_line_digest_and_the_other_cards_render(tmp_path: Path) -> None:
    for card in (render_card(digest(8, 17)), render_card(Alert("Install the app for jo.")),
                 refreshed_card(prompt(), "Snoozed to Wed 2 Dec by jo")):
        found = marks(rendered_dom(card, tmp_path))
        assert "data-error" not in found and found["data-events"] == "", found
        assert int(found["data-rendered"]) >= 1


def test_a_card_the_renderer_cannot_read_is_seen(tmp_path: Path) -> None:
    """The checks above are not vacuous: an unknown element is reported."""
    card = render_card(prompt())
    card["body"].append({"type": "Input.Bogus", "id": "x"})
    found = marks(rendered_dom(card, tmp_path))
    assert "Input.Bogus" in found["data-events"]


def test_a_card_is_screenshot_as_the_docs_show_it(tmp_path: Path) -> None:
    """What `python -m tests.card_render` does for docs/teams-*-card.png."""
    shot = tmp_path / "prompt.png"
    screenshot(render_card(prompt()), shot, tmp_path, 350)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (592, 350)
