"""What a prompt, a digest and a summary say, as content (scheduler/reminders/content.py).

The words are composed here, once; each transport renders the content its own way at send
time (bot/transports/<kind>). No case content beyond the authority's reference, the rule and
its dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.packs import PackLibrary
from scheduler.reminders.content import (
    Action,
    ActionRef,
    ChecklistItem,
    Digest,
    Prompt,
    Summary,
    sections_of,
)
from scheduler.reminders.planner import Planned, TeamPeople, escalation_role, snoozable, stage_times
from scheduler.reminders.rows import DEADLINE_COLUMNS, deadline_from_row
from scheduler.timescales.calendar import LONDON, WorkingCalendar, due_bucket, local_date
from scheduler.timescales.rules import Checklist, Pack, Rule
from store.models import Case, ChecklistTick, DeadlineRow, Team
from store.repo import awaiting_authorisation, open_deadline_clause

STAGE_WORDS = {
    "upcoming": "Coming up", "due_today": "Due today", "overdue": "Overdue",
    "escalated": "Escalated to you", "exception": "Exception: a legal limit was missed",
}
PAST_STAGES = ("overdue", "escalated", "exception")  # the due moment has gone


def due_words(due: datetime, hourly: bool, now: datetime, cal: WorkingCalendar,
              anchor: datetime | None = None, unit: str = "working_days") -> str:
    """'by 5pm tomorrow' for hour rules; 'Thu 3 Dec, day 9 of 10' for day rules."""
    local, today = due.astimezone(LONDON), now.astimezone(LONDON).date()
    if hourly:
        hour = local.strftime("%I:%M%p").lstrip("0").replace(":00", "").lower()
        day = local.date()
        when = ("today" if day == today else "tomorrow" if (day - today).days == 1
                else f"{local:%a} {day.day} {local:%b}")
        return f"by {hour} {when}"
    d = local.date()
    text = f"{d:%a} {d.day} {d:%b}"
    window = cal.day_of_window(local_date(anchor), d, today, start_is_day_one=(
        unit == "by_day")) if anchor is not None else None
    if window:
        text += f", day {window[0]} of {window[1]}"
    return text


def compose_prompt(p: Planned, rule: Rule | None, pack: Pack, cal: WorkingCalendar,
                   now: datetime, checklist: Checklist | None,
                   ticked: Iterable[int]) -> Prompt:
    """A prompt's lines, checklist and actions.

    "Log it" carries the first event that meets the rule (`ActionRef.event`); whether a
    transport offers it, and with which command, is the transport's business."""
    ticked = set(ticked)
    ref = ActionRef(p.case, p.rule, p.seq, p.stage)
    if p.rule == "awaiting_authorisation":
        return Prompt(ref, (f"Case {p.case}: the assessment is completed and waiting for your "
                            f"authorisation (/case {p.case} authorise).",))
    title = rule.title if rule else p.rule
    hourly = rule.hourly if rule else False
    when = due_words(p.due, hourly, now, cal, p.anchor_at, p.unit) if p.due else ""
    if hourly and p.stage in PAST_STAGES and when.startswith("by "):
        when = "was due " + when[3:]  # "Overdue: ..., was due 7pm today", not "by 7pm today"
    head = f"{STAGE_WORDS.get(p.stage, p.stage)}: case {p.case}, {title}, {when}."
    lines = [head]
    if p.details.get("extension_decision"):
        lines.append("Decide today whether to extend the assessment "
                     f"(/case {p.case} extend DATE why).")
    if p.details.get("no_reason"):
        lines.append(f"No reason has been recorded yet (/case {p.case} reason {p.rule} why).")
    items: tuple[ChecklistItem, ...] = ()
    if checklist is not None:
        lines.append(f"Checklist ({checklist.title}): "
                     f"{len(ticked)} of {len(checklist.items)} done.")
        items = tuple(ChecklistItem(i, t, i in ticked) for i, t in enumerate(checklist.items))
    actions: list[Action] = []
    if rule is not None and rule.met_by:
        actions.append(Action("log_it", ActionRef(p.case, p.rule, p.seq, p.stage,
                                                  event=rule.met_by[0].event), primary=True))
    actions.append(Action("reason", ref))
    if snoozable(p.stage):
        actions.append(Action("snooze", ref))
    actions.append(Action("quote", ref))
    return Prompt(ref, tuple(lines), checklist.title if checklist is not None else None, items,
                  tuple(actions), rule.source.quote if rule else None, urgent=p.urgent)


