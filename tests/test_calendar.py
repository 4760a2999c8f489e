"""Working days in England: bank holidays, one-off days, Christmas substitutes, closures."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.timescales.calendar import (
    CalendarRangeError,
    WorkingCalendar,
    add_months,
    end_of_day,
)

CAL = WorkingCalendar()


def naive_add(cal: WorkingCalendar, d: date, n: int) -> date:
    """Day-by-day reference implementation the O(1) index must agree with."""
    from datetime import timedelta

    if n == 0:
        while not cal.is_working_day(d):
            d += timedelta(days=1)
        return d
    while n:
        d += timedelta(days=1)
        if cal.is_working_day(d):
            n -= 1
    return d


def test_spec_example_45_working_days_from_monday_3_april_2023_is_monday_12_june() -> None:
    # timescales.md §1 worked example; passes Good Friday, Easter Monday, the coronation
    # bank holiday (8 May 2023), the early May and the spring bank holidays.
    assert CAL.add_working_days(date(2023, 4, 3), 45) == date(2023, 6, 12)


def test_state_funeral_19_september_2022_is_not_a_working_day() -> None:
    assert not CAL.is_working_day(date(2022, 9, 19))
    # Fri 16 Sep + 1 working day skips the weekend and the funeral: Tue 20 Sep.
    assert CAL.add_working_days(date(2022, 9, 16), 1) == date(2022, 9, 20)


def test_christmas_2022_substitute_day_tuesday_27_december() -> None:
    # 25 Dec 2022 was a Sunday: Boxing Day Mon 26, Christmas substitute Tue 27.
    assert not CAL.is_working_day(date(2022, 12, 26))
    assert not CAL.is_working_day(date(2022, 12, 27))
    assert CAL.add_working_days(date(2022, 12, 23), 1) == date(2022, 12, 28)


def test_christmas_2021_both_days_substituted() -> None:
    # 25 and 26 Dec 2021 fell on a weekend: Mon 27 and Tue 28 are bank holidays.
    assert CAL.add_working_days(date(2021, 12, 24), 1) == date(2021, 12, 29)


def test_christmas_2026_boxing_day_substitute_monday_28_december() -> None:
    # 25 Dec 2026 is a Friday, 26 a Saturday: Boxing Day moves to Mon 28 Dec.
    assert not CAL.is_working_day(date(2026, 12, 28))
    assert CAL.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)


def test_christmas_2027_and_new_year_2028_substitutes() -> None:
    # 25 Dec 2027 is a Saturday: Christmas moves to Mon 27, Boxing Day to Tue 28 Dec; and
    # 1 Jan 2028 is a Saturday too: New Year's Day moves to Mon 3 Jan 2028.
    for day in (date(2027, 12, 27), date(2027, 12, 28), date(2028, 1, 3)):
        assert not CAL.is_working_day(day), day
    assert CAL.is_working_day(date(2027, 12, 29))
    assert CAL.add_working_days(date(2027, 12, 24), 1) == date(2027, 12, 29)
    # A contact on Fri 31 Dec 2027: the next working day is Tue 4 Jan 2028.
    assert CAL.add_working_days(date(2027, 12, 31), 1) == date(2028, 1, 4)
    # Suffolk's "day 1" for a referral on Christmas Day (a Saturday) is Wed 29 Dec.
    assert CAL.day_number(date(2027, 12, 25), 1) == date(2027, 12, 29)


def test_closure_days_of_a_pack_are_not_working_days() -> None:
    cal = WorkingCalendar({date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)})
    assert cal.add_working_days(date(2026, 12, 24), 1) == date(2027, 1, 4)
    assert CAL.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)


def test_non_working_anchor_counts_first_working_day_as_day_1() -> None:
    # Saturday 21 Nov 2026: day 1 is Monday 23 Nov.
    assert CAL.add_working_days(date(2026, 11, 21), 1) == date(2026, 11, 23)
    assert CAL.day_number(date(2026, 11, 21), 1) == date(2026, 11, 23)
    assert CAL.day_number(date(2026, 11, 23), 1) == date(2026, 11, 23)


def test_on_or_before_steps_back_over_easter() -> None:
    # Easter Monday 6 Apr 2026 and Good Friday 3 Apr 2026: working day before is Thu 2 Apr.
    assert CAL.on_or_before(date(2026, 4, 6)) == date(2026, 4, 2)


def test_months_clamp_to_month_end() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_end_of_day_is_local_2359_in_both_seasons() -> None:
    assert end_of_day(date(2026, 7, 1)).isoformat() == "2026-07-01T23:59:59+01:00"
    assert end_of_day(date(2026, 12, 1)).isoformat() == "2026-12-01T23:59:59+00:00"


def test_outside_range_is_a_clear_error() -> None:
    with pytest.raises(CalendarRangeError, match="outside the calendar"):
        CAL.add_working_days(date(1999, 12, 31), 1)


@given(st.dates(date(2015, 1, 1), date(2035, 12, 31)), st.integers(0, 120))
def test_index_agrees_with_day_by_day_count(d: date, n: int) -> None:
    got = CAL.add_working_days(d, n)
    assert got == naive_add(CAL, d, n)
    assert CAL.is_working_day(got)
    assert got >= d
    if n > 0:
        assert CAL.working_days_between(d, got) == n
