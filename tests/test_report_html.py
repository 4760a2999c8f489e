"""The HTML timeliness report opened in headless Chromium: it renders, its script runs
without an error, and it needs no network (everything inline)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.report_commands import build_report
from bot.report_html import report_html
from scheduler.casebook import Casebook
from tests.test_report_timeliness import NOW, OCT_1, OCT_31, build_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install chromium)")


def headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium without a sandbox, GPU, network chatter or a profile of the user's."""
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=90, check=False)


def html_tag(dom: str) -> str:
    """The opening <html ...> tag of a dumped DOM, where the script leaves its marks."""
    found = re.search(r"<html[^>]*>", dom)
    assert found, dom[:500]
    return found.group(0)


@pytest.fixture
def page(casebook: Casebook, tmp_path: Path) -> Path:
    casebook.clock.now = NOW  # type: ignore[attr-defined]
    build_store(casebook)
    path = tmp_path / "timeliness.html"
    path.write_text(report_html(build_report(casebook.sessions, casebook.library, OCT_1,
                                             OCT_31, NOW)), encoding="utf-8")
    return path


def test_the_report_renders_in_chromium_without_errors(page: Path, tmp_path: Path) -> None:
    html = page.read_text(encoding="utf-8")
    # Self-contained: nothing is fetched (the SVG namespace is a name, not a request).
    assert not re.search(r"\b(src|href)=|@import|url\(", html)
    assert "<script>" in html and "<style>" in html
    run = headless(tmp_path, "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    root = html_tag(dom)
    # The script ran to its end: it counts the chart's points (north's and south's
    # assessments in October, north's conferences), and no error was caught.
    assert 'data-rendered="3"' in root
    assert "data-error" not in root and "Uncaught" not in run.stderr
    assert "<h2>Assessments authorised within 45 working days of referral</h2>" in dom
    assert "north 2026-10" not in dom and "north Oct 2026: 1 of 4 (25%)" in dom
    shot = tmp_path / "report.png"
    run = headless(tmp_path, "--window-size=1200,900", "--hide-scrollbars",
                   f"--screenshot={shot}", page.as_uri())
    assert run.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_script_error_would_be_caught(page: Path, tmp_path: Path) -> None:
    """The check above is not vacuous: a page whose script fails is seen to fail."""
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text(encoding="utf-8").replace(
        "document.documentElement.setAttribute('data-rendered'", "undefinedCall();\n"
        "document.documentElement.setAttribute('data-rendered'"), encoding="utf-8")
    run = headless(tmp_path, "--dump-dom", broken.as_uri())
    assert "data-rendered" not in html_tag(run.stdout)
    assert 'data-error="Uncaught ReferenceError: undefinedCall is not defined"' in \
        html_tag(run.stdout)
    assert "Uncaught ReferenceError: undefinedCall is not defined" in run.stderr
