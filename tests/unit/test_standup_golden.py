"""Golden tests: the daily standup and the weekly digest of a hand-built warehouse, compared with the
reviewed snapshots in tests/snapshots/standup/ (Markdown and Block Kit JSON).

The warehouse is built here, row by row, so the snapshots change only when the reports do: marts the
other flows build (journeys, costs, matching) are inserted as fixture rows, not built by their code.
Regenerate after an intended change with PMFLOW_UPDATE_SNAPSHOTS=1, then read the diff.

The story (workspace T0FIXTURE, clock: Friday 2026-11-20 17:00 UTC):
- ENG (Europe/Paris; the standup covers Thu 19 Nov 09:00 Paris to Fri 18:00 Paris): two tickets done
  and two PRs merged; an urgent ticket at risk with a PR waiting for review for two days; one in
  review; one blocked (label, and by an open ticket); a queue longer than a section shows; a new
  untracked thread full of mentions and markup; an agent escalation; AI spend and a budget.
- WEB (America/New_York): quiet on Monday 23 Nov (nothing moved since Friday 09:00 New York).
- Shared by every team: a PR in a repo no team owns, a #general thread, an escalation with no ticket.
"""
from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from pmflow.reports.build import Team, build_daily, build_weekly, business_calendar
from pmflow.reports.data import ReportData
from pmflow.reports.render import MAX_BLOCKS, MAX_HEADER_CHARS, MAX_SECTION_CHARS, to_blocks, to_markdown
from pmflow.standup_settings import StandupSettings
from warehouse import Warehouse

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "standup"
WS = "T0FIXTURE"
NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
ENG = Team("ENG", "Engineering", "Europe/Paris")
WEB = Team("WEB", "Web", "America/New_York")


def t(day: int, hour: float, month: int = 11) -> datetime:
    """A UTC time in November 2026 (t(20, 17) is the clock)."""
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


def slack_ts(moment: datetime, n: int) -> str:
    return f"{int(moment.timestamp())}.{n:06d}"


# -- the fixture ---------------------------------------------------------------------------------

USERS = [("u-ada", "Ada Lovelace"), ("u-grace", "Grace Hopper"), ("u-linus", "Linus Torvalds"),
         ("u-mia", "Mia Wong")]
STATES = {"Todo": "unstarted", "In Progress": "started", "In Review": "started", "Done": "completed",
          "Backlog": "backlog"}


def issue(identifier, title, state, *, assignee=None, priority=0, created, entered, completed=None, labels=(),
          url=True):
    team = identifier.split("-")[0]
    return {
        "workspace_id": WS, "issue_id": f"id-{identifier.lower()}", "identifier": identifier, "title": title,
        "state_name": state, "state_type": STATES[state], "team_id": f"team-{team.lower()}", "team_key": team,
        "assignee_id": assignee, "priority": priority, "label_ids": list(labels),
        "url": f"https://linear.app/acme/issue/{identifier}" if url else None,
        "created_at": created, "updated_at": completed or entered,
        "started_at": entered if STATES[state] == "started" else None, "completed_at": completed,
        "_entered": entered,
    }


