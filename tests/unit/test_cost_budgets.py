"""Budgets: the end-of-month forecast on a series computed by hand, statuses, patterns, and the
Slack alert sent exactly once per threshold and period."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from slack_sdk.errors import SlackApiError

from pmflow.costs import budgets
from pmflow.costs.budgets import BudgetConfigError, glob_to_like, parse_budgets, send_budget_alerts, sync_budget_config
from pmflow.costs.marts import rebuild_cost_marts
from pmflow.costs.pricing import PriceBook, parse_override
from pmflow.costs.reprice import reprice
from warehouse import Warehouse
from warehouse.warehouse import merge

WS = "T-BUDGET"
# A model priced by override at $1 per million input tokens: a call's cost in USD is input_tokens / 1e6.
BOOK = PriceBook([parse_override({"model": "hand-*", "effective_from": "2020-01-01", "input_per_mtok": 1.0})])


@pytest.fixture
def wh(tmp_path):
    return Warehouse(tmp_path / "w.duckdb")


def spend(wh, day: date, usd: float, *, project="proj_a", model="hand-model", workspace=WS, n=[0]):
    n[0] += 1
    with wh.connect() as con:
        merge(con, "core.llm_usage", [{
            "workspace_id": workspace, "usage_id": f"u{n[0]}", "occurred_at": datetime.combine(day, time(9), tzinfo=UTC),
            "source": "pipeline", "provider": "openai", "model": model, "project": project,
            "input_tokens": round(usd * 1e6), "output_tokens": 0, "cached_tokens": 0, "requests": 1}])


def build(wh, config: dict, as_of: date, workspace=WS):
    sync_budget_config(wh, parse_budgets(config, default_workspace=workspace), as_of=as_of, drift_threshold=0.05)
    with wh.connect() as con:
        reprice(con, BOOK)
        rebuild_cost_marts(con)
    rows = wh.frame("SELECT * FROM marts.budget_status ORDER BY budget, period")
    return {(r["budget"], r["period"]): r for r in rows.to_dict("records")}


def test_forecast_on_a_series_computed_by_hand(wh):
    # November 2026, evaluated as of the 20th.
    for d in range(1, 13):
        spend(wh, date(2026, 11, d), 2.0)                        # 1st-12th: $2 a day = $24
    for d, usd in zip(range(13, 20), (3, 1, 4, 0, 5, 9, 2)):      # 13th-19th: $24, the 16th without spend
        if usd:
            spend(wh, date(2026, 11, d), usd)
    spend(wh, date(2026, 11, 20), 6.0)                           # today, partial: $6
    spend(wh, date(2026, 11, 21), 50.0)                          # after as_of: not counted
    spend(wh, date(2026, 10, 31), 7.0)                           # October
    status = build(wh, {"budgets": [{"name": "team", "monthly_limit_usd": 100}]}, as_of=date(2026, 11, 20))
    nov = status[("team", "2026-11")]
    # spent = 24 + 24 + 6 = 54; daily rate = (3+1+4+0+5+9+2) / 7 = 24/7 over the 13th-19th;
    # days left after the 20th = 10; forecast = 54 + 10 * 24/7 = 88.2857...
    assert nov["spent_usd"] == pytest.approx(54.0)
    assert nov["daily_rate_usd"] == pytest.approx(24 / 7, abs=1e-6)
    assert nov["days_left"] == 10
    assert nov["forecast_usd"] == pytest.approx(54 + 240 / 7, abs=1e-5)
    assert (nov["soft_crossed_by"], nov["hard_crossed_by"], nov["status"]) == ("forecast", None, "soft_forecast")
    october = status[("team", "2026-10")]
    assert october["spent_usd"] == pytest.approx(7.0) and october["forecast_usd"] == pytest.approx(7.0)
    assert october["days_left"] == 0 and october["status"] == "ok"


def test_the_seven_day_rate_reaches_into_the_previous_month(wh):
    for d in range(25, 31):
        spend(wh, date(2026, 9, d), 7.0)                         # 6 days of September at $7
    spend(wh, date(2026, 10, 1), 1.0)
    spend(wh, date(2026, 10, 2), 2.0)
    status = build(wh, {"budgets": [{"name": "b", "monthly_limit_usd": 1000}]}, as_of=date(2026, 10, 2))
    october = status[("b", "2026-10")]
    # rate over Sep 25 - Oct 1 = (6 * 7 + 1) / 7; spent = 3; days left = 29
    assert october["forecast_usd"] == pytest.approx(3 + 29 * 43 / 7, abs=1e-5)


def test_status_thresholds_and_scoped_budgets(wh):
    spend(wh, date(2026, 11, 5), 85.0, project="proj_eng")
    spend(wh, date(2026, 11, 5), 30.0, project="projXeng")
    spend(wh, date(2026, 11, 6), 12.0, project="proj_eng", model="hand-large")
    config = {"thresholds": {"soft": 0.8, "hard": 1.0}, "budgets": [
        {"name": "all", "monthly_limit_usd": 100},
        {"name": "eng", "project": "proj_eng", "monthly_limit_usd": 100},
        {"name": "large", "model": "hand-l*", "monthly_limit_usd": 100, "soft": 0.1},
        {"name": "roomy", "monthly_limit_usd": 1000},
    ]}
    status = build(wh, config, as_of=date(2026, 11, 30))
    assert status[("all", "2026-11")]["spent_usd"] == pytest.approx(127.0)
    assert status[("all", "2026-11")]["status"] == "hard_exceeded"
    assert status[("eng", "2026-11")]["spent_usd"] == pytest.approx(97.0)  # '_' is literal, not a wildcard
    assert status[("eng", "2026-11")]["status"] == "soft_exceeded"
    assert status[("large", "2026-11")]["spent_usd"] == pytest.approx(12.0)
    assert status[("large", "2026-11")]["status"] == "soft_exceeded"
    assert status[("roomy", "2026-11")]["status"] == "ok"


def test_workspaces_never_mix(wh):
    spend(wh, date(2026, 11, 5), 90.0, workspace="T-OTHER")
    spend(wh, date(2026, 11, 5), 10.0)
    config = {"budgets": [{"name": "total", "monthly_limit_usd": 100},
                          {"name": "total", "monthly_limit_usd": 100, "workspace_id": "T-OTHER"}]}
    sync_budget_config(wh, parse_budgets(config, default_workspace=WS), as_of=date(2026, 11, 30), drift_threshold=0.05)
    with wh.connect() as con:
        reprice(con, BOOK)
        rebuild_cost_marts(con)
    rows = dict(wh.query("SELECT workspace_id, spent_usd FROM marts.budget_status"))
    assert rows == {WS: pytest.approx(10.0), "T-OTHER": pytest.approx(90.0)}


class FakeSlack:
    """Counts chat.postMessage calls the way slack_sdk.WebClient is called."""

    def __init__(self, fail_with: str | None = None):
        self.posts: list[dict] = []
        self.fail_with = fail_with

    def chat_postMessage(self, **kwargs):
        if self.fail_with:
            raise SlackApiError("error", {"ok": False, "error": self.fail_with})
        self.posts.append(kwargs)
        return {"ok": True, "ts": f"1700000000.{len(self.posts):06d}"}


def test_an_alert_is_sent_exactly_once_per_threshold_and_period(wh):
    config = {"alerts": {"channel": "#ai-costs"}, "budgets": [{"name": "team", "monthly_limit_usd": 100}]}
    slack = FakeSlack()
    for d in range(1, 10):
        spend(wh, date(2026, 11, d), 3.0)  # $27 by the 9th; rate $3/day x 21 days left -> forecast $90
    build(wh, config, as_of=date(2026, 11, 9))
    first = send_budget_alerts(wh, slack, run_id="r1")
    assert [(a["threshold"], a["trigger"]) for a in first["sent"]] == [("soft", "forecast")]
    assert send_budget_alerts(wh, slack, run_id="r2")["sent"] == []  # a retry posts nothing
    build(wh, config, as_of=date(2026, 11, 9))
    assert send_budget_alerts(wh, slack, run_id="r3")["sent"] == []  # neither does a re-run
    for d in range(10, 15):
        spend(wh, date(2026, 11, d), 16.0)  # $107 by the 14th: soft and hard crossed by actual spend
    build(wh, config, as_of=date(2026, 11, 14))
    third = send_budget_alerts(wh, slack, run_id="r4")
    assert [(a["threshold"], a["trigger"]) for a in third["sent"]] == [("hard", "actual")]
    spend(wh, date(2026, 12, 1), 101.0)  # a new period: both thresholds again
    build(wh, config, as_of=date(2026, 12, 1))
    december = send_budget_alerts(wh, slack, run_id="r5")
    assert sorted(a["threshold"] for a in december["sent"]) == ["hard", "soft"]
    assert len(slack.posts) == 4 and {p["channel"] for p in slack.posts} == {"#ai-costs"}
    assert "team" in slack.posts[0]["text"] and "forecast" in slack.posts[0]["text"]
    ledger = wh.query("SELECT period, threshold, status, trigger FROM ops.cost_alerts ORDER BY claimed_at")
    assert ledger == [("2026-11", "soft", "sent", "forecast"), ("2026-11", "hard", "sent", "actual"),
                      ("2026-12", "soft", "sent", "actual"), ("2026-12", "hard", "sent", "actual")]


def spend_soft_actual_hard_forecast(wh):
    """$0.50 a day Oct 27 - Nov 2, $7.50 on Nov 3: spent $8.50 of $10 (soft, 80%, crossed), forecast
    8.5 + 0.5 x 27 = $22 (hard crossed by the forecast only)."""
    for i in range(7):
        spend(wh, date(2026, 10, 27) + timedelta(days=i), 0.5)
    spend(wh, date(2026, 11, 3), 7.5)


def test_a_refused_post_is_tried_again_and_an_unknown_outcome_never_twice(wh):
    config = {"alerts": {"channel": "#ai-costs"}, "budgets": [{"name": "team", "monthly_limit_usd": 10}]}
    spend_soft_actual_hard_forecast(wh)
    build(wh, config, as_of=date(2026, 11, 3))
    with pytest.raises(RuntimeError, match="channel_not_found"):
        send_budget_alerts(wh, FakeSlack(fail_with="channel_not_found"))
    assert wh.query("SELECT count(*) FROM ops.cost_alerts")[0][0] == 0
    slack = FakeSlack()
    assert len(send_budget_alerts(wh, slack)["sent"]) == 2  # soft by actual, hard by forecast
    # A crash between claim and answer leaves 'sending': reported, never re-posted.
    wh.run_sql("UPDATE ops.cost_alerts SET status = 'sending' WHERE threshold = 'hard'")
    report = send_budget_alerts(wh, slack)
    assert report["sent"] == [] and report["unknown"][0]["threshold"] == "hard" and len(slack.posts) == 2


def test_without_a_channel_or_client_alerts_wait(wh):
    spend_soft_actual_hard_forecast(wh)
    build(wh, {"budgets": [{"name": "team", "monthly_limit_usd": 10}]}, as_of=date(2026, 11, 3))
    assert len(send_budget_alerts(wh, FakeSlack())["skipped"]) == 2
    assert len(send_budget_alerts(wh, None)["skipped"]) == 2
    assert wh.query("SELECT count(*) FROM ops.cost_alerts")[0][0] == 0
    assert len(send_budget_alerts(wh, FakeSlack(), default_channel="#fallback")["sent"]) == 2


@pytest.mark.parametrize("document, message", [
    ({"budgets": [{"monthly_limit_usd": 5}]}, "'name' is required"),
    ({"budgets": [{"name": "a", "monthly_limit_usd": -5}]}, "must be positive"),
    ({"budgets": [{"name": "a", "monthly_limit_usd": 5, "soft": 0.9, "hard": 0.5}]}, "above hard"),
    ({"budgets": [{"name": "a", "monthly_limit_usd": 5}, {"name": "a", "monthly_limit_usd": 6}]}, "appears twice"),
    ({"budgets": [{"name": "a", "monthly_limit_usd": 5, "limit": 3}]}, "unknown fields"),
])
def test_a_malformed_budget_file_names_the_problem(document, message):
    with pytest.raises(BudgetConfigError, match=message):
        parse_budgets(document, default_workspace=WS)


def test_globs_become_escaped_like_patterns():
    assert glob_to_like("proj_eng*") == "proj\\_eng%"
    assert glob_to_like("a?%") == "a_\\%"
    assert budgets.load_budgets(None, default_workspace=WS).budgets == ()
