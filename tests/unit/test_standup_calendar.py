"""Business days, holidays, team time zones and report windows (pmflow/reports/calendar.py)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from pmflow.reports.calendar import (
    BusinessCalendar,
    at_local,
    daily_window,
    format_hours,
    local_date,
    weekly_window,
)
from pmflow.standup_settings import StandupSettings

PARIS, NEW_YORK, TOKYO, LOS_ANGELES = (ZoneInfo(z) for z in
                                       ("Europe/Paris", "America/New_York", "Asia/Tokyo", "America/Los_Angeles"))
NINE = time(9, 0)
PLAIN = BusinessCalendar()


def test_weekdays_are_business_days_and_weekends_are_not():
    assert PLAIN.is_business_day(date(2026, 11, 20))  # Friday
    assert not PLAIN.is_business_day(date(2026, 11, 21))  # Saturday
    assert not PLAIN.is_business_day(date(2026, 11, 22))  # Sunday
    assert PLAIN.is_business_day(date(2026, 11, 23))  # Monday


def test_previous_business_day_skips_weekends_and_holidays():
    assert PLAIN.previous_business_day(date(2026, 11, 23)) == date(2026, 11, 20)  # Monday -> Friday
    assert PLAIN.previous_business_day(date(2026, 11, 24)) == date(2026, 11, 23)
    christmas = BusinessCalendar(holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25)}))
    assert christmas.previous_business_day(date(2026, 12, 28)) == date(2026, 12, 23)  # over Thu-Fri holidays + weekend
    assert christmas.next_business_day(date(2026, 12, 23)) == date(2026, 12, 28)
    assert christmas.business_days_between(date(2026, 12, 21), date(2026, 12, 28)) == 3


def test_country_public_holidays_come_from_the_holidays_package():
    us = BusinessCalendar(country="US")
    assert not us.is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert "Thanksgiving" in us.holiday_name(date(2026, 11, 26))
    assert us.previous_business_day(date(2026, 11, 27)) == date(2026, 11, 25)
    france = BusinessCalendar(country="FR")
    assert not france.is_business_day(date(2026, 11, 11))  # Armistice
    assert BusinessCalendar(country="US-CA").holiday_name(date(2026, 3, 31)) is not None  # César Chávez Day
    with pytest.raises(ValueError, match="unknown holiday country"):
        BusinessCalendar(country="XX").is_business_day(date(2026, 1, 1))


def test_a_friday_saturday_weekend():
    gulf = BusinessCalendar(weekend=frozenset({4, 5}))
    assert not gulf.is_business_day(date(2026, 11, 20))  # Friday
    assert gulf.is_business_day(date(2026, 11, 22))  # Sunday
    assert gulf.previous_business_day(date(2026, 11, 22)) == date(2026, 11, 19)


def test_the_daily_window_runs_from_the_previous_business_days_standup():
    window = daily_window(datetime(2026, 11, 20, 8, 0, tzinfo=UTC), PARIS, PLAIN, NINE)  # Fri 09:00 Paris
    assert window.report_date == date(2026, 11, 20)
    assert window.start == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)  # Thu 09:00 Paris
    assert window.end == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert window.business_day and window.holiday is None


def test_mondays_standup_covers_the_weekend_and_the_day_after_a_holiday_covers_it():
    monday = daily_window(datetime(2026, 11, 23, 14, 0, tzinfo=UTC), NEW_YORK, PLAIN, NINE)
    assert monday.start == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # Friday 09:00 New York
    after_thanksgiving = daily_window(datetime(2026, 11, 27, 14, 0, tzinfo=UTC), NEW_YORK,
                                      BusinessCalendar(country="US"), NINE)
    assert after_thanksgiving.start == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wednesday 09:00


def test_the_report_date_is_the_teams_date_around_midnight_utc():
    late_friday_utc = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert local_date(late_friday_utc, TOKYO) == date(2026, 11, 21)  # already Saturday in Tokyo
    assert local_date(late_friday_utc, LOS_ANGELES) == date(2026, 11, 20)  # still Friday afternoon
    tokyo = daily_window(late_friday_utc, TOKYO, PLAIN, NINE)
    assert tokyo.report_date == date(2026, 11, 21) and not tokyo.business_day
    los_angeles = daily_window(late_friday_utc, LOS_ANGELES, PLAIN, NINE)
    assert los_angeles.report_date == date(2026, 11, 20) and los_angeles.business_day
    # Just after midnight in Paris on Monday is Monday, even though it is still Sunday in UTC.
    early_monday = daily_window(datetime(2026, 11, 22, 23, 5, tzinfo=UTC), PARIS, PLAIN, NINE)
    assert early_monday.report_date == date(2026, 11, 23) and early_monday.business_day
    assert early_monday.start == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_windows_across_a_daylight_saving_change():
    # Paris moves to summer time on Sunday 29 March 2026: Friday 09:00 is 08:00 UTC, Monday's 07:00 UTC.
    monday = daily_window(datetime(2026, 3, 30, 7, 0, tzinfo=UTC), PARIS, PLAIN, NINE)
    assert monday.start == datetime(2026, 3, 27, 8, 0, tzinfo=UTC)
    assert at_local(date(2026, 3, 30), NINE, PARIS) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    # 02:30 does not exist that Sunday in Paris: it resolves to a real instant, not an error.
    assert at_local(date(2026, 3, 29), time(2, 30), PARIS) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_the_weekly_window_is_the_teams_week_and_dated_friday():
    window = weekly_window(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), PARIS, PLAIN)  # Friday 16:00 Paris
    assert window.report_date == date(2026, 11, 20)
    assert window.start == datetime(2026, 11, 15, 23, 0, tzinfo=UTC)  # Monday 00:00 Paris
    sunday_night = weekly_window(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), PARIS, PLAIN)  # Monday 00:30 Paris
    assert sunday_night.report_date == date(2026, 11, 27)


def test_settings_parse_holidays_weekends_time_zones_and_channels(tmp_path):
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("# company days off\n2026-12-24\n2026-12-31  # new year's eve\n")
    settings = StandupSettings(holidays=str(holidays), weekend="4,5", team_timezones="eng=Europe/Paris, WEB=Asia/Tokyo",
                               channel="#standup", team_channels="OPS=C0OPS0001")
    assert settings.holiday_dates() == {date(2026, 12, 24), date(2026, 12, 31)}
    assert StandupSettings(holidays="2026-01-02, 2026-05-01").holiday_dates() == {date(2026, 1, 2), date(2026, 5, 1)}
    assert settings.weekend_days() == {4, 5}
    assert settings.team_timezone_overrides() == {"ENG": "Europe/Paris", "WEB": "Asia/Tokyo"}
    assert settings.channel_for("OPS") == "C0OPS0001" and settings.channel_for("ENG") == "#standup"
    with pytest.raises(ValueError):
        StandupSettings(weekend="0,1,2,3,4,5,6").weekend_days()
    with pytest.raises(ValueError):
        StandupSettings(holidays="/no/such/file").holiday_dates()
    with pytest.raises(ValueError):
        StandupSettings(timezone="Mars/Olympus")
    with pytest.raises(ValueError):
        StandupSettings(as_of=datetime(2026, 11, 20, 9, 0))  # needs an offset


def test_ages_read_naturally():
    assert [format_hours(h) for h in (0.2, 5.4, 23.6, 36, 250, None)] == ["12 min", "5 h", "24 h", "1.5 d", "10 d", "?"]
