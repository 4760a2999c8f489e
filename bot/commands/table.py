"""The one table of chat commands: each command and /case word once, with the event it logs,
its usage, its help line and its place in the logging form.

Everything that lists commands reads it: the grammar (usage lines, the /case words),
`/case help`, the Slack modal's choices, a prompt's "Log it" (`command_for_event`), the
slash commands a transport registers and the console. Adding a /case word means a row here
(and, if it reads fields of its own, a reader in grammar.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One command (`/seen`) or one /case word (`/case CASE review`)."""

    command: str  # the slash command: "/referral", "/seen", "/strategy", "/case", "/due"
    shape: str = ""  # for a /case word, what follows the case: "outcome icpc|noicpc"
    event: str | None = None  # the event it logs; None for a question (/due, a timeline)
    help: str = ""  # what it does, in /case help
    usage: str = ""  # the usage line of a command of its own, shown with its mistakes
    aliases: tuple[str, ...] = ()  # other words for the same /case word
    log_it: bool = True  # offered by a prompt's "Log it" when its event meets the rule
    form: str | None = None  # its choice in the logging form, if it has one
    form_fields: tuple[str, ...] = ()  # the form's own fields it reads: "track", "flags"
    form_tail: str = ""  # words the form adds to its line (a closure's reason)

    @property
    def word(self) -> str:
        """The /case word ("review"); "" for a command of its own or a case's timeline."""
        return self.shape.split(" ", 1)[0] if self.command == "/case" else ""

    @property
    def form_value(self) -> str:
        """The form's value for it: the /case word, or the command without its slash."""
        return self.word or self.command.lstrip("/")

    @property
    def help_line(self) -> str:
        """Its line in /case help: the shape typed, then what it does."""
        typed = f"/case CASE {self.shape}".rstrip()
        return f"{typed:<35}{self.help}" if len(typed) < 35 else f"{typed}   {self.help}"


COMMANDS: tuple[Command, ...] = (
    Command("/referral", event="referral_received",
            usage="/referral CASE s17|s47|early_help [date] [time] [again]  "
                  "e.g. /referral 123456 s47",
            form="Referral received", form_fields=("track",)),
    Command("/seen", event="child_seen",
            usage="/seen CASE [CASE ...] [date] [time] [alone] [home] [bedroom]  "
                  "e.g. /seen 123456 yesterday 16:00 alone",
            form="Child seen", form_fields=("flags",)),
    Command("/strategy", event="strategy_discussion_held",
            usage="/strategy CASE [date] [time]  e.g. /strategy 123456 today 11:00",
            form="Strategy discussion held"),
    Command("/case",
            usage="/case CASE [what happened]  e.g. /case 123456 review; /case help for the "
                  "list",
            help="the case's timeline and deadlines (only you see it)"),
    Command("/due", usage="/due [team | @name]"),
)

CASE_WORDS: tuple[Command, ...] = (
    Command("/case", "share", help="post it to the case's team channel (there only)"),
    Command("/case", "contact", "contact_received", "a contact received"),
    Command("/case", "allocate @name", "allocated", "allocated to a worker"),
    Command("/case", "decision [seen N] [review N] [target 15/01]", "management_decision",
            "management decision"),
    Command("/case", "started", "assessment_started", "assessment started",
            aliases=("start",)),
    Command("/case", "family", "family_contacted", "family contacted"),
    Command("/case", "review", "assessment_review_held", "manager review / supervision held",
            aliases=("supervision",), form="Manager review held"),
    Command("/case", "s47", "s47_started", "section 47 enquiry started"),
    Command("/case", "outcome icpc|noicpc", "s47_outcome", "section 47 outcome"),
    Command("/case", "planning", "multi_agency_planning_held",
            "multi-agency planning discussion held"),
    Command("/case", "network", "family_network_meeting_held", "family network meeting held",
            aliases=("fgc",)),
    Command("/case", "report", "icpc_report_shared", "conference report shared with the family"),
    Command("/case", "icpc plan|noplan", "icpc_held", "initial child protection conference held"),
    Command("/case", "coregroup", "core_group_held", "core group held"),
    Command("/case", "rcpc continues|ends", "review_conference_held", "review conference held"),
    Command("/case", "plan isp|cin|family", "plan_agreed", "a plan agreed"),
    Command("/case", "cin", "cin_meeting_held", "child in need meeting held"),
    Command("/case", "complete [nfa|cin|cp|early_help]", "assessment_completed",
            "assessment completed", aliases=("completed",), form="Assessment completed"),
    Command("/case", "authorise", "assessment_authorised", "assessment authorised (managers)",
            aliases=("authorize",), form="Assessment authorised"),
    Command("/case", "extend 29/01/2027 why", "extension_agreed",
            "extension agreed (managers)"),
    # Not what a prompt asks for: a reason has its own button; the others meet no deadline.
    Command("/case", "reason RULE why", "delay_reason",
            "why a timescale was or will be missed", log_it=False),
    Command("/case", "edd 25/01/2027", "expected_delivery_date", "expected date of delivery",
            log_it=False),
    Command("/case", "info police 04/12", "agency_info_requested",
            "information requested from an agency by a date", log_it=False),
    Command("/case", "received police", "agency_info_received", "that information arrived"),
    Command("/case", "close why", "case_closed", "case closed", log_it=False,
            form="Case closed", form_tail="nfa"),
    Command("/case", "void EVENT-ID why", "event_voided", "withdraw a mistaken entry",
            log_it=False),
)

SLASH_COMMANDS: tuple[str, ...] = tuple(c.command for c in COMMANDS)
# Where a digest sends people for everything it could not show (every transport takes it).
SEE_ALL = "/due team"
USAGE: dict[str, str] = {c.command: c.usage for c in COMMANDS}
HELP_FOOTER = "Add a date and time to any of them: today, yesterday 16:00, mon, 21/11 14:30."

# The logging form's choices, in the form's order: the commands of their own, then words.
FORM: tuple[Command, ...] = tuple(c for c in (*COMMANDS, *CASE_WORDS) if c.form)


def case_help() -> str:
    """What `/case help` (and the console's `help`) answers: every /case word, one a line."""
    shown = [c for c in COMMANDS if c.command == "/case"] + list(CASE_WORDS)
    return "\n".join([*(c.help_line for c in shown), HELP_FOOTER])


def command_help() -> str:
    """Every command with its usage, then every /case word: what `help` lists."""
    return "\n".join([*(c.usage for c in COMMANDS), "", case_help()])


def case_word(word: str) -> Command | None:
    """The /case word's row, by its word or one of its aliases."""
    word = word.lower()
    return next((c for c in CASE_WORDS if word == c.word or word in c.aliases), None)


def logging_words() -> list[str]:
    """Every word that logs something after /case CASE (aliases too), for a mistake's list."""
    return sorted({w for c in CASE_WORDS if c.event for w in (c.word, *c.aliases)})


def command_for_event(event: str) -> tuple[str, str] | None:
    """The command line that logs `event`, as "Log it" prefills it: ('/case', 'review'),
    ('/seen', ''); None for an event a prompt does not ask for."""
    row = next((c for c in (*COMMANDS, *CASE_WORDS) if c.event == event and c.log_it), None)
    return (row.command, row.word) if row else None


def form_choice(value: str) -> Command | None:
    """The logging form's choice `value` ("seen", "review") as its row."""
    return next((c for c in FORM if c.form_value == value), None)


def form_choice_for_event(event: str) -> str | None:
    """The form's own choice for a prompt's event, where it has one ("Log it" opens it)."""
    return next((c.form_value for c in FORM if c.event == event and c.log_it), None)
