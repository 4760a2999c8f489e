"""Sample teams and cases for a first run, dated relative to today so the picture is live.

References are made up and carry no names, as real ones must.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.timescales.calendar import LONDON, WorkingCalendar

SAMPLE_TEAMS = (("north-assessment", "bexley"), ("suffolk-cin", "suffolk"),
                ("medway-front-door", "medway"))

# (name, role, team, Slack user id): made-up staff for trying the commands.
SAMPLE_STAFF = (
    ("jo", "worker", "north-assessment", "U0SAMPLEJO"),
    ("priya", "manager", "north-assessment", "U0SAMPLEPRIYA"),
    ("sam", "worker", "suffolk-cin", "U0SAMPLESAM"),
    ("amir", "worker", "medway-front-door", "U0SAMPLEAMIR"),
    ("morgan", "service_manager", None, "U0SAMPLEMORGAN"),
)

# (case, team, [(working days ago, hh:mm, type, fields)])
SAMPLE_CASES: tuple[tuple[str, str, tuple[tuple[int, str, str, dict[str, Any]], ...]], ...] = (
    ("100201", "north-assessment", (
        (12, "09:30", "contact_received", {}),
        (12, "14:00", "referral_received", {"track": "s17"}),
        (11, "10:00", "allocated", {"worker": "jo"}),
        (6, "15:30", "child_seen", {"alone": True, "home_visited": True}),
    )),
    ("100202", "north-assessment", (
        (2, "11:00", "contact_received", {}),
        (2, "16:00", "referral_received", {"track": "s47"}),
        (1, "09:00", "strategy_discussion_held", {}),
    )),
    ("200310", "suffolk-cin", (
        (8, "10:00", "referral_received", {"track": "s17"}),
        (7, "12:00", "management_decision", {"seen_by_day": 5, "first_review_by_day": 9}),
        (7, "13:00", "allocated", {"worker": "sam"}),
        (7, "16:00", "family_contacted", {}),
    )),
    ("300477", "medway-front-door", (
        (27, "10:00", "referral_received", {"track": "s17"}),
        (26, "09:00", "allocated", {"worker": "amir"}),
        (24, "14:00", "child_seen", {"alone": True, "home_visited": True}),
        (16, "11:00", "assessment_review_held", {}),
    )),
)


def working_days_ago(cal: WorkingCalendar, today: date, n: int) -> date:
    """The working day `n` working days before `today` (0: today, or the last working day)."""
    d = cal.on_or_before(today)
    while n > 0:
        d -= timedelta(days=1)
        if cal.is_working_day(d):
            n -= 1
    return d


def sample_events(cal: WorkingCalendar, now: datetime
                  ) -> list[tuple[str, str, str, datetime, dict[str, Any]]]:
    """(case, team, type, at, fields) for every sample event, none after `now`."""
    today = now.astimezone(LONDON).date()
    out = []
    for case, team, events in SAMPLE_CASES:
        for ago, hhmm, etype, fields in events:
            day = working_days_ago(cal, today, ago)
            hh, mm = (int(x) for x in hhmm.split(":"))
            at = min(datetime.combine(day, time(hh, mm), tzinfo=LONDON), now)
            out.append((case, team, etype, at, fields))
    return out
