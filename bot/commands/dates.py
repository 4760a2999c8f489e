"""UK dates and times as people type them: `21/11`, `21/11/2026`, `today`, `yesterday 16:00`,
`mon`, `14:30`. Never month-first: `03/12` is the 3rd of December.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime, time, timedelta

from scheduler.timescales.calendar import LONDON
from scheduler.timescales.vocabulary import EventError, parse_instant

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_WORDS = {
    **{w: i for i, w in enumerate(WEEKDAYS)},
    **{w: i for i, w in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday",
                                   "saturday", "sunday"))},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}
_DATE_RE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$", re.ASCII)
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_TIME_RE = re.compile(
    r"^([01]?\d|2[0-3])[:.]([0-5]\d)$"  # 14:30, 9.15
    r"|^([01]?\d|2[0-3])(am|pm)$"  # 4pm
    r"|^(1[0-2]|0?[1-9])[:.]([0-5]\d)(am|pm)$",  # 4:30pm
    re.ASCII,  # \d would also match Arabic-Indic digits, which people do not mean here
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

    A day without a year is the nearest such date (which may be ahead: the caller refuses
    an event in the future). `past=False` reads a weekday or a day without a year forwards
    (for due dates). Dates outside 2000-2060, or due dates over three years ahead, are refused.
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
            iso = date.fromisoformat(t)
        except ValueError:
            raise EventError(f"'{token}' is not a real date: {HINT}.") from None
        return _in_range(token, iso, today, past)
    m = _DATE_RE.match(t)
    if not m:
        raise EventError(f"'{token}' is not a date: {HINT}.")
    day, month = int(m.group(1)), int(m.group(2))
    year_text = m.group(3)
    if month > 12:
        swapped = f"type {month:02d}/{day:02d} if you meant {month} {_MONTHS[day - 1]}" if (
            _real_day_month(month, day)) else "type the day, then the month"
        raise EventError(f"'{token}' has no month {month}: dates are day first, so 21/11 is "
                         f"21 November; {swapped}.")
    if year_text:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        try:
            full = date(year, month, day)
        except ValueError:
            raise EventError(f"'{token}' is not a real date: {HINT}.") from None
        return _in_range(token, full, today, past)
    return _in_range(token, _without_year(token, day, month, today, past), today, past)


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _real_day_month(day: int, month: int) -> bool:
    """Whether some year has this day of this month (29/02 does), so a swap is worth offering."""
    try:
        date(2024, month, day)
    except ValueError:
        return False
    return True


# The working calendar covers these years; a date outside them is a typo, not a case event.
FIRST_YEAR, LAST_YEAR = 2000, 2060
# A due date (extension, agency deadline, expected delivery) this far ahead is a typo.
MAX_AHEAD = timedelta(days=3 * 366)


def _without_year(token: str, day: int, month: int, today: date, past: bool) -> date:
    """The day and month in the year that makes sense: the nearest such date for an event
    (so 20/12 typed on 5 January is last December, and 25/11 typed on 23 November is this
    week's, in the future, for the caller to refuse), the next one for a due date."""
    candidates = []
    for year in range(today.year - 4, today.year + 5):
        try:
            candidates.append(date(year, month, day))
        except ValueError:  # 29/02 outside a leap year
            continue
    if not candidates:
        raise EventError(f"'{token}' is not a real date: {HINT}.")
    if not past:
        return min(d for d in candidates if d >= today)
    near = [d for d in candidates if abs((d - today).days) <= 366]
    if not near:  # 29/02 with no leap year either side: the last one, events being past
        return max(d for d in candidates if d <= today)
    # Nearest first; on a tie (half a year either way) the past reading, as events have happened.
    return min(near, key=lambda d: (abs((d - today).days), d > today))


def _in_range(token: str, d: date, today: date, past: bool) -> date:
    """Refuse dates no event or deadline of a live case can have (typos such as 1999 or 2099)."""
    if not FIRST_YEAR <= d.year <= LAST_YEAR:
        raise EventError(f"'{token}' is outside the working calendar ({FIRST_YEAR}-{LAST_YEAR}): "
                         f"{HINT}.")
    if not past and d > today + MAX_AHEAD:
        raise EventError(f"'{token}' is more than three years ahead: type the date you mean, "
                         "for example 29/01/2027.")
    return d


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


def moment(text: str, now: datetime, what: str = "--at") -> datetime:
    """A moment typed on the command line, read as chat reads a day and a time (`21/11/2026
    14:30`, `21/11 9.15`, `yesterday 16:00`, `2026-11-21`: a date alone is midday, today's is
    now), or ISO 8601 with a time (`2026-11-21T14:30`, `...+00:00`) as scripts write it."""
    tokens = text.split()
    iso = text.strip()
    if _ISO_RE.match(iso[:10]) and len(iso) > 10:
        # ISO 8601 with a time, as scripts write it (2026-11-21T14:30, 2026-11-21 14:30:00);
        # what ISO cannot read (2026-11-21 9.15) is read as chat reads it, below.
        with contextlib.suppress(EventError):
            return parse_instant(iso, what)
    if len(tokens) == 1 and is_time_word(tokens[0]):
        return when(None, tokens[0], now)
    if 1 <= len(tokens) <= 2 and is_date_word(tokens[0]):
        return when(tokens[0], tokens[1] if len(tokens) == 2 else None, now)
    raise EventError(f"'{text}' in {what} is not a date and time: type 21/11/2026 14:30, "
                     "21/11 9.15, yesterday 16:00 or 2026-11-21T14:30.")
