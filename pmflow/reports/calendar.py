"""Business days and report windows in a team's time zone.

A business day is a weekday that is not in the weekend set (Saturday and Sunday by default) and not
a holiday (explicit dates, plus a country's public holidays from the `holidays` package when a
country is configured). The daily standup of a business day D covers everything since the standup
of the previous business day (so Monday's covers the weekend, and the day after a holiday covers
the holiday); the weekly digest covers Monday 00:00 of D's week up to the report time.
All windows are computed in the team's time zone and returned as aware UTC datetimes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class BusinessCalendar:
    holidays: frozenset[date] = frozenset()
    country: str = ""
    """A country code for public holidays ("US", "FR"), optionally with a subdivision ("US-CA")."""
    weekend: frozenset[int] = frozenset({5, 6})

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and self.holiday_name(day) is None

    def holiday_name(self, day: date) -> str | None:
        if day in self.holidays:
            return "holiday"
        if self.country:
            return _country_holidays(self.country, day.year).get(day)
        return None

    def previous_business_day(self, day: date) -> date:
        """The last business day strictly before `day`."""
        candidate = day - timedelta(days=1)
        for _ in range(366):
            if self.is_business_day(candidate):
                return candidate
            candidate -= timedelta(days=1)
        raise ValueError(f"no business day in the year before {day}")

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after `day`."""
        candidate = day + timedelta(days=1)
        for _ in range(366):
            if self.is_business_day(candidate):
                return candidate
            candidate += timedelta(days=1)
        raise ValueError(f"no business day in the year after {day}")

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in [start, end)."""
        days, current = 0, start
        while current < end:
            days += self.is_business_day(current)
            current += timedelta(days=1)
        return days


@lru_cache(maxsize=64)
def _country_holidays(country: str, year: int) -> dict[date, str]:
    import holidays

    code, _, subdiv = country.upper().partition("-")
    try:
        calendar = holidays.country_holidays(code, subdiv=subdiv or None, years=year)
    except NotImplementedError:
        raise ValueError(f"unknown holiday country {country!r} (an ISO code such as US, FR, DE-BY)") from None
    return dict(calendar)


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The named time zone, or `default` when the name is empty or unknown."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar date at `instant` in the zone (what "today" is for the team)."""
    return _aware(instant).astimezone(tz).date()


def at_local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at local time `at` in the zone, as UTC. Nonexistent times (DST gaps) move forward."""
    local = datetime.combine(day, at, tzinfo=tz)
    # Round-trip through UTC normalises a time inside a DST gap to a real instant.
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """What a report covers: [start, end), and the local date it is for."""

    report_date: date
    start: datetime
    end: datetime
    tz: ZoneInfo
    business_day: bool
    holiday: str | None

    @property
    def previous_start(self) -> datetime:
        """Start of the window of the same length just before this one (for comparisons)."""
        return self.start - (self.end - self.start)


def daily_window(as_of: datetime, tz: ZoneInfo, calendar: BusinessCalendar, standup_time: time) -> Window:
    """The daily standup for the team-local date of `as_of`: since the previous business day's
    standup time, up to `as_of`."""
    today = local_date(as_of, tz)
    previous = calendar.previous_business_day(today)
    return Window(
        report_date=today,
        start=at_local(previous, standup_time, tz),
        end=_aware(as_of).astimezone(UTC),
        tz=tz,
        business_day=calendar.is_business_day(today),
        holiday=calendar.holiday_name(today),
    )


def weekly_window(as_of: datetime, tz: ZoneInfo, calendar: BusinessCalendar) -> Window:
    """The digest for the week of `as_of` (team-local): Monday 00:00 up to `as_of`. Its report date
    is the Friday of that week, whichever day it runs."""
    today = local_date(as_of, tz)
    monday = today - timedelta(days=today.weekday())
    return Window(
        report_date=monday + timedelta(days=4),
        start=at_local(monday, time(0, 0), tz),
        end=_aware(as_of).astimezone(UTC),
        tz=tz,
        business_day=calendar.is_business_day(today),
        holiday=calendar.holiday_name(today),
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- formatting --------------------------------------------------------------------------------


def format_day(day: date) -> str:
    """'Friday 20 November 2026'."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {day.strftime('%B %Y')}"


def format_short_day(day: date) -> str:
    """'Thu 19 Nov'."""
    return f"{WEEKDAYS[day.weekday()][:3]} {day.day} {day.strftime('%b')}"


def format_local(instant: datetime, tz: ZoneInfo) -> str:
    """'Thu 19 Nov 09:00'."""
    local = _aware(instant).astimezone(tz)
    return f"{format_short_day(local.date())} {local.strftime('%H:%M')}"


def format_hours(hours: float | None) -> str:
    """An age: '45 min', '5 h', '2.5 d'."""
    if hours is None:
        return "?"
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 24:
        return f"{round(hours)} h"
    days = hours / 24
    return f"{days:.1f} d" if days < 10 else f"{round(days)} d"