def fixture_issues() -> list[dict]:
    rows = [
        issue("ENG-100", "Retire the v1 webhooks", "Done", assignee="u-linus", priority=3,
              created=t(2, 9), entered=t(18, 11), completed=t(18, 11)),
        issue("ENG-101", "Fix login timeout on SSO", "Done", assignee="u-ada", priority=2,
              created=t(10, 9), entered=t(19, 14), completed=t(19, 14)),
        issue("ENG-102", "Add audit log export", "Done", assignee="u-grace", priority=3,
              created=t(11, 9), entered=t(20, 10), completed=t(20, 10)),
        issue("ENG-103", "Rate limiter drops <b>bursts</b> & *retries* under load", "In Progress",
              assignee="u-ada", priority=1, created=t(12, 9), entered=t(16, 9)),
        issue("ENG-104", "Migrate billing cron to Prefect", "In Review", assignee="u-grace", priority=3,
              created=t(12, 10), entered=t(19, 15)),
        issue("ENG-105", "Upgrade DuckDB to 2.0", "In Progress", assignee="u-linus", priority=2,
              created=t(13, 9), entered=t(17, 10), labels=["label-blocked"]),
        issue("ENG-106", "Document the on-call runbook", "Todo", assignee="u-ada", priority=4,
              created=t(14, 9), entered=t(14, 9)),
        issue("ENG-107", "Provision the staging database", "Todo", priority=2, created=t(15, 9), entered=t(15, 9)),
        issue("ENG-108", "Flaky test in the ingest suite", "Todo", assignee="u-grace", priority=0,
              created=t(15, 10), entered=t(15, 10)),
        issue("ENG-120", "Tidy the backlog", "Backlog", created=t(1, 9), entered=t(1, 9)),
        issue("WEB-7", "Dark mode for the dashboard", "In Progress", assignee="u-mia", priority=3,
              created=t(9, 15), entered=t(18, 15)),
        issue("WEB-8", "New landing page", "Done", assignee="u-mia", priority=2,
              created=t(3, 15), entered=t(17, 16), completed=t(17, 16)),
        issue("WEB-9", "Broken link in the footer", "Todo", priority=4, created=t(19, 13), entered=t(19, 13)),
    ]
    rows += [issue(f"ENG-{110 + n}", f"Small cleanup number {n + 1}", "Todo", assignee="u-linus", priority=4,
                   created=t(4, 9 + n), entered=t(4, 9 + n)) for n in range(6)]
    return rows


def history_rows(issues: list[dict]) -> list[dict]:
    rows = []
    for row in issues:
        rows.append({"workspace_id": WS, "history_id": f"{row['issue_id']}-0", "issue_id": row["issue_id"],
                     "from_state": None, "to_state": "Todo", "changed_at": row["created_at"]})
        if row["state_name"] != "Todo":
            rows.append({"workspace_id": WS, "history_id": f"{row['issue_id']}-1", "issue_id": row["issue_id"],
                         "from_state": "Todo", "to_state": row["state_name"], "changed_at": row["_entered"]})
    return rows


def pull_requests() -> list[dict]:
    def pr(repo, number, title, head, author, created, *, merged=None, draft=False):
        return {"workspace_id": WS, "repo": repo, "number": number, "title": title, "head_ref": head,
                "author": author, "state": "closed" if merged else "open", "draft": draft,
                "url": f"https://github.com/{repo}/pull/{number}", "created_at": created, "updated_at": merged or created,
                "merged_at": merged, "closed_at": merged}

    return [
        pr("acme/api", 41, "Fix SSO timeout", "eng-101-sso-timeout", "ada-l", t(19, 9), merged=t(19, 16)),
        pr("acme/api", 42, "Audit export", "audit", "grace-h", t(18, 9), merged=t(20, 9.5)),
        pr("acme/api", 43, "Rate limiter rewrite", "eng-103-limiter", "ada-l", t(18, 10)),
        pr("acme/api", 44, "ENG-104 billing cron on Prefect", "billing", "grace-h", t(19, 15)),
        pr("acme/api", 45, "Bump dependencies", "deps/bump", "renovate", t(16, 8), draft=True),
        pr("acme/infra", 46, "Bump CI runners", "ci-runners", "linus-t", t(17, 12)),
        pr("acme/web", 12, "WEB-8 landing page", "web-8-landing", "mia-w", t(16, 15), merged=t(17, 16)),
    ]


def ticket_links() -> list[dict]:
    def link(kind, source_id, decision, ticket=None, decided=NOW, preview=None):
        return {"workspace_id": WS, "source_kind": kind, "source_id": source_id, "ticket_id": ticket,
                "decision": decision, "method": "fixture", "score": 0.9, "decided_at": decided, "preview": preview}

    return [
        link("github_pr", "acme/api#42", "linked", "ENG-102"),
        link("slack_thread", f"C0ENG00001:{slack_ts(t(19, 14), 100)}", "linked", "ENG-103"),
        link("slack_thread", f"C0ENG00001:{slack_ts(t(20, 9.5), 200)}", "new_work", decided=t(20, 10)),
        link("slack_thread", f"C0GEN00001:{slack_ts(t(18, 12), 300)}", "new_work", decided=t(18, 13)),
        link("slack_message", f"C0GEN00001:{slack_ts(t(19, 8), 400)}", "not_work", decided=t(19, 9)),
        link("slack_thread", f"C0ENG00001:{slack_ts(t(1, 9), 500)}", "new_work", decided=t(1, 10)),
    ]