Sections = dict[str, dict[str, list[str]]]
TEAM_SECTIONS = ("Overdue", "Due today", "Due in the next 3 working days",
                 "Awaiting authorisation")
# A manager's summary splits the overdue: legal limits missed, escalated, and the rest.
MANAGER_SECTIONS = ("Exceptions", "Escalated", "Awaiting authorisation",
                    "Overdue, not escalated")
BUCKET_SECTIONS = {"today": "Due today", "soon": "Due in the next 3 working days"}
SECTION_NAMES = (*TEAM_SECTIONS, *MANAGER_SECTIONS[:2], MANAGER_SECTIONS[3])


def digest_sections(s: Session, now: datetime, library: PackLibrary,
                    teams: Iterable[str] | None = None) -> dict[str, Sections]:
    """Team -> section -> worker -> lines, from one query over every open deadline.

    Built once per sweep and shared by the team digest and the managers' and service
    managers' summaries. An overdue deadline is also listed as an exception (a legal limit,
    once overdue) or as escalated (once its escalation time has come), as the planner
    sends them, else as "overdue, not escalated".
    """
    wanted = set(teams) if teams is not None else None
    team_rows = [t for t in s.scalars(select(Team)) if wanted is None or t.name in wanted]
    by_id = {t.id: t for t in team_rows}
    out: dict[str, Sections] = {t.name: {k: defaultdict(list) for k in SECTION_NAMES}
                                for t in team_rows}
    if not by_id:
        return out
    today = now.astimezone(LONDON).date()
    horizons = {t.id: library.calendar(t.policy).add_working_days(today, 3) for t in team_rows}
    ticks: dict[tuple[str, str, int], int] = {
        (ref, rule, seq): n for ref, rule, seq, n in s.execute(
            select(ChecklistTick.case_ref, ChecklistTick.rule, ChecklistTick.seq,
                   func.count()).group_by(ChecklistTick.case_ref, ChecklistTick.rule,
                                          ChecklistTick.seq)).all()}
    sizes: dict[tuple[str, str], int] = {}
    for t in team_rows:
        for r in library.get(t.policy).rules:
            if r.checklist and r.checklist in library.checklists:
                sizes[(t.policy, r.id)] = len(library.checklists[r.checklist].items)
    kinds: dict[tuple[str, str, datetime], str] = {}  # shared by deadlines due together

    def overdue_kind(policy: str, row: Any) -> str:
        rule_id, due, hourly = row.rule, row.due, row.hourly
        found = kinds.get((policy, rule_id, due))
        if found is None:
            pack, cal = library.get(policy), library.calendar(policy)
            rule = next((r for r in pack.rules if r.id == rule_id), None)
            found = "Overdue, not escalated"
            if rule is not None:
                times = stage_times(deadline_from_row(row, row.reference), rule, cal,
                                    pack.escalate_after_days)
                if rule.on_miss.exception and times.overdue <= now:
                    found = "Exceptions"
                elif escalation_role(rule) is not None and times.escalated <= now:
                    found = "Escalated"
            if not hourly:
                kinds[(policy, rule_id, due)] = found
        return found

    rows = s.execute(select(Case.team_id, Case.reference, Case.allocated_worker, Case.policy,
                            *DEADLINE_COLUMNS)
                     .join(Case, Case.id == DeadlineRow.case_id)
                     .where(Case.team_id.in_(list(by_id)),
                            open_deadline_clause())
                     .order_by(DeadlineRow.due)).all()
    # Many deadlines share a due moment: its words and bucket are worked out once each.
    placed: dict[tuple[datetime, bool, date], tuple[str | None, str]] = {}
    for row in rows:
        team_id, due, hourly = row.team_id, row.due, row.hourly
        horizon = horizons[team_id]
        found = placed.get((due, hourly, horizon))
        if found is None:
            local = due.astimezone(LONDON)
            day = local.date()
            when = f"{local:%H:%M} {local:%a} {day.day} {local:%b}" if hourly else (
                f"{local:%a} {day.day} {local:%b}")
            found = placed[(due, hourly, horizon)] = (due_bucket(due, now, horizon), when)
        bucket, when = found
        if bucket is None:
            continue
        ref, policy, rule, seq = row.reference, row.policy, row.rule, row.seq
        size = sizes.get((policy, rule))
        progress = f", checklist {ticks.get((ref, rule, seq), 0)}/{size}" if size else ""
        line = f"{ref} {row.title} ({when}{progress})"
        name = row.allocated_worker or "unallocated"
        sections = out[by_id[team_id].name]
        if bucket == "overdue":
            sections["Overdue"][name].append(line)
            sections[overdue_kind(policy, row)][name].append(line)
        else:
            sections[BUCKET_SECTIONS[bucket]][name].append(line)
    waiting = awaiting_authorisation(s, list(by_id))
    if waiting:
        for team_id, ref, worker in s.execute(
                select(Case.team_id, Case.reference, Case.allocated_worker)
                .where(Case.id.in_(list(waiting))).order_by(Case.reference)).all():
            out[by_id[team_id].name]["Awaiting authorisation"][worker or "unallocated"].append(
                f"{ref} assessment completed")
    return out


