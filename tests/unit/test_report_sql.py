"""The report SQL (pmflow/reports/sql) on whatever subset of the warehouse exists: every query runs on
an empty warehouse, a missing table or column reads as empty or its default, and a report of a
workspace with no data says, section by section, what is missing."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from pmflow.reports.build import ALL_TEAMS, Team, build_daily, build_weekly, business_calendar, list_teams
from pmflow.reports.data import ReportData, UnknownSource, load_sql, query_names, rewrite
from pmflow.reports.render import to_markdown
from pmflow.reports.sources import SOURCES
from pmflow.standup_settings import StandupSettings
from warehouse.migrate import apply_migrations

NOW = datetime(2026, 11, 20, 17, tzinfo=UTC)
PARAMS = dict(workspace_id="W", team="ENG", window_start=NOW - timedelta(days=1), window_end=NOW,
              previous_start=NOW - timedelta(days=8), previous_end=NOW - timedelta(days=7), has_journeys=False,
              stuck_hours=120, review_wait_hours=24, since=NOW - timedelta(days=7), day=date(2026, 11, 19),
              week_start=date(2026, 11, 16), weeks=6, first_day=date(2026, 11, 16), last_day=date(2026, 11, 20))


@pytest.fixture
def con():
    connection = duckdb.connect()
    apply_migrations(connection)
    yield connection
    connection.close()


def settings(**overrides) -> StandupSettings:
    """The defaults, whatever PMFLOW_STANDUP_* the environment running the tests holds."""
    values = dict(summary=False)
    values.update(overrides)
    return StandupSettings.model_construct(**values)


def test_every_query_names_only_declared_tables_and_runs_on_an_empty_warehouse(con):
    data = ReportData(con)
    assert len(query_names()) >= 15
    for name in query_names():
        load_sql(name)  # raises UnknownSource for an undeclared table
        assert isinstance(data.rows(name, **PARAMS), list), name


def test_undeclared_tables_are_refused_and_string_literals_left_alone():
    with pytest.raises(UnknownSource, match="core.nope"):
        rewrite("SELECT * FROM core.nope")
    assert rewrite("SELECT 'core.nope' AS x FROM core.linear_issues") == \
        "SELECT 'core.nope' AS x FROM src_core_linear_issues"


def test_a_missing_column_reads_as_its_default_and_a_missing_table_as_empty(con):
    con.execute("CREATE TABLE marts.cost_daily (workspace_id VARCHAR, day DATE, model VARCHAR, calls BIGINT, "
                "cost_usd DOUBLE)")  # no in_spend, no provider/project
    con.execute("INSERT INTO marts.cost_daily VALUES ('W', DATE '2026-11-19', 'm', 3, 1.5)")
    data = ReportData(con)
    spend = data.rows("spend", **PARAMS)[0]
    assert spend["day_usd"] == 1.5 and spend["day_calls"] == 3  # in_spend defaulted to true
    assert data.rows("budgets", **PARAMS) == []  # marts.budget_status does not exist
    available = data.available("W")
    assert available["marts.cost_daily"] and not available["marts.budget_status"]
    assert set(available) <= set(SOURCES)


def test_a_workspace_with_no_data_gets_an_honest_report_not_an_error(con):
    data = ReportData(con)
    s = settings()
    teams = list_teams(data, "W", s)
    assert teams == [Team(ALL_TEAMS, "All teams", "UTC")]
    daily = build_daily(data, "W", teams[0], NOW, business_calendar(s), s)
    markdown = to_markdown(daily)
    assert not daily.quiet
    assert daily.headline.startswith("No Linear or GitHub data yet")
    for line in ("_no Linear data yet_", "_no GitHub data yet_", "_no ticket matching yet_", "_no agent events yet_",
                 "_no cost data yet_"):
        assert line in markdown, line
    weekly = to_markdown(build_weekly(data, "W", teams[0], NOW, business_calendar(s), s))
    for line in ("_no cycle-time data yet_", "_no journey data yet_", "_no cost data yet_"):
        assert line in weekly, line


def test_team_time_zones_come_from_settings_then_linear_then_the_default(con):
    con.execute("INSERT INTO core.linear_teams (workspace_id, team_id, key, name, timezone) VALUES "
                "('W', 't1', 'ENG', 'Engineering', 'Europe/Paris'), ('W', 't2', 'WEB', 'Web', NULL), "
                "('W', 't3', 'OPS', 'Ops', 'Not/AZone')")
    data = ReportData(con)
    teams = {t.key: t.timezone for t in list_teams(data, "W", settings(timezone="America/Chicago",
                                                                           team_timezones="OPS=Asia/Tokyo"))}
    assert teams == {"ENG": "Europe/Paris", "WEB": "America/Chicago", "OPS": "Asia/Tokyo"}
    assert [t.key for t in list_teams(data, "W", settings(teams="web"))] == ["WEB"]