def slack_rows() -> dict[str, list[dict]]:
    def message(channel, moment, n, user, text, replies=0):
        ts = slack_ts(moment, n)
        return {"workspace_id": WS, "channel_id": channel, "ts": ts, "thread_ts": ts if replies else None,
                "user_id": user, "text": text, "posted_at": moment, "is_deleted": False, "reply_count": replies}

    return {
        "core.slack_channels": [{"workspace_id": WS, "channel_id": "C0ENG00001", "name": "eng"},
                                {"workspace_id": WS, "channel_id": "C0GEN00001", "name": "general"}],
        "core.slack_users": [{"workspace_id": WS, "user_id": "US1", "name": "sam", "real_name": "Sam Rivera",
                              "display_name": "sam"},
                             {"workspace_id": WS, "user_id": "US2", "name": "kim", "real_name": "Kim Lee",
                              "display_name": ""}],
        "core.slack_messages": [
            message("C0ENG00001", t(19, 14), 100, "US1", "the limiter is dropping requests again", 3),
            message("C0ENG00001", t(20, 9.5), 200, "US1",
                    "<!channel> customers say the CSV export times out &gt; 30s &amp; retries fail, "
                    "@here can <@US2> look? *urgent* [see](http://x) <https://status.example.com|status>", 4),
            message("C0GEN00001", t(18, 12), 300, "US2", "We should put SSO on the status page too", 2),
            message("C0GEN00001", t(19, 8), 400, "US2", "good morning all"),
        ],
    }


def agent_events() -> list[dict]:
    def event(event_id, at, agent, kind, ticket, payload):
        return {"workspace_id": WS, "event_id": event_id, "occurred_at": at, "agent": agent, "kind": kind,
                "ticket_id": ticket, "payload": json.dumps(payload)}

    return [
        event("e1", t(20, 11), "triage-bot", "escalation", "ENG-105",
              {"pmflow.question": "The upgrade needs a maintenance window: approve Saturday 02:00 UTC?"}),
        event("e2", t(19, 10), "release-bot", "escalation", "ENG-104", {"reason": "Deploy freeze?"}),
        event("e3", t(19, 12), "release-bot", "decision", "ENG-104", {"decision": "go"}),
        event("e4", t(20, 8), "cost-guard", "escalation", None,
              {"attributes": {"pmflow.reason": "The month's forecast passes the soft limit: pause the nightly embeddings?"}}),
    ]


MART_TABLES = {
    "marts.ticket_journeys": "workspace_id VARCHAR, ticket_id VARCHAR, current_stage VARCHAR, "
                             "current_stage_entered_at TIMESTAMPTZ, hours_in_current_stage DOUBLE, at_risk BOOLEAN, "
                             "completion_probability DOUBLE, stage_p80_hours DOUBLE, as_of TIMESTAMPTZ",
    "marts.ticket_stage_intervals": "workspace_id VARCHAR, ticket_id VARCHAR, team_key VARCHAR, stage VARCHAR, "
                                    "stage_order INTEGER, entered_at TIMESTAMPTZ",
    "marts.cycle_time_weekly": "workspace_id VARCHAR, team_key VARCHAR, week_start DATE, tickets_delivered BIGINT, "
                               "cycle_p50_hours DOUBLE, cycle_p85_hours DOUBLE",
    "marts.cost_daily": "workspace_id VARCHAR, day DATE, source VARCHAR, provider VARCHAR, model VARCHAR, "
                        "project VARCHAR, calls BIGINT, cost_usd DOUBLE, in_spend BOOLEAN",
    "marts.budget_status": "workspace_id VARCHAR, budget VARCHAR, period VARCHAR, spent_usd DOUBLE, "
                           "forecast_usd DOUBLE, limit_usd DOUBLE, status VARCHAR",
    "core.linear_issue_relations": "workspace_id VARCHAR, issue_id VARCHAR, related_issue_id VARCHAR, type VARCHAR",
}


