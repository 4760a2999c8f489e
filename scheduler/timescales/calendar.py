"""Working days in England: Monday to Friday less bank holidays and an authority's closure days.

Offsets never walk day by day: the calendar precomputes, for every date in its range, how
many working days fall on or before it, and the list of working days, so an offset is two
array look-ups (O(1)).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
END_OF_DAY = time(23, 59, 59)
FIRST_YEAR = 2000
LAST_YEAR = 2060


class CalendarRangeError(ValueError):
    """A date outside the years the calendar covers."""


def bank_holidays(first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> dict[date, str]:
    """England and Wales bank holidays, one-off days included (19 Sep 2022, 8 May 2023)."""
    hols = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return {d: str(name) for d, name in sorted(hols.items())}


class WorkingCalendar:
    """Working days between FIRST_YEAR and LAST_YEAR with O(1) offsets and counts."""

    def __init__(
        self,
        closure_days: Iterable[date] = (),
        first_year: int = FIRST_YEAR,
        last_year: int = LAST_YEAR,
    ) -> None:
        self.start = date(first_year, 1, 1)
        self.end = date(last_year, 12, 31)
        self.holidays = bank_holidays(first_year, last_year)
        self.closure_days = frozenset(closure_days)
        self._base = self.start.toordinal()
        span = self.end.toordinal() - self._base + 1
        non_working = set(self.holidays) | self.closure_days
        # _upto[i]: working days on or before start + i; _days: ordinals of working days.
        self._upto: list[int] = [0] * span
        self._days: list[int] = []
        count = 0
        for i in range(span):
            d = date.fromordinal(self._base + i)
            if d.weekday() < 5 and d not in non_working:
                count += 1
                self._days.append(self._base + i)
            self._upto[i] = count

    def _index(self, d: date) -> int:
        i = d.toordinal() - self._base
        if i < 0 or i >= len(self._upto):
            raise CalendarRangeError(
                f"{d.isoformat()} is outside the calendar ({self.start.year}-{self.end.year})"
            )
        return i

    def is_working_day(self, d: date) -> bool:
        """True for a Monday to Friday that is neither a bank holiday nor a closure day."""
        i = self._index(d)
        before = self._upto[i - 1] if i > 0 else 0
        return self._upto[i] > before

    def add_working_days(self, d: date, n: int) -> date:
        """The nth working day after `d`, `d` being day 0 (timescales.md §1); n >= 0.

        With n == 0 the result is `d` itself if it is a working day, else the next one.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        k = self._upto[self._index(d)]
        if n == 0 and self.is_working_day(d):
            return d
        pos = k + n - 1 if n > 0 else k
        if pos >= len(self._days):
            raise CalendarRangeError(f"{n} working days after {d} is past {self.end.year}")
        return date.fromordinal(self._days[pos])

    def day_number(self, d: date, n: int) -> date:
        """Working day `n` where day 1 is `d`, or the next working day if `d` is not one."""
        if n < 1:
            raise ValueError("day numbers start at 1")
        return self.add_working_days(d, 0) if n == 1 else self.add_working_days(
            self.add_working_days(d, 0), n - 1
        )

    def on_or_before(self, d: date) -> date:
        """`d` if it is a working day, else the working day before it."""
        k = self._upto[self._index(d)]
        if k == 0:
            raise CalendarRangeError(f"no working day on or before {d} in the calendar")
        return date.fromordinal(self._days[k - 1])

    def working_days_before(self, d: date, n: int) -> date:
        """The nth working day before `d` (n >= 1), whether or not `d` is a working day."""
        if n < 1:
            raise ValueError("n must be at least 1")
        k = self._upto[self._index(d)]
        pos = k - 1 - n if self.is_working_day(d) else k - n
        if pos < 0:
            raise CalendarRangeError(f"{n} working days before {d} is before {self.start.year}")
        return date.fromordinal(self._days[pos])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (day 0 = start)."""
        return self._upto[self._index(end)] - self._upto[self._index(start)]

    def day_of(self, anchor: date, today: date) -> int:
        """Which working day `today` is, counting the anchor's date as day 0."""
        return self.working_days_between(anchor, today)

    def day_of_window(self, start: date, end: date, today: date,
                      start_is_day_one: bool = False) -> tuple[int, int] | None:
        """(n, total) for "day n of total" of the working-day window `start`..`end` on
        `today`; None for an empty window or once `end` has passed. The one place this
        is counted (prompts, `due`, deadlines tables).

        Suffolk's "by day N" calls the anchor's date day 1 when it is a working day
        (`start_is_day_one`); the others call it day 0.
        """
        shift = 1 if start_is_day_one and self.is_working_day(start) else 0
        total = self.working_days_between(start, end) + shift
        if total <= 0 or today > end:
            return None
        return self.working_days_between(start, today) + shift, total

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after `d`."""
        return self.add_working_days(d, 1)

    def working_days(self, start: date, end: date) -> list[date]:
        """Working days from start to end inclusive."""
        lo = bisect_right(self._days, start.toordinal() - 1)
        hi = bisect_right(self._days, end.toordinal())
        return [date.fromordinal(o) for o in self._days[lo:hi]]


def end_of_day(d: date) -> datetime:
    """23:59:59 London time on `d`, as an aware datetime (the due moment of a day rule)."""
    return datetime.combine(d, END_OF_DAY, tzinfo=LONDON)


@lru_cache(maxsize=65536)
def end_of_day_utc(d: date) -> datetime:
    """`end_of_day(d)` in UTC; cached, since many deadlines share a due day."""
    return end_of_day(d).astimezone(UTC)


def local_date(instant: datetime) -> date:
    """The London calendar date of an aware instant."""
    return instant.astimezone(LONDON).date()


def due_bucket(due: datetime, now: datetime, horizon: date) -> str | None:
    """Where a deadline due at `due` stands at `now`: "overdue", "today", "soon" (due by
    `horizon`, a London date) or None (later). The one place digests and `due` sort."""
    if due < now:
        return "overdue"
    day = local_date(due)
    if day == local_date(now):
        return "today"
    return "soon" if day <= horizon else None


def add_months(d: date, months: int) -> date:
    """Same day of the month `months` later, clamped to the month's last day."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = (nxt - timedelta(days=1)).day
    return date(year, month, min(d.day, last))
