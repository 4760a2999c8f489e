"""Content as an email: (subject, HTML, text) that reads well in Outlook.

Outlook for Windows lays HTML out with Word's engine, so the HTML is what it handles well:
tables for layout (`role="presentation"`), widths as attributes, inline styles only (no
<style> block, no classes), web-safe fonts, no images, no scripts and no links to fetch.
Every piece of case-derived text is escaped.

An email has no size limit: a digest shows every section and person (`Digest.fit(None)`),
each person's lines up to the digests' usual PER_PERSON, with the cut counted exactly as
in every transport ("and 2 more, see /due team"). A prompt by email has no buttons: it
lists the commands to type in the chat with caseclock instead, and quotes the procedure.
The text part is `plain_text(content, None)`, the same words without the layout; Graph's
JSON sendMail takes one body, so the email transport sends the HTML alone (bot/transports/
email.py says why it does not send MIME).
"""

from __future__ import annotations

from html import escape

from bot.commands.table import SEE_ALL, command_for_event
from scheduler.reminders.content import (
    Alert,
    Content,
    Digest,
    Prompt,
    more_words,
    plain_text,
)

SUBJECT_CHARS = 180  # Outlook shows far less; a longer subject is cut with an ellipsis
FONT = "font-family:'Segoe UI',Arial,Helvetica,sans-serif;"
INK, MUTED, RULE, PAGE = "#101828", "#667085", "#eaecf0", "#f2f4f7"
# Section colours (text, tint): the ones that need action today stand out.
RED, AMBER, BLUE, GREY = ("#b42318", "#fef3f2"), ("#b54708", "#fffaeb"), (
    "#175cd3", "#eff8ff"), ("#344054", "#f9fafb")
SECTION_COLOURS = {"overdue": RED, "exceptions": RED, "escalated": AMBER, "due today": AMBER,
                   "overdue, not escalated": AMBER, "awaiting authorisation": BLUE}


def render(content: Content) -> tuple[str, str, str]:
    """The email for `content`: its subject, its HTML and its text part."""
    text = plain_text(content, None, SEE_ALL)
    if isinstance(content, Prompt):
        return subject_of(content), _page(subject_of(content), _prompt(content),
                                          _footer("a reminder")), text
    if isinstance(content, Digest):
        footer = _footer("the team's morning digest" if content.audience == "team"
                         else "your morning summary")
        return subject_of(content), _page(subject_of(content), _digest(content), footer), text
    return subject_of(content), _page(subject_of(content), _alert(content),
                                      _footer("a message to caseclock's admins")), text


def _cut(subject: str) -> str:
    subject = " ".join(subject.split())  # no line breaks in a header
    return subject if len(subject) <= SUBJECT_CHARS else (
        subject[:SUBJECT_CHARS - 1].rstrip() + "…")


def subject_of(content: Content) -> str:
    """"Overdue: case 123456, ..." for a prompt; "caseclock: north, Tue 1 Dec: 3 overdue,
    2 due today" for a digest (its head's counts, the zeros left out)."""
    if isinstance(content, Prompt):
        return _cut(content.urgent_words.rstrip("."))
    if isinstance(content, Alert):
        first = content.text.split(". ", 1)[0].rstrip(".")
        return _cut(f"caseclock for the admins: {first}")
    who, sep, rest = content.head.partition(": ")
    if not sep:
        return _cut(f"caseclock: {content.head.rstrip('.')}")
    counts = rest.split(". ", 1)[0].rstrip(".").split(", ")
    shown = [c for c in counts if not c.startswith("0 ")]
    return _cut(f"caseclock: {who}: {', '.join(shown) or 'nothing due'}")


# --- layout ----------------------------------------------------------------------------

def _page(title: str, rows: str, footer: str) -> str:
    """The frame: a grey page, a white 640-pixel column, the caseclock line, the rows."""
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>\n"
        f'<body style="margin:0;padding:0;background-color:{PAGE};">\n'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="background-color:{PAGE};"><tr><td align="center" style="padding:24px 12px;">\n'
        '<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" '
        'style="width:640px;max-width:640px;background-color:#ffffff;'
        'border:1px solid #d0d5dd;">\n'
        f'<tr><td style="padding:20px 24px 4px 24px;{FONT}font-size:13px;font-weight:bold;'
        f'letter-spacing:1px;color:{MUTED};">CASECLOCK</td></tr>\n'
        f"{rows}"
        f'<tr><td style="padding:16px 24px 20px 24px;border-top:1px solid {RULE};{FONT}'
        f'font-size:12px;line-height:18px;color:{MUTED};">{footer}</td></tr>\n'
        "</table>\n</td></tr></table>\n</body></html>\n")


def _footer(what: str) -> str:
    return (f"This is {escape(what)} from caseclock. Everything due for the team: type "
            f"{_code(SEE_ALL)} in your chat with caseclock.")


def _title(text: str) -> str:
    return (f'<tr><td style="padding:4px 24px 16px 24px;{FONT}font-size:20px;'
            f'line-height:27px;font-weight:bold;color:{INK};">{escape(text)}</td></tr>\n')


