"""`caseclock import cases|events`: bring a council's open caseload into the store.

Rows that cannot be imported are listed on stderr, each with its line and one sentence, and
the command exits 2; the others are stored (all or none with --all-or-nothing). A dry run
says what would be stored and stores nothing. At a terminal a progress bar shows on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bot.app import App
from bot.event_file import parse_event
from bot.importer import ImportFileError, read_caseload, read_map
from bot.store_commands import _app, _cli_actor
from scheduler.bulk_import import (
    CaseloadImport,
    ImportEvent,
    ImportOutcome,
    ImportRow,
    RowRefusal,
)
from scheduler.timescales.vocabulary import EventError


def _read_lines(path: str, what: str) -> list[str]:
    try:
        # utf-8-sig: a spreadsheet's export often starts with a byte-order mark.
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return fh.readlines()
    except OSError as err:
        raise ImportFileError(f"cannot read {path} ({err.strerror}): give {what}.") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path} is not UTF-8 text: export it as CSV UTF-8.") from None


def _case_rows(app: App, args: argparse.Namespace) -> tuple[list[ImportRow], list[RowRefusal],
                                                             list[str]]:
    header_map = None
    if args.map:
        header_map = read_map("".join(_read_lines(args.map, "a YAML map of headers")),
                              args.map)
    lines = _read_lines(args.file, "a CSV export with a header row")
    teams = [t.name for t in app.casebook.teams()]
    read = read_caseload(lines, teams, args.team, header_map, app.casebook.case_pattern)
    return read.rows, read.refused, read.ignored_columns


def _event_rows(app: App, args: argparse.Namespace) -> tuple[list[ImportRow], list[RowRefusal]]:
    """The `deadlines --events` format, grouped by case in the file's order; a bad line is
    refused on its own (its case's other lines go on)."""
    teams = [t.name for t in app.casebook.teams()]
    team = args.team or (teams[0] if len(teams) == 1 else None)
    if team is not None and team not in teams:
        raise ImportFileError(f"there is no team {team}: teams are "
                              f"{', '.join(teams) or 'none yet'}.")
    refused: list[RowRefusal] = []
    by_case: dict[str, list[ImportEvent]] = defaultdict(list)
    first_line: dict[str, int] = {}
    for n, line in enumerate(_read_lines(args.file, "a JSON Lines file of events"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            refused.append(RowRefusal(n, f"the line is not JSON ({err.msg}): write one event "
                                         "object per line."))
            continue
        try:
            e = parse_event(raw, n, app.casebook.case_pattern)
        except EventError as err:
            refused.append(RowRefusal(n, str(err)))
            continue
        if e.type == "event_voided":
            refused.append(RowRefusal(n, "a void names an event id of the file, which the store "
                                         "does not hold: leave the voided event and its void "
                                         "out of the import."))
            continue
        by_case[e.case].append(ImportEvent(e.type, e.at, dict(e.fields), line=n))
        first_line.setdefault(e.case, n)
    if team is None and by_case:
        raise ImportFileError("there are several teams: say which team new cases belong to "
                              f"with --team TEAM ({', '.join(teams)}).")
    rows = [ImportRow(first_line[ref], ref, team or "",
                      tuple(sorted(events, key=lambda e: e.at)))
            for ref, events in by_case.items()]
    return rows, refused


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; otherwise nothing is drawn, so a
    script's or a log's output holds no bar."""
    if not sys.stderr.isatty() or total == 0:
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("Importing"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("rows"), TimeRemainingColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("import", total=total)
        yield lambda n: bar.advance(task, n)


def _report(outcome: ImportOutcome, path: str, source: str, dry_run: bool,
            ignored: Sequence[str]) -> None:
    name = os.path.basename(path)
    new, updated = outcome.cases_created, outcome.cases_updated
    if dry_run:
        print(f"Dry run of {name}: nothing was stored.")
        print(f"Would store {new} new case(s), {updated} updated, {outcome.events} event(s); "
              f"{outcome.unchanged} row(s) already stored.")
        if new or updated:
            print(f"Deadlines: {outcome.overdue} now overdue, {outcome.due_this_week} due "
                  "this week.")
    else:
        print(f"Imported {name}: {new} new case(s), {updated} updated, {outcome.events} "
              f"event(s), marked {source}; {outcome.unchanged} row(s) already stored.")
        if new or updated:
            print(f"Deadlines: {outcome.overdue} now overdue (those missed before the import "
                  "go to the managers in one summary, not a prompt each), "
                  f"{outcome.due_this_week} due this week.")
    if outcome.reallocated:
        print(f"{'Would reallocate' if dry_run else 'Reallocated'}: {outcome.reallocated} "
              f"case(s) {'to' if dry_run else 'now held by'} the worker the file names.")
    if ignored:
        print(f"Columns not read: {', '.join(ignored)}.")


def _refuse(refused: Sequence[RowRefusal]) -> None:
    for r in sorted(refused, key=lambda r: r.line):
        print(f"caseclock: line {r.line}: {r.reason}", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    """`caseclock import cases FILE.csv` / `caseclock import events FILE.jsonl`."""
    app = _app(getattr(args, "now", None))
    ignored: list[str] = []
    if args.import_cmd == "cases":
        rows, refused, ignored = _case_rows(app, args)
    else:
        rows, refused = _event_rows(app, args)
    source = f"import:{os.path.basename(args.file)}"
    job = CaseloadImport(app.casebook, _cli_actor(), source, app.outbox)
    dry_run = args.dry_run
    if args.all_or_nothing and not dry_run:
        # The store's own checks too, before anything is written, so every bad row is listed.
        refused = [*refused, *job.run(rows, dry_run=True).refused]
        if refused:
            _refuse(refused)
            print(f"caseclock: {len(refused)} row(s) of {args.file} cannot be imported, so "
                  "nothing was stored (--all-or-nothing): correct them and import again.",
                  file=sys.stderr)
            return 2
    with _progress(len(rows)) as advance:
        outcome = job.run(rows, dry_run=dry_run, progress=advance)
    outcome.refused[:0] = refused
    _report(outcome, args.file, source, dry_run, ignored)
    if outcome.refused:
        _refuse(outcome.refused)
        print(f"caseclock: {len(outcome.refused)} row(s) refused"
              f"{'' if dry_run else ', the others stored'}: correct them and import the file "
              "again (what is stored already is not stored twice).", file=sys.stderr)
        return 2
    return 0


def add_import_parser(sub: Any) -> None:
    """The `import` command family on the top-level subparsers."""
    im = sub.add_parser("import", help="bring in the open caseload from an export")
    isub = im.add_subparsers(dest="import_cmd", required=True, metavar="WHAT")
    ic = isub.add_parser("cases", help="one row per case from a CSV export (LCS, Mosaic, ...)")
    ic.add_argument("file", help="CSV with a header row: case, team, referral_at, ...")
    ic.add_argument("--team", help="the team of rows without a team column or cell")
    ic.add_argument("--map", metavar="MAP.yaml",
                    help="rename the export's headers: 'Referral Date: referral_at'")
    ie = isub.add_parser("events", help="events in the `deadlines --events` JSON Lines format")
    ie.add_argument("file")
    ie.add_argument("--team", help="the team of new cases (needed when there are several)")
    for p in (ic, ie):
        p.add_argument("--dry-run", action="store_true",
                       help="say what would be stored and store nothing")
        p.add_argument("--all-or-nothing", action="store_true",
                       help="store nothing if any row is refused")
        p.add_argument("--now", help=argparse.SUPPRESS)