Group = tuple[str, list[tuple[str, list[str]]]]  # a header, then (who, lines) under it


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _count(by_worker: Mapping[str, list[str]]) -> int:
    return sum(len(v) for v in by_worker.values())


def compose_digest(sections: Sections, p: Planned, team: TeamPeople,
                   now: datetime) -> Digest:
    """The team's morning digest (or a manager's summary), counts first. Every line is
    carried: each transport shows what fits and counts the rest."""
    day = now.astimezone(LONDON).date()
    counts = {k: _count(by_worker) for k, by_worker in sections.items()}
    if p.details.get("kind") == "manager":
        keep = MANAGER_SECTIONS
        head = (f"Morning summary for {team.name}, {day:%a} {day.day} {day:%b}: "
                f"{_n(counts['Exceptions'], 'exception')} (legal limits missed), "
                f"{counts['Escalated']} escalated, "
                f"{counts['Overdue, not escalated']} other overdue, "
                f"{counts['Awaiting authorisation']} awaiting your authorisation.")
    else:
        keep = TEAM_SECTIONS
        head = (f"{team.name}, {day:%a} {day.day} {day:%b}: " + ", ".join(
            f"{counts[k]} {k.lower()}" for k in keep) + ".")
    groups = sections_of([(name, sorted(sections[name].items())) for name in keep])
    shown = {k: counts[k] for k in keep}
    if p.details.get("kind") == "manager":
        return Summary(head, groups, team.name, shown, audience="manager")
    return Digest(head, groups, team.name, shown)


def compose_service_summary(sections: Mapping[str, Sections], p: Planned,
                            now: datetime) -> Summary:
    """A service manager's morning summary over their teams: exceptions, escalations and
    authorisations waiting, team by team."""
    day = now.astimezone(LONDON).date()
    names = [str(n) for n in p.details.get("teams") or ()]  # type: ignore[attr-defined]
    total = {k: sum(_count(sections[n][k]) for n in names)
             for k in ("Exceptions", "Escalated", "Awaiting authorisation")}
    head = (f"Morning summary of {len(names)} team{'s' if len(names) != 1 else ''}, "
            f"{day:%a} {day.day} {day:%b}: {_n(total['Exceptions'], 'exception')} (legal limits "
            f"missed), {total['Escalated']} escalated, {total['Awaiting authorisation']} "
            "awaiting authorisation.")
    groups: list[Group] = []
    for name in ("Exceptions", "Escalated", "Awaiting authorisation"):
        groups += [(f"{team}: {name.lower()}", [
            ("", [f"{line} ({who})" for who, lines in sorted(sections[team][name].items())
                  for line in lines])]) for team in names]
    return Summary(head, sections_of(groups), p.team, total, audience="service")


def compose_import_summary(p: Planned) -> Summary:
    """The one message about deadlines already missed when a team's cases were imported."""
    missed = [str(line) for line in p.details.get("missed") or ()]  # type: ignore[attr-defined]
    day = date.fromisoformat(str(p.details.get("day")))
    head = (f"Imported caseload of {p.team}, {day:%a} {day.day} {day:%b}: "
            f"{_n(len(missed), 'deadline')} already missed before the import. They are not "
            "prompted one by one; each stays in the digests until it is met or stopped.")
    return Summary(head, sections_of([("Missed before the import", [("", missed)])]), p.team,
                   {"Missed before the import": len(missed)}, audience="import")