def journeys() -> list[dict]:
    def j(identifier, stage, entered, *, at_risk=False, probability=None, p80=None):
        return {"workspace_id": WS, "ticket_id": f"id-{identifier.lower()}", "current_stage": stage,
                "current_stage_entered_at": entered, "hours_in_current_stage": (NOW - entered).total_seconds() / 3600,
                "at_risk": at_risk, "completion_probability": probability, "stage_p80_hours": p80, "as_of": NOW}

    return [
        j("ENG-103", "Execution", t(16, 9), at_risk=True, probability=0.35, p80=48.0),
        j("ENG-104", "Validation", t(19, 15), probability=0.8, p80=30.0),
        j("ENG-105", "Execution", t(17, 10), probability=0.6, p80=48.0),
        j("ENG-101", "Delivery", t(19, 14), probability=1.0),
        j("ENG-102", "Delivery", t(20, 10), probability=1.0),
    ]


def stage_intervals() -> list[dict]:
    entries = [  # (ticket, stage, order, entered): this week (from Mon 16 Nov, Paris) and last week
        ("ENG-103", "Execution", 3, t(16, 9)), ("ENG-105", "Execution", 3, t(17, 10)),
        ("ENG-104", "Execution", 3, t(12, 9)), ("ENG-104", "Validation", 4, t(19, 15)),
        ("ENG-101", "Execution", 3, t(10, 9)), ("ENG-101", "Validation", 4, t(12, 9)),
        ("ENG-101", "Delivery", 5, t(19, 14)), ("ENG-102", "Delivery", 5, t(20, 10)),
        ("ENG-102", "Validation", 4, t(11, 12)), ("ENG-100", "Delivery", 5, t(18, 11)),
        ("ENG-107", "Planning", 2, t(15, 9)), ("ENG-108", "Planning", 2, t(15, 10)),
        ("ENG-106", "Planning", 2, t(10, 9)),
    ]
    return [{"workspace_id": WS, "ticket_id": f"id-{i.lower()}", "team_key": "ENG", "stage": s, "stage_order": o,
             "entered_at": at} for i, s, o, at in entries]


def cycle_time_weekly() -> list[dict]:
    weeks = [(date(2026, 10, 12), 3, 70.0, 120.0), (date(2026, 10, 19), 5, 55.5, 96.0),
             (date(2026, 10, 26), 2, 80.0, 90.0), (date(2026, 11, 9), 4, 49.0, 72.0),
             (date(2026, 11, 16), 3, 60.5, 100.0), (date(2026, 10, 5), 9, 10.0, 20.0)]
    return [{"workspace_id": WS, "team_key": "ENG", "week_start": w, "tickets_delivered": n,
             "cycle_p50_hours": p50, "cycle_p85_hours": p85} for w, n, p50, p85 in weeks]


def cost_daily() -> list[dict]:
    rows = []
    for offset in range(1, 20):
        day = date(2026, 11, 20) - timedelta(days=offset)
        rows.append({"workspace_id": WS, "day": day, "source": "openai_usage", "provider": "openai",
                     "model": "gpt-4o-mini", "project": "matching", "calls": 100 + offset, "cost_usd": 2.0 + offset / 10,
                     "in_spend": True})
        rows.append({"workspace_id": WS, "day": day, "source": "agent_trace", "provider": "openai",
                     "model": "gpt-4o-mini", "project": "matching", "calls": 7, "cost_usd": 9.99, "in_spend": False})
    rows.append({"workspace_id": WS, "day": date(2026, 11, 19), "source": "agent_trace", "provider": "anthropic",
                 "model": "claude-sonnet-4", "project": "triage", "calls": 12, "cost_usd": 1.1, "in_spend": True})
    rows.append({"workspace_id": WS, "day": date(2026, 11, 17), "source": "agent_trace", "provider": "anthropic",
                 "model": "claude-sonnet-4", "project": "triage", "calls": 3, "cost_usd": 0.4, "in_spend": True})
    return rows


def budgets() -> list[dict]:
    return [{"workspace_id": WS, "budget": "all-models", "period": "2026-11", "spent_usd": 61.4,
             "forecast_usd": 88.0, "limit_usd": 80.0, "status": "soft_forecast"},
            {"workspace_id": WS, "budget": "all-models", "period": "2026-10", "spent_usd": 70.0,
             "forecast_usd": 70.0, "limit_usd": 80.0, "status": "ok"}]


