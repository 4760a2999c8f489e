"""Running a command line for a member of staff: permissions, the store, the reply.

Transport-neutral: Slack, Teams and the console all call `CommandHandler.handle` and render
the Reply their own way. Every refusal is one sentence and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.commands.grammar import CASE_HELP, USAGE, EventDraft, Intent, parse
from bot.directory import Actor, Directory
from bot.render import change_summary, day_text, deadlines_table, moment_text
from scheduler.casebook import Casebook
from scheduler.timescales.calendar import LONDON, local_date
from scheduler.timescales.engine import Deadline
from scheduler.timescales.vocabulary import EventError
from store import repo
from store.models import Case, DeadlineRow

NOT_IN_DIRECTORY = (
    "Sorry, you are not in caseclock's staff directory, so nothing was stored: ask your team "
    "manager to add you (caseclock staff add NAME --team TEAM --role worker --slack USER_ID)."
)


@dataclass(frozen=True)
class Reply:
    """What to tell the person who typed the command (privately)."""

    text: str
    ok: bool = True
    event_ids: tuple[str, ...] = ()
    deadlines: tuple[Deadline, ...] = field(default=())
    share_case: str | None = None  # post this case's view to its team channel, nowhere else
    team: str | None = None


def _field_words(d: EventDraft) -> str:
    flags = [k.replace("_", " ").replace("home visited", "home").replace("bedroom seen",
                                                                          "bedroom")
             for k, v in d.fields.items() if v is True]
    values = [f"{v}" for k, v in d.fields.items()
              if not isinstance(v, bool) and k in ("track", "worker", "outcome", "agency")]
    words = flags + values
    return f" ({', '.join(words)})" if words else ""


def when_words(at: datetime, now: datetime) -> str:
    """'at 14:00 today', 'at 16:00 yesterday', 'at 09:30 Sat 21 Nov'."""
    local, today = at.astimezone(LONDON), now.astimezone(LONDON).date()
    day = local.date()
    if day == today:
        return f"at {local:%H:%M} today"
    if day == today - timedelta(days=1):
        return f"at {local:%H:%M} yesterday"
    return f"at {local:%H:%M} {moment_text(at)[:-6]}"


class CommandHandler:
    """Parses, authorises and carries out command lines."""

    def __init__(self, casebook: Casebook, directory: Directory,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.casebook = casebook
        self.directory = directory
        self.clock = clock or casebook.clock

    def handle(self, actor: Actor | None, command: str, text: str, source: str,
               request_id: str | None = None) -> Reply:
        """One command line from one person; never raises for their mistakes."""
        if actor is None:
            return Reply(NOT_IN_DIRECTORY, ok=False)
        now = self.clock()
        try:
            intent = parse(command, text, now)
            return self._run(actor, intent, source, request_id, now)
        except (EventError, repo.StoreError) as err:
            usage = USAGE.get(command.strip().lower(), "")
            text_ = str(err)
            if usage and usage.split()[0] not in text_:
                text_ += f"\nUsage: {usage}"
            return Reply(f"Nothing was stored: {text_}", ok=False)

    # --- permissions ----------------------------------------------------------------------

    def _check_case_access(self, actor: Actor, case: str) -> str | None:
        """The case's team if it exists; refuses a case of another team."""
        try:
            summary = self.casebook.case_summary(case)
        except EventError:
            return None
        if not actor.sees_every_team and summary.team != actor.team:
            raise EventError(f"case {case} belongs to another team, so you cannot see or log "
                             "it here; ask its team or your manager.")
        return summary.team

    def _check_void(self, actor: Actor, draft: EventDraft) -> None:
        if actor.is_manager:
            return
        target = str(draft.fields["event_id"])
        authors = {e.id: e.recorded_by for e in self.casebook.timeline(draft.case)}
        if target in authors and authors[target] != actor.name:
            raise EventError(f"only the person who logged {target} or a manager can void it.")

    # --- running ----------------------------------------------------------------------------

    def _run(self, actor: Actor, intent: Intent, source: str, request_id: str | None,
             now: datetime) -> Reply:
        if intent.kind == "help":
            return Reply(CASE_HELP)
        if intent.kind == "due":
            return self._due(actor, intent, now)
        if intent.kind in ("show_case", "share_case"):
            assert intent.case is not None
            team = self._check_case_access(actor, intent.case)
            if team is None:
                raise EventError(f"there is no case {intent.case}: check the reference.")
            shown = self._show(intent.case, now)
            if intent.kind == "share_case":
                return Reply(shown.text, share_case=intent.case, team=team)
            return shown
        if intent.needs_manager and not actor.is_manager:
            raise EventError("only a manager can authorise or extend an assessment; ask your "
                             "team manager.")
        teams: dict[str, str | None] = {}
        for draft in intent.events:
            teams[draft.case] = self._check_case_access(actor, draft.case)
            if draft.type == "event_voided":
                self._check_void(actor, draft)
        if any(t is None for t in teams.values()) and actor.team is None:
            raise EventError("you have no team, so a new case cannot be opened by you; ask an "
                             "admin to set your team.")
        lines: list[str] = []
        ids: list[str] = []
        for n, draft in enumerate(intent.events):
            fields = dict(draft.fields)
            if draft.type == "allocated":
                fields["worker"] = self._worker_name(intent, str(fields["worker"]))
            rid = f"{request_id}:{n}" if request_id else None
            try:
                result = self.casebook.log(draft.case, draft.type, draft.at, fields,
                                           actor=actor.name, source=source,
                                           team=teams[draft.case] or actor.team, request_id=rid)
            except EventError as err:
                if not lines:
                    raise
                lines.append(f"Nothing stored for {draft.case}: {err}")
                continue
            ids.append(result.event_id)
            what = draft.type.replace("_", " ")
            again = " (already logged: this was a repeat)" if result.duplicate else ""
            lines.append(f"Logged {what}{_field_words(draft)} for {draft.case} "
                         f"{when_words(result.at, now)} (id {result.event_id}){again}.")
            cal = self.casebook.calendar_of(draft.case)
            lines.extend(change_summary(result.before, result.after, cal, now))
        return Reply(" ".join(lines), event_ids=tuple(ids))

    def _worker_name(self, intent: Intent, name: str) -> str:
        uid = intent.mention_ids.get(name)
        staff = (self.directory.by_slack(uid) if uid else None) or self.directory.by_name(name)
        if staff is None:
            raise EventError(f"{name} is not in the staff directory: allocate to someone who "
                             "is, or ask an admin to add them.")
        return staff.name

    def _show(self, case: str, now: datetime) -> Reply:
        summary = self.casebook.case_summary(case)
        deadlines = self.casebook.deadlines(case, now)
        lines = [f"Case {case}: team {summary.team}, {summary.policy}"
                 + (f", allocated to {summary.allocated_worker}" if summary.allocated_worker
                    else ", not allocated")]
        lines.append("Timeline:")
        for e in self.casebook.timeline(case):
            mark = " (voided)" if e.voided else ""
            lines.append(f"  {e.id}  {moment_text(e.at, with_year=True)}  "
                         f"{e.type.replace('_', ' ')}{mark}")
        lines.append("Deadlines:")
        lines.append(deadlines_table(deadlines, self.casebook.calendar_of(case), now))
        return Reply("\n".join(lines), deadlines=tuple(deadlines))

    def _due(self, actor: Actor, intent: Intent, now: datetime) -> Reply:
        target = intent.target or "me"
        with self.casebook.sessions() as s:
            team_row = repo.get_team(s, actor.team) if actor.team else None
            if target == "team":
                if team_row is None and not actor.sees_every_team:
                    raise EventError("you have no team: ask an admin to set it.")
                team_id = None if actor.sees_every_team or team_row is None else team_row.id
                rows = list(repo.open_deadline_rows(s, team_id=team_id))
                who = "your team" if not actor.sees_every_team else "every team"
            else:
                name = actor.name if target == "me" else self._worker_name(intent, target)
                rows = [(d, c) for d, c in repo.open_deadline_rows(s, worker=name)
                        if d.owner == "worker"]
                rows = list(rows)
                if target == "me" and actor.is_manager and team_row is not None:
                    rows += [(d, c) for d, c in repo.open_deadline_rows(s, team_id=team_row.id)
                             if d.owner in ("manager", "service_manager")]
                if target != "me" and not actor.sees_every_team:
                    rows = [(d, c) for d, c in rows
                            if team_row is not None and c.team_id == team_row.id]
                who = "you" if target == "me" else name
        return Reply(self._due_text(rows, who, now))

    def _due_text(self, rows: list[tuple[DeadlineRow, Case]], who: str,
                  now: datetime) -> str:
        today = now.astimezone(LONDON).date()
        cal = self.casebook.library.calendar("working-together-2023")
        horizon: date = cal.add_working_days(today, 5)
        overdue, due_today, soon = [], [], []
        for d, c in sorted(rows, key=lambda dc: dc[0].due):
            day = local_date(d.due)
            item = f"{c.reference} {d.title}: {self._due_words(d, now)}"
            if d.due < now:
                overdue.append(item)
            elif day == today:
                due_today.append(item)
            elif day <= horizon:
                soon.append(item)
        if not (overdue or due_today or soon):
            return f"Nothing overdue or due in the next five working days for {who}."
        parts = [f"Due for {who}: {len(overdue)} overdue, {len(due_today)} today, "
                 f"{len(soon)} in the next five working days."]
        for title, items in (("Overdue", overdue), ("Today", due_today),
                             ("Next five working days", soon)):
            if items:
                parts.append(f"{title}:")
                parts.extend(f"  {i}" for i in items)
        return "\n".join(parts)

    @staticmethod
    def _due_words(d: DeadlineRow, now: datetime) -> str:
        when = moment_text(d.due) if d.hourly else day_text(local_date(d.due))
        return ("by " if d.due >= now else "was due ") + when
