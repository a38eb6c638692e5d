"""Configuration of the daily standup and the weekly digest, from the environment (PMFLOW_STANDUP_*).

| variable | meaning | default |
|---|---|---|
| PMFLOW_STANDUP_CHANNEL | Slack channel (id or name) the reports are posted to | - (nothing is posted) |
| PMFLOW_STANDUP_TEAM_CHANNELS | per-team channels, `ENG=#eng-standup,WEB=C0123` | - |
| PMFLOW_STANDUP_TEAMS | only these Linear team keys, `ENG,WEB` | every team |
| PMFLOW_STANDUP_TIMEZONE | time zone of a team whose Linear team has none | UTC |
| PMFLOW_STANDUP_TEAM_TIMEZONES | per-team override, `ENG=Europe/Paris,WEB=America/New_York` | - |
| PMFLOW_STANDUP_HOLIDAYS | holidays: dates `2026-12-24,2026-12-31`, or a file of dates (one per line, # comments) | - |
| PMFLOW_STANDUP_HOLIDAY_COUNTRY | public holidays of a country (and subdivision): `US`, `FR`, `US-CA`, `DE-BY` | - |
| PMFLOW_STANDUP_WEEKEND | weekdays off, 0 = Monday: `5,6` (Sat, Sun); `4,5` for Fri-Sat | 5,6 |
| PMFLOW_STANDUP_TIME | local time of the daily standup; "done since the last standup" starts at this time on the previous business day | 09:00 |
| PMFLOW_STANDUP_DIGEST_TIME | local time of the Friday digest | 16:00 |
| PMFLOW_STANDUP_AS_OF | the instant a report describes (ISO 8601 with offset), for backfills, demos and tests | now |
| PMFLOW_STANDUP_REVIEW_WAIT_HOURS | an open PR without a review for longer than this is "waiting for review" | 24 |
| PMFLOW_STANDUP_STUCK_DAYS | without journey marts: an in-progress ticket not updated for this long is stuck | 5 |
| PMFLOW_STANDUP_UNTRACKED_DAYS | untracked conversations of the last N days are listed | 7 |
| PMFLOW_STANDUP_ESCALATION_DAYS | agent escalations of the last N days, unanswered, are listed | 14 |
| PMFLOW_STANDUP_MAX_ITEMS | items per section before "…and N more" | 8 |
| PMFLOW_STANDUP_SUMMARY | add an AI summary paragraph when OPENAI_API_KEY is set | true |
| PMFLOW_STANDUP_SUMMARY_MODEL | model of that summary | gpt-4o-mini |

OPENAI_API_KEY / OPENAI_BASE_URL (pmflow/cost_settings.py) configure the summary's client; the
report is complete without it. SLACK_BOT_TOKEN / SLACK_API_URL (pmflow/settings.py) the posting.
"""
from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class StandupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMFLOW_STANDUP_", extra="ignore")

    channel: str = ""
    team_channels: str = ""
    teams: str = ""
    timezone: str = "UTC"
    team_timezones: str = ""
    holidays: str = ""
    holiday_country: str = ""
    weekend: str = "5,6"
    time: dt.time = dt.time(9, 0)
    digest_time: dt.time = dt.time(16, 0)
    as_of: datetime | None = None
    review_wait_hours: float = 24.0
    stuck_days: float = 5.0
    untracked_days: int = 7
    escalation_days: int = 14
    max_items: int = 8
    summary: bool = True
    summary_model: str = "gpt-4o-mini"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _check_zone(value, "PMFLOW_STANDUP_TIMEZONE")

    @field_validator("as_of")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("PMFLOW_STANDUP_AS_OF needs a UTC offset, e.g. 2026-11-20T17:00:00+00:00")
        return value

    # -- parsed forms --------------------------------------------------------------------------

    @property
    def team_filter(self) -> set[str]:
        return {t.strip().upper() for t in self.teams.split(",") if t.strip()}

    def team_timezone_overrides(self) -> dict[str, str]:
        overrides = _pairs(self.team_timezones, "PMFLOW_STANDUP_TEAM_TIMEZONES")
        for zone in overrides.values():
            _check_zone(zone, "PMFLOW_STANDUP_TEAM_TIMEZONES")
        return {team.upper(): zone for team, zone in overrides.items()}

    def channel_for(self, team: str) -> str:
        """The channel a team's reports go to: its own, else PMFLOW_STANDUP_CHANNEL ('' = none)."""
        per_team = {k.upper(): v for k, v in _pairs(self.team_channels, "PMFLOW_STANDUP_TEAM_CHANNELS").items()}
        return per_team.get(team.upper(), self.channel).strip()

    def weekend_days(self) -> frozenset[int]:
        days = frozenset(int(d) for d in self.weekend.split(",") if d.strip())
        if not days <= set(range(7)) or len(days) >= 7:
            raise ValueError("PMFLOW_STANDUP_WEEKEND lists weekdays 0 (Monday) to 6 (Sunday), not all seven")
        return days

    def holiday_dates(self) -> set[date]:
        """The explicit holidays: a comma-separated list of dates, or a file of them."""
        text = self.holidays.strip()
        if not text:
            return set()
        if not _looks_like_dates(text):
            path = Path(text)
            if not path.exists():
                raise ValueError(f"PMFLOW_STANDUP_HOLIDAYS: {text!r} is neither dates (YYYY-MM-DD,...) nor a file")
            text = ",".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
        return {date.fromisoformat(d.strip()) for d in text.replace("\n", ",").split(",") if d.strip()}


def _check_zone(name: str, variable: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{variable}: {name!r} is not an IANA time zone (e.g. Europe/Paris)") from None
    return name


def _looks_like_dates(text: str) -> bool:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        for part in parts:
            date.fromisoformat(part)
    except ValueError:
        return False
    return bool(parts)


def _pairs(text: str, name: str) -> dict[str, str]:
    pairs = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{name}: expected KEY=value pairs separated by commas, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def standup_settings() -> StandupSettings:
    return StandupSettings()
