"""UK dates and times as people type them: `21/11`, `21/11/2026`, `today`, `yesterday 16:00`,
`mon`, `14:30`. Never month-first: `03/12` is the 3rd of December.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import EventError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_WORDS = {
    **{w: i for i, w in enumerate(WEEKDAYS)},
    **{w: i for i, w in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday",
                                   "saturday", "sunday"))},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}
_DATE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(
    r"^([01]?\d|2[0-3])[:.]([0-5]\d)$"  # 14:30, 9.15
    r"|^([01]?\d|2[0-3])(am|pm)$"  # 4pm
    r"|^(1[0-2]|0?[1-9])[:.]([0-5]\d)(am|pm)$"  # 4:30pm
)

HINT = "type a date as 21/11, 21/11/2026, today, yesterday or mon"


def is_date_word(token: str) -> bool:
    """True if `token` reads as a date (so a grammar can tell dates from free text)."""
    t = token.lower()
    return (t in ("today", "yesterday") or t in WEEKDAY_WORDS
            or bool(_DATE_RE.match(t)) or bool(_ISO_RE.match(t)))


def is_time_word(token: str) -> bool:
    """True if `token` reads as a time of day (14:30, 9.15, 4pm)."""
    return bool(_TIME_RE.match(token.lower()))


def parse_day(token: str, today: date, past: bool = True) -> date:
    """A date from one token; a weekday name means the most recent one (or today).

    `past=False` reads a weekday or a day without a year forwards (for due dates).
    """
    t = token.lower()
    if t == "today":
        return today
    if t == "yesterday":
        return today - timedelta(days=1)
    if t in WEEKDAY_WORDS:
        target = WEEKDAY_WORDS[t]
        delta = (today.weekday() - target) % 7
        return today - timedelta(days=delta) if past else today + timedelta(
            days=(target - today.weekday()) % 7)
    if _ISO_RE.match(t):
        try:
            return date.fromisoformat(t)
        except ValueError:
            raise EventError(f"'{token}' is not a real date: {HINT}.") from None
    m = _DATE_RE.match(t)
    if not m:
        raise EventError(f"'{token}' is not a date: {HINT}.")
    day, month = int(m.group(1)), int(m.group(2))
    year_text = m.group(3)
    if month > 12:
        raise EventError(
            f"'{token}' has no month {month}: dates are day first, so 21/11 is 21 November; "
            f"type {month:02d}/{day:02d} if you meant day {month} of month {day}."
        )
    try:
        if year_text:
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            return date(year, month, day)
        guess = date(today.year, month, day)
    except ValueError:
        raise EventError(f"'{token}' is not a real date: {HINT}.") from None
    # Without a year, the nearest reading: a past event this year or last, a due date ahead.
    if past and guess > today:
        return guess.replace(year=today.year - 1)
    if not past and guess < today:
        return guess.replace(year=today.year + 1)
    return guess


def parse_time(token: str) -> time:
    """A time of day: 14:30, 9.15, 4pm, 4:30pm."""
    m = _TIME_RE.match(token.lower())
    if not m:
        raise EventError(f"'{token}' is not a time: type 24-hour time such as 14:30.")
    if m.group(1) is not None:
        return time(int(m.group(1)), int(m.group(2)))
    if m.group(3) is not None:
        hour, ampm, minute = int(m.group(3)), m.group(4), 0
    else:
        hour, minute, ampm = int(m.group(5)), int(m.group(6)), m.group(7)
    if hour > 12:
        raise EventError(f"'{token}' is not a time: type 14:30 or 2:30pm.")
    hour = hour % 12 + (12 if ampm == "pm" else 0)
    return time(hour, minute)


def when(day_token: str | None, time_token: str | None, now: datetime) -> datetime:
    """The London instant of a date and an optional time; no date means today.

    A date without a time means now if it is today, else midday, so that a visit logged as
    "yesterday" is not put before a referral logged yesterday morning.
    """
    local_now = now.astimezone(LONDON)
    today = local_now.date()
    day = parse_day(day_token, today) if day_token else today
    if time_token is not None:
        t = parse_time(time_token)
    elif day == today:
        return now.astimezone(LONDON).replace(second=0, microsecond=0)
    else:
        t = time(12, 0)
    instant = datetime.combine(day, t, tzinfo=LONDON)
    # Normalise through UTC: a wall time in the gap of the spring clock change does not exist.
    return instant.astimezone(LONDON)