def _para(text: str, colour: str = "#344054") -> str:
    return (f'<tr><td style="padding:0 24px 12px 24px;{FONT}font-size:15px;line-height:22px;'
            f'color:{colour};">{escape(text)}</td></tr>\n')


def _code(text: str) -> str:
    return (f'<span style="font-family:Consolas,\'Courier New\',monospace;font-size:14px;'
            f'background-color:{PAGE};color:{INK};padding:1px 4px;">{escape(text)}</span>')


def _box(header: str, colours: tuple[str, str], body_rows: str) -> str:
    """A titled table: a tinted header bar, then its rows."""
    ink, tint = colours
    return (
        '<tr><td style="padding:4px 24px 16px 24px;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="border-collapse:collapse;">\n'
        f'<tr><td colspan="2" style="padding:8px 12px;background-color:{tint};'
        f'border-left:4px solid {ink};{FONT}font-size:15px;font-weight:bold;color:{ink};">'
        f"{header}</td></tr>\n{body_rows}</table>\n</td></tr>\n")


def _cell(html: str, width: str = "", bold: bool = False, span: int = 1) -> str:
    attrs = ' valign="top"' + (f' width="{width}"' if width else "") + (
        f' colspan="{span}"' if span > 1 else "")
    weight = "font-weight:bold;" if bold else ""
    return (f'<td{attrs} style="padding:8px 12px;border-bottom:1px solid {RULE};{FONT}'
            f'font-size:14px;line-height:20px;color:{INK if bold else "#344054"};{weight}">'
            f"{html}</td>")


def _muted(text: str) -> str:
    return f'<span style="color:{MUTED};">{escape(text)}</span>'


# --- content ---------------------------------------------------------------------------

def _digest(digest: Digest) -> str:
    """The head, then each section as a table of people and their lines."""
    fitted = digest.fit(None)
    totals = {s.header: s.total for s in digest.sections}
    rows = [_title(digest.head)]
    for header, people in fitted.shown:
        body = []
        for who, lines, more in people:
            cell = "<br>".join(escape(line) for line in lines)
            if more:
                cell += "<br>" + _muted(more_words(more, SEE_ALL).replace("`", ""))
            body.append("<tr>" + (_cell(escape(who), "150", bold=True) + _cell(cell) if who
                                  else _cell(cell, span=2)) + "</tr>\n")
        hidden = fitted.hidden.get(header)
        if hidden:
            body.append("<tr>" + _cell(_muted(f"and {hidden} more, see {SEE_ALL}"), span=2)
                        + "</tr>\n")
        colours = SECTION_COLOURS.get(header.lower(), GREY)
        rows.append(_box(f"{escape(header)} ({totals.get(header, 0)})", colours, "".join(body)))
    if not fitted.shown:
        rows.append(_para("Nothing is due."))
    # No closing line ("and N more not shown here"): without a budget, fit cuts no section
    # whole, so every cut is counted in its own section above.
    return "".join(rows)


def _commands(prompt: Prompt) -> list[tuple[str, str]]:
    """What a prompt's buttons do, as (what, the command to type)."""
    case, out = prompt.ref.case, []
    for action in prompt.actions:
        if action.kind == "log_it" and action.ref.event:
            found = command_for_event(action.ref.event)
            if found:
                command, word = found
                out.append(("Log it (add a date and time if it was not just now, "
                            "e.g. yesterday 16:00)", f"{command} {case} {word}".rstrip()))
        elif action.kind == "reason":
            out.append(("Record why the timescale was or will be missed",
                        f"/case {case} reason {action.ref.rule} why"))
        # Snoozing has no typed command (it is a button in chat); the procedure's words
        # ("quote") are in the email itself, below.
    out.append(("See the case's timeline and deadlines", f"/case {case}"))
    return out


def _prompt(prompt: Prompt) -> str:
    """The headline, the notes, the checklist, the commands to type, the procedure's words."""
    rows = [_title(prompt.urgent_words)]
    rows += [_para(line) for line in prompt.lines[1:]]
    if prompt.checklist:
        items = "".join(
            "<tr>" + _cell("&#9745;" if it.ticked else "&#9744;", "28", bold=True)
            + _cell(escape(it.text) + (" " + _muted("(done)") if it.ticked else "")) + "</tr>\n"
            for it in prompt.checklist)
        rows.append(_box(escape(prompt.checklist_title or "Checklist"), GREY, items))
    commands = "".join(
        "<tr>" + _cell(escape(what), "260") + _cell(_code(typed)) + "</tr>\n"
        for what, typed in _commands(prompt))
    rows.append(_box("What to type in your chat with caseclock", BLUE, commands))
    if prompt.quote:
        rows.append(_box("What the procedure says", GREY,
                         "<tr>" + _cell(f"<i>{escape(prompt.quote)}</i>", span=2) + "</tr>\n"))
    return "".join(rows)


def _alert(alert: Alert) -> str:
    return _title("A message for caseclock's admins") + "".join(
        _para(line) for line in alert.text.splitlines() if line.strip())