def insert(con, table: str, rows: list[dict]) -> None:
    rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]
    con.register("_fixture_rows", pa.Table.from_pylist(rows))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _fixture_rows")
    finally:
        con.unregister("_fixture_rows")


def build_fixture(wh: Warehouse) -> None:
    """The whole story above in a fresh warehouse."""
    issues = fixture_issues()
    with wh.connect() as con:
        for table, columns in MART_TABLES.items():
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        insert(con, "core.linear_teams", [
            {"workspace_id": WS, "team_id": "team-eng", "key": "ENG", "name": "Engineering", "timezone": "Europe/Paris"},
            {"workspace_id": WS, "team_id": "team-web", "key": "WEB", "name": "Web", "timezone": "America/New_York"}])
        insert(con, "core.linear_users", [{"workspace_id": WS, "user_id": u, "name": n, "display_name": n.split()[0].lower()}
                                          for u, n in USERS])
        insert(con, "core.linear_labels", [{"workspace_id": WS, "label_id": "label-blocked", "name": "Blocked"}])
        insert(con, "core.linear_issues", issues)
        insert(con, "core.linear_issue_history", history_rows(issues))
        insert(con, "core.linear_issue_relations", [
            {"workspace_id": WS, "issue_id": "id-eng-107", "related_issue_id": "id-eng-105", "type": "blocks"},
            {"workspace_id": WS, "issue_id": "id-eng-101", "related_issue_id": "id-eng-104", "type": "blocks"}])
        insert(con, "core.github_pull_requests", pull_requests())
        insert(con, "core.github_reviews", [
            {"workspace_id": WS, "repo": "acme/api", "pr_number": 44, "review_id": 1, "author": "linus-t",
             "state": "COMMENTED", "submitted_at": t(20, 9)},
            {"workspace_id": WS, "repo": "acme/api", "pr_number": 43, "review_id": 2, "author": "ada-l",
             "state": "COMMENTED", "submitted_at": t(19, 9)}])
        insert(con, "marts.ticket_links", ticket_links())
        for table, rows in slack_rows().items():
            insert(con, table, rows)
        insert(con, "core.agent_events", agent_events())
        insert(con, "marts.ticket_journeys", journeys())
        insert(con, "marts.ticket_stage_intervals", stage_intervals())
        insert(con, "marts.cycle_time_weekly", cycle_time_weekly())
        insert(con, "marts.cost_daily", cost_daily())
        insert(con, "marts.budget_status", budgets())


@pytest.fixture(scope="module")
def fixture_wh(tmp_path_factory) -> Warehouse:
    wh = Warehouse(tmp_path_factory.mktemp("standup") / "warehouse.duckdb")
    build_fixture(wh)
    return wh


def settings(**overrides) -> StandupSettings:
    """The defaults, whatever PMFLOW_STANDUP_* the environment running the tests holds."""
    values = dict(summary=False)
    values.update(overrides)
    return StandupSettings.model_construct(**values)


def report(wh: Warehouse, kind: str, team: Team, as_of: datetime, **overrides):
    s = settings(**overrides)
    build = build_daily if kind == "daily" else build_weekly
    with wh.read(sandboxed=False) as con:
        return build(ReportData(con), WS, team, as_of, business_calendar(s), s)


# -- snapshot comparison -------------------------------------------------------------------------


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("PMFLOW_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.environ.get("PMFLOW_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"{path} did not exist: written now, review it and run again")
        return
    assert text == path.read_text(), (
        f"{name} differs from the reviewed snapshot; if the change is intended, regenerate with "
        "PMFLOW_UPDATE_SNAPSHOTS=1 and review the diff")


def check_blocks(blocks: list[dict]) -> None:
    """Slack's limits: 50 blocks, 3000 characters per section text, 150 per header."""
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_CHARS
        if block["type"] == "context":
            assert len(block["elements"]) <= 10


def blocks_json(blocks: list[dict]) -> str:
    return json.dumps(blocks, indent=1, ensure_ascii=False) + "\n"


# -- the tests -----------------------------------------------------------------------------------


