"""Adaptive Cards rendered by Microsoft's own renderer (the `adaptivecards` npm package) in
headless Chromium: a self-contained page that parses and renders a card, writes what the
renderer made of it into the DOM, and can be screenshot.

The renderer (adaptivecards 3.0.6) and the Markdown it uses (markdown-it 14.3.3, CommonMark,
as Teams reads a TextBlock) are vendored under tests/fixtures/ with their MIT licences, so
nothing is fetched. `python -m tests.card_render` redraws the pictures in docs/.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH = 560  # about the width of a card in Teams' chat pane

# Close to Teams' light theme: Segoe UI, Teams' purple for accents, its red and amber.
HOST_CONFIG: dict[str, Any] = {
    "fontFamily": "'Segoe UI', system-ui, 'DejaVu Sans', sans-serif",
    "spacing": {"small": 4, "default": 8, "medium": 16, "large": 20, "extraLarge": 24,
                "padding": 16},
    "separator": {"lineThickness": 1, "lineColor": "#E1DFDD"},
    "fontSizes": {"small": 12, "default": 14, "medium": 16, "large": 20, "extraLarge": 24},
    "fontWeights": {"lighter": 300, "default": 400, "bolder": 600},
    "containerStyles": {
        "default": {"backgroundColor": "#FFFFFF", "foregroundColors": {
            "default": {"default": "#242424", "subtle": "#616161"},
            "accent": {"default": "#5B5FC7", "subtle": "#7579EB"},
            "attention": {"default": "#C4314B", "subtle": "#C4314B"},
            "warning": {"default": "#835C00", "subtle": "#835C00"},
            "good": {"default": "#237B4B", "subtle": "#237B4B"}}},
        "good": {"backgroundColor": "#E7F2DA", "foregroundColors": {
            "default": {"default": "#242424", "subtle": "#616161"}}},
        "emphasis": {"backgroundColor": "#F5F5F5"}},
    "actions": {"maxActions": 6, "buttonSpacing": 8, "actionsOrientation": "Horizontal",
                "actionAlignment": "Left", "showCard": {"actionMode": "Inline",
                                                         "inlineTopMargin": 8}},
}

PAGE_STYLE = """
body { margin: 0; padding: 16px; background: #F5F5F5; font-family: 'Segoe UI', system-ui,
  'DejaVu Sans', sans-serif; }
#card { width: %dpx; border-radius: 6px; overflow: hidden; background: #fff;
  box-shadow: 0 1px 3px rgba(0,0,0,.2); }
.ac-pushButton { font: 600 14px 'Segoe UI', system-ui, 'DejaVu Sans', sans-serif;
  color: #242424; background: #fff; border: 1px solid #D1D1D1; border-radius: 4px;
  padding: 5px 12px; margin-top: 4px; cursor: pointer; }
.ac-pushButton.style-positive { background: #5B5FC7; border-color: #5B5FC7; color: #fff; }
/* Teams wraps a row of buttons that does not fit onto a second line. */
.ac-actionSet { flex-wrap: wrap; row-gap: 8px; }
.ac-actionSet > button { flex: 0 0 auto !important; }
.ac-pushButton.expandable:after { content: " \\25BE"; font-family: inherit; }
.ac-textBlock ul { margin: 0; padding-left: 20px; }
.ac-textBlock p { margin: 0; }
"""

# Parse with a context that collects the renderer's complaints, render, then leave marks on
# <html>: data-events (every parse or validation event, "|"-separated), data-toggles and
# data-buttons (what was drawn), data-rendered (reached the end); an uncaught error is
# written as data-error.
PAGE_SCRIPT = """
window.addEventListener('error', function (e) {
  document.documentElement.setAttribute('data-error', e.message);
});
var root = document.documentElement;
var card = new AdaptiveCards.AdaptiveCard();
card.hostConfig = new AdaptiveCards.HostConfig(HOST_CONFIG);
var context = new AdaptiveCards.SerializationContext();
card.parse(CARD, context);
var events = [];
for (var i = 0; i < context.eventCount; i++) { events.push(context.getEventAt(i).message); }
card.validateProperties().validationEvents.forEach(function (e) { events.push(e.message); });
var element = card.render();
document.getElementById('card').appendChild(element);
root.setAttribute('data-events', events.join('|'));
root.setAttribute('data-toggles', element.querySelectorAll('input[type=checkbox]').length);
root.setAttribute('data-buttons', Array.prototype.map.call(
  element.querySelectorAll('button'), function (b) { return b.textContent; }).join('|'));
root.setAttribute('data-rendered', element.querySelectorAll('.ac-textBlock').length);
"""


def _vendored(path: str) -> str:
    return (FIXTURES / path).read_text(encoding="utf-8")


def card_page(card: dict[str, Any], width: int = WIDTH) -> str:
    """A page that renders `card` with nothing fetched: the libraries and the card inline."""
    def script(js: str) -> str:
        return "<script>" + js.replace("</script", "<\\/script") + "</script>"

    data = f"var CARD = {json.dumps(card)};\nvar HOST_CONFIG = {json.dumps(HOST_CONFIG)};"
    return "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>caseclock card</title>",
        "<style>" + _vendored("adaptivecards/adaptivecards.css") + PAGE_STYLE % width
        + "</style>",
        script(_vendored("markdown-it/markdown-it.min.js")),
        script(_vendored("adaptivecards/adaptivecards.min.js")),
        '</head><body><div id="card"></div>',
        script(data), script(PAGE_SCRIPT), "</body></html>"])


def headless(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium without a sandbox, GPU, network chatter or a profile of the user's."""
    assert CHROMIUM is not None, "chromium is not installed (apt-get install chromium)"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         *args],
        capture_output=True, text=True, timeout=90, check=False)


def rendered_dom(card: dict[str, Any], work: Path) -> str:
    """The page's DOM after the renderer ran."""
    page = work / "card.html"
    page.write_text(card_page(card), encoding="utf-8")
    run = headless(work / "profile", "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def marks(dom: str) -> dict[str, str]:
    """The attributes the page's script left on <html>."""
    found = re.search(r"<html[^>]*>", dom)
    assert found, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', found.group(0)))


def screenshot(card: dict[str, Any], out: Path, work: Path, height: int) -> None:
    """A PNG of the card as the renderer draws it."""
    page = work / "shot.html"
    page.write_text(card_page(card), encoding="utf-8")
    run = headless(work / "profile", f"--window-size={WIDTH + 32},{height}",
                   "--hide-scrollbars", f"--screenshot={out}", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]


def main() -> None:
    """Redraw docs/teams-prompt-card.png and docs/teams-digest-card.png."""
    import tempfile

    from bot.transports.teams.cards import render_card
    from tests.test_teams_cards import picture_digest, prompt

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        screenshot(render_card(prompt()), ROOT / "docs" / "teams-prompt-card.png", work, 350)
        screenshot(render_card(picture_digest()), ROOT / "docs" / "teams-digest-card.png",
                   work, 625)


if __name__ == "__main__":
    main()
