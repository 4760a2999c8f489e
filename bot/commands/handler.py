"""Running a command line for a member of staff: permissions, the store, the reply.

Transport-neutral: Slack, Teams and the console all call `CommandHandler.handle` and render
the Reply their own way. Every refusal is one sentence and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.commands.grammar import CASE_HELP, EventDraft, Intent, MentionReader, parse
from bot.commands.table import USAGE, command_for_event
from bot.directory import Actor, Directory
from bot.my_deadlines import awaiting_cases, manager_rows, visible_team_ids, worker_rows
from bot.render import change_summary, day_text, deadlines_table, moment_text
from scheduler.casebook import (
    OPENERS,
    Casebook,
    EntryRefused,
    LogEntry,
    NoSuchCase,
    RepeatedReferral,
)
from scheduler.reminders.actions import PromptActions
from scheduler.timescales.calendar import LONDON, due_bucket, local_date
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


def no_case(actor: Actor, case: str) -> str:
    """The one answer for a case that does not exist and for one of a team `actor` cannot
    see: the two must read alike, or a refusal would tell that a case exists elsewhere."""
    where = "" if actor.teams_seen is None else " in your team"
    return f"there is no case {case}{where}: log its referral first, /referral {case} s17."


def when_words(at: datetime, now: datetime) -> str:
    """'at 14:00 today', 'at 16:00 yesterday', 'at 09:30 Sat 21 Nov'."""
    local, today = at.astimezone(LONDON), now.astimezone(LONDON).date()
    day = local.date()
    if day == today:
        return f"at {local:%H:%M} today"
    if day == today - timedelta(days=1):
        return f"at {local:%H:%M} yesterday"
    # The year whenever it is not this year's: "at 10:00 Tue 25 Nov 2025" is not last week.
    return f"at {local:%H:%M} {day_text(day, with_year=day.year != today.year)}"


@dataclass(frozen=True)
class DueSection:
    """One heading of `/due` and its lines, e.g. "Overdue" or "Awaiting your authorisation"."""

    title: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class DueView:
    """What `/due` shows, as data: the chat reply and the Slack App Home render the same."""

    who: str  # "you", "your team", "jo", "every team"
    overdue: int
    today: int
    soon: int
    sections: tuple[DueSection, ...]

    @property
    def headline(self) -> str:
        """The first line: the counts, or that nothing is due."""
        if not (self.overdue or self.today or self.soon):
            return f"Nothing overdue or due in the next five working days for {self.who}."
        return (f"Due for {self.who}: {self.overdue} overdue, {self.today} today, "
                f"{self.soon} in the next five working days.")

    @property
    def text(self) -> str:
        """The plain-text reply."""
        parts = [self.headline]
        for section in self.sections:
            parts.append(f"{section.title}:")
            parts.extend(f"  {i}" for i in section.items)
        return "\n".join(parts)


class CommandHandler:
    """Parses, authorises and carries out command lines."""

    def __init__(self, casebook: Casebook, directory: Directory,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.casebook = casebook
        self.directory = directory
        self.clock = clock or casebook.clock

    def prompt_actions(self) -> PromptActions:
        """The prompt-actions service, checked as these commands are, with their wording and
        the command table's "Log it": what every transport's buttons call."""
        return PromptActions(self.casebook, self, NOT_IN_DIRECTORY, command_for_event,
                             reason_command=("/case", "reason"))

    def handle(self, actor: Actor | None, command: str, text: str, source: str,
               request_id: str | None = None, mention: MentionReader | None = None) -> Reply:
        """One command line from one person; never raises for their mistakes. `mention`
        reads the transport's mentions (Slack's `<@U123|jo>`); `@jo` is read everywhere."""
        if actor is None:
            return Reply(NOT_IN_DIRECTORY, ok=False)
        now = self.clock()
        try:
            # CASECLOCK_CASE_PATTERN reaches chat through the casebook, which settings built.
            intent = parse(command, text, now, self.casebook.case_pattern, mention)
            return self._run(actor, intent, source, request_id, now)
        except (EventError, repo.StoreError) as err:
            usage = USAGE.get(command.strip().lower(), "")
            text_ = str(err)
            if usage and usage.split()[0] not in text_:
                text_ += f"\nUsage: {usage}"
            return Reply(f"Nothing was stored: {text_}", ok=False)

    # --- permissions ----------------------------------------------------------------------

    def _check_case_access(self, actor: Actor, case: str, event_type: str | None = None
                           ) -> str | None:
        """The case's team, or None for an unknown case that `event_type` may open.

        A case of a team the actor cannot see is refused exactly as a case that does not
        exist; only a contact or a referral opens an unknown case."""
        try:
            summary = self.casebook.case_summary(case)
        except EventError:
            summary = None
        if summary is not None and actor.can_see(summary.team):
            return summary.team
        if event_type in OPENERS:
            if summary is None:
                return None
            # Its reference is taken: saying so is unavoidable, as opening it would be wrong.
            raise EventError(f"case reference {case} is already in use, so it cannot be "
                             "opened in your team: check the reference, or ask your manager.")
        raise EventError(no_case(actor, case))

    def visible_case(self, actor: Actor, case: str) -> str:
        """The team of `case` if `actor` may see it (a button on a prompt is checked as a
        command is); else EventError with the one wording of an unknown case."""
        team = self._check_case_access(actor, case)
        assert team is not None  # no event type: an unknown case was refused
        return team

    def _check_void(self, actor: Actor, draft: EventDraft) -> None:
        if actor.is_manager:
            return
        target = str(draft.fields["event_id"])
        authors = {e.id: e.recorded_by for e in self.casebook.timeline(draft.case)}
        if target in authors and authors[target] != actor.name:
            raise EventError(f"only the person who logged {target} or a manager can void it: "
                             "ask them or your team manager.")

    def _check_rule(self, draft: EventDraft, now: datetime) -> None:
        """A delay reason must name a timescale the case has (one of its own deadlines)."""
        rule = str(draft.fields["rule"])
        deadlines = self.casebook.deadlines(draft.case, now)
        if rule in {d.rule for d in deadlines}:
            return
        ids = sorted({d.rule for d in deadlines if d.open}) or sorted({d.rule for d in deadlines})
        listed = ", ".join(ids) if ids else "none yet"
        raise EventError(f"'{rule}' is not a timescale of case {draft.case}: type /case "
                         f"{draft.case} reason RULE why, with RULE one of its open timescales "
                         f"({listed}).")

    # --- running ----------------------------------------------------------------------------

    def _run(self, actor: Actor, intent: Intent, source: str, request_id: str | None,
             now: datetime) -> Reply:
        if intent.kind == "help":
            return Reply(CASE_HELP)
        if intent.kind == "due":
            return Reply(self._due(actor, intent, now).text)
        if intent.kind in ("show_case", "share_case"):
            assert intent.case is not None
            case_team = self.visible_case(actor, intent.case)
            shown = self._show(intent.case, now)
            if intent.kind == "share_case":
                return Reply(shown.text, share_case=intent.case, team=case_team)
            return shown
        if intent.needs_manager and not actor.is_manager:
            raise EventError("only a manager can authorise or extend an assessment; ask your "
                             "team manager.")
        teams: dict[str, str | None] = {}
        for draft in intent.events:
            teams[draft.case] = self._check_case_access(actor, draft.case, draft.type)
            if draft.type == "event_voided":
                self._check_void(actor, draft)
            if draft.type == "delay_reason":
                self._check_rule(draft, now)
        if any(t is None for t in teams.values()) and actor.team is None:
            raise EventError("you have no team, so a new case cannot be opened by you; ask an "
                             "admin to set your team.")
        ready: list[tuple[EventDraft, dict[str, object], str | None, str | None]] = []
        for n, draft in enumerate(intent.events):
            fields = dict(draft.fields)
            team = teams[draft.case] or actor.team
            if draft.type == "allocated":
                fields["worker"] = self._allocatable(intent, str(fields["worker"]), team)
            ready.append((draft, fields, team, f"{request_id}:{n}" if request_id else None))
        # One transaction for them all: siblings seen together are logged all or none, so
        # one closed case cannot leave the others half recorded.
        try:
            results = self.casebook.log_many(
                [LogEntry(d.case, d.type, d.at, f, team, rid, refuse_repeat=not d.again)
                 for d, f, team, rid in ready],
                actor=actor.name, source=source)
        except EntryRefused as err:
            if isinstance(err.reason, NoSuchCase):  # the store's own check: chat's words
                err = EntryRefused(err.index, EventError(no_case(actor, err.reason.reference)))
            if isinstance(err.reason, RepeatedReferral):
                first = err.reason
                raise EventError(
                    f"{first.reference} was already referred {when_words(first.first_at, now)}; "
                    f"add `again` if this is a new referral: /referral {first.reference} "
                    f"{first.track} again.") from None
            if len(intent.events) == 1:
                raise EventError(str(err)) from None
            refused = intent.events[err.index].case
            others = " or ".join(d.case for d in intent.events if d.case != refused)
            reason = str(err).rstrip(".")
            if refused not in reason:  # say which case, unless the reason already does
                reason = f"case {refused}: {reason}"
            raise EventError(f"{reason}; so {others} was not logged either (send it again "
                             f"without {refused}).") from None
        lines: list[str] = []
        ids: list[str] = []
        for (draft, _f, team, _r), result in zip(ready, results, strict=True):
            ids.append(result.event_id)
            what = draft.type.replace("_", " ")
            again = " (already logged: this was a repeat)" if result.duplicate else ""
            lines.append(f"Logged {what}{_field_words(draft)} for {draft.case} "
                         f"{when_words(result.at, now)} (id {result.event_id}){again}.")
            if result.opened:  # so a typo that opened a case is seen at once
                lines.append(f"This opened a new case, {draft.case}, in team {team}.")
            cal = self.casebook.calendar_of(draft.case)
            lines.extend(change_summary(result.before, result.after, cal, now))
        return Reply(" ".join(lines), event_ids=tuple(ids))

    def _worker(self, intent: Intent, name: str) -> Actor:
        uid = intent.mention_ids.get(name)
        staff = (self.directory.by_slack(uid) if uid else None) or self.directory.by_name(name)
        if staff is None:
            raise EventError(f"{name} is not in the staff directory: allocate to someone who "
                             "is, or ask an admin to add them.")
        return staff

    def _worker_name(self, intent: Intent, name: str) -> str:
        return self._worker(intent, name).name

    def _allocatable(self, intent: Intent, name: str, team: str | None) -> str:
        """The directory name of someone who may hold a case of `team`."""
        staff = self._worker(intent, name)
        if team is not None and staff.team != team and not staff.can_see(team):
            where = f"in team {staff.team}" if staff.team else "in no team"
            raise EventError(f"{staff.name} is {where}, not {team}: allocate to someone in "
                             f"{team}.")
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

    # --- /due -------------------------------------------------------------------------------

    def due_view(self, actor: Actor, target: str = "me", now: datetime | None = None,
                 mention_ids: dict[str, str] | None = None) -> DueView:
        """What `/due` (target "me"), `/due team` ("team") or `/due @jo` ("jo") shows `actor`:
        overdue, today, the next five working days, and for managers what awaits sign-off."""
        intent = Intent("due", "/due", target=target, mention_ids=mention_ids or {})
        return self._due(actor, intent, now or self.clock())

    def _due_person(self, intent: Intent, name: str) -> str:
        """The directory name of the person `/due @name` asks about. Someone not in the
        directory is said so in /due's own terms: nothing is being allocated here."""
        uid = intent.mention_ids.get(name)
        staff = (self.directory.by_slack(uid) if uid else None) or self.directory.by_name(name)
        if staff is None:
            raise EventError(f"{name} is not in the staff directory: type /due @NAME with "
                             "someone who is, or /due for your own.")
        return staff.name

    def _due(self, actor: Actor, intent: Intent, now: datetime) -> DueView:
        target = intent.target or "me"
        with self.casebook.sessions() as s:
            visible = visible_team_ids(s, actor)
            if target == "team":
                if visible == []:
                    raise EventError("you have no team: ask an admin to set it.")
                if visible is None:
                    rows = list(repo.open_deadline_rows(s))
                    who = "every team"
                else:
                    rows = list(repo.open_deadline_rows(s, team_ids=visible))
                    who = "your team" if len(visible) == 1 else "your teams"
            else:
                name = actor.name if target == "me" else self._due_person(intent, target)
                rows = worker_rows(s, name, visible)  # only cases of teams the asker sees
                if target == "me":
                    rows += manager_rows(s, actor)
                who = "you" if target == "me" else name
            awaiting = (self._awaiting_items(s, visible, now)
                        if actor.is_manager and target in ("me", "team") else [])
        return self._due_view(rows, who, awaiting, now)

    def _awaiting_items(self, s: Session, team_ids: list[int] | None,
                        now: datetime) -> list[str]:
        """'123456 completed Mon 9 Nov, 10 working days ago', longest waiting first."""
        today = local_date(now)
        items = []
        for case, at in awaiting_cases(s, team_ids):
            cal = self.casebook.library.calendar(case.policy)
            day = local_date(at)
            n = cal.working_days_between(day, today) if day <= today else 0
            ago = ("today" if n == 0 else f"{n} working day{'s' if n != 1 else ''} ago")
            items.append(f"{case.reference} completed "
                         f"{day_text(day, with_year=day.year != today.year)}, {ago}")
        return items

    def _due_view(self, rows: list[tuple[DeadlineRow, Case]], who: str, awaiting: list[str],
                  now: datetime) -> DueView:
        today = now.astimezone(LONDON).date()
        horizons: dict[str, date] = {}
        overdue: list[str] = []
        due_today: list[str] = []
        soon: list[str] = []
        for d, c in sorted(rows, key=lambda dc: dc[0].due):
            # Five working days of the case's own pack: its closure days are not working days.
            horizon = horizons.get(c.policy)
            if horizon is None:
                cal = self.casebook.library.calendar(c.policy)
                horizon = horizons[c.policy] = cal.add_working_days(today, 5)
            item = f"{c.reference} {d.title}: {self._due_words(d, now)}"
            bucket = due_bucket(d.due, now, horizon)
            if bucket is not None:
                {"overdue": overdue, "today": due_today, "soon": soon}[bucket].append(item)
        sections = [DueSection(title, tuple(items))
                    for title, items in (("Overdue", overdue), ("Today", due_today),
                                         ("Next five working days", soon),
                                         ("Awaiting your authorisation", awaiting))
                    if items]
        return DueView(who, len(overdue), len(due_today), len(soon), tuple(sections))

    @staticmethod
    def _due_words(d: DeadlineRow, now: datetime) -> str:
        when = moment_text(d.due) if d.hourly else day_text(local_date(d.due))
        return ("by " if d.due >= now else "was due ") + when