def test_daily_standup_matches_the_snapshot(fixture_wh):
    daily = report(fixture_wh, "daily", ENG, NOW)
    blocks = to_blocks(daily)
    check_blocks(blocks)
    check_snapshot("daily_eng.md", to_markdown(daily))
    check_snapshot("daily_eng.blocks.json", blocks_json(blocks))


def test_weekly_digest_matches_the_snapshot(fixture_wh):
    weekly = report(fixture_wh, "weekly", ENG, t(20, 15))  # Friday 16:00 in Paris
    blocks = to_blocks(weekly)
    check_blocks(blocks)
    check_snapshot("weekly_eng.md", to_markdown(weekly))
    check_snapshot("weekly_eng.blocks.json", blocks_json(blocks))


def test_a_quiet_day_gives_a_short_nothing_moved_report(fixture_wh):
    monday = t(23, 14)  # Monday 09:00 in New York: nothing moved for WEB since Friday 09:00
    quiet = report(fixture_wh, "daily", WEB, monday)
    assert quiet.quiet
    assert quiet.headline.startswith("Nothing moved since Fri 20 Nov 09:00")
    assert [s.key for s in quiet.sections] == ["focus", "blocked", "waiting", "spend"]
    check_snapshot("daily_web_quiet.md", to_markdown(quiet))
    check_blocks(to_blocks(quiet))


def test_a_long_section_is_cut_with_and_n_more(fixture_wh):
    daily = report(fixture_wh, "daily", ENG, NOW, max_items=2)
    up_next = daily.section("up_next")
    assert len(up_next.items) == 2 and up_next.more == 7
    assert "…and 7 more" in to_markdown(daily)
    text = next(b["text"]["text"] for b in to_blocks(daily) if b["type"] == "section" and "Up next" in b["text"]["text"])
    assert text.endswith("_…and 7 more_")


def test_no_report_text_can_ping_or_inject_markup(fixture_wh):
    daily = report(fixture_wh, "daily", ENG, NOW)
    posted = json.dumps(to_blocks(daily), ensure_ascii=False)
    for forbidden in ("<!channel>", "<!here>", "<!everyone>", "<@US2>", "@here", "@channel", "<b>", "<https://status"):
        assert forbidden not in posted
    markdown = to_markdown(daily)
    for forbidden in ("<b>", "@here", "@channel", "[see](http://x)"):
        assert forbidden not in markdown
    assert "\\<b\\>bursts\\</b\\>" in markdown  # shown, escaped
    assert "&lt;b&gt;bursts&lt;/b&gt; &amp; *retries*" in posted


def test_reports_of_the_same_warehouse_and_clock_are_identical(fixture_wh):
    first, second = report(fixture_wh, "daily", ENG, NOW), report(fixture_wh, "daily", ENG, NOW)
    assert to_markdown(first) == to_markdown(second) and to_blocks(first) == to_blocks(second)


def test_plan_skips_a_teams_weekend_and_holidays_in_its_own_time_zone(fixture_wh):
    from pmflow.reports.standup import plan

    late_friday = t(20, 23.5)  # Saturday 00:30 in Paris, Friday 18:30 in New York
    targets, skipped = plan(fixture_wh, "daily", late_friday, settings(), workspace_id=WS)
    assert [(x.team.key, x.report_date, x.artifact_key) for x in targets] == [("WEB", date(2026, 11, 20), "standup-web")]
    assert [(x.team, x.report_date, x.reason) for x in skipped] == [("ENG", date(2026, 11, 21), "not a business day")]
    forced, _ = plan(fixture_wh, "daily", late_friday, settings(), workspace_id=WS, force=True)
    assert [x.team.key for x in forced] == ["ENG", "WEB"]

    thanksgiving = t(26, 15)
    targets, skipped = plan(fixture_wh, "daily", thanksgiving, settings(holiday_country="US"), workspace_id=WS)
    assert targets == [] and {x.reason for x in skipped} == {"holiday (Thanksgiving Day)"}
    weekly, _ = plan(fixture_wh, "weekly", thanksgiving, settings(holiday_country="US"), workspace_id=WS)
    assert [(x.team.key, x.report_date, x.artifact_key) for x in weekly] == [
        ("ENG", date(2026, 11, 27), "digest-eng"), ("WEB", date(2026, 11, 27), "digest-web")]
