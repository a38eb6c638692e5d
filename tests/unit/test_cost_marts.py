"""The cost marts: daily totals without double counting, attribution to ticket / agent / flow, cost
per delivered ticket, workspaces kept apart, and reconciliation flagging drift above the threshold."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from pmflow.costs.budgets import BudgetConfig, sync_budget_config
from pmflow.costs.marts import rebuild_cost_marts
from pmflow.costs.pricing import PriceBook, parse_override
from pmflow.costs.reprice import reprice
from warehouse import Warehouse
from warehouse.warehouse import merge

BOOK = PriceBook([parse_override({"model": "m-*", "effective_from": "2020-01-01", "input_per_mtok": 1.0})])
DAY = date(2026, 11, 10)


@pytest.fixture
def wh(tmp_path):
    return Warehouse(tmp_path / "w.duckdb")


def call(usage_id, usd, *, source="agent_trace", workspace="T1", provider="openai", model="m-1", project="p1",
         ticket=None, agent=None, flow=None, run=None, day=DAY, requests=1):
    return {"workspace_id": workspace, "usage_id": usage_id, "source": source, "provider": provider, "model": model,
            "occurred_at": datetime.combine(day, time(8), tzinfo=UTC), "project": project, "ticket_id": ticket,
            "agent": agent, "flow_name": flow, "flow_run_id": run, "input_tokens": round(usd * 1e6),
            "output_tokens": 0, "cached_tokens": 0, "requests": requests}


def build(wh, usage, *, issues=(), billed=(), drift_threshold=0.05, as_of=date(2026, 11, 30)):
    with wh.connect() as con:
        merge(con, "core.llm_usage", list(usage))
        if issues:
            merge(con, "core.linear_issues", list(issues))
        if billed:
            merge(con, "core.openai_costs", list(billed))
    sync_budget_config(wh, BudgetConfig(), as_of=as_of, drift_threshold=drift_threshold)
    with wh.connect() as con:
        reprice(con, BOOK)
        rebuild_cost_marts(con)


def issue(issue_id, identifier, completed, workspace="T1"):
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    return {"workspace_id": workspace, "issue_id": issue_id, "identifier": identifier, "title": identifier,
            "team_key": identifier.split("-")[0], "created_at": moment, "updated_at": moment,
            "completed_at": datetime(2026, 11, 20, tzinfo=UTC) if completed else None}


def billed(day, project, usd, line_item="m-1, input", workspace="T1"):
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return {"workspace_id": workspace, "cost_id": f"{day}:{project}:{line_item}", "usage_day": day,
            "bucket_start": start, "bucket_end": start, "project_id": project, "line_item": line_item,
            "amount": usd, "currency": "usd"}


def test_daily_spend_counts_organization_usage_once(wh):
    build(wh, [
        call("org", 10.0, source="openai_usage", requests=40),
        call("trace-openai", 2.0, ticket="ENG-1", agent="bot"),                   # inside the org usage
        call("trace-claude", 3.0, provider="anthropic", ticket="ENG-1", agent="bot"),  # not in it
        call("trace-next-day", 1.0, day=date(2026, 11, 11), ticket="ENG-2", agent="bot"),  # no org usage that day
    ])
    daily = wh.query("SELECT day, source, provider, in_spend, calls, cost_usd FROM marts.cost_daily ORDER BY ALL")
    assert daily == [
        (DAY, "agent_trace", "anthropic", True, 1, pytest.approx(3.0)),
        (DAY, "agent_trace", "openai", False, 1, pytest.approx(2.0)),
        (DAY, "openai_usage", "openai", True, 40, pytest.approx(10.0)),
        (date(2026, 11, 11), "agent_trace", "openai", True, 1, pytest.approx(1.0)),
    ]
    assert wh.query("SELECT sum(cost_usd) FROM marts.cost_daily WHERE in_spend")[0][0] == pytest.approx(14.0)
    projects = wh.query("SELECT spend_usd, attributed_usd FROM marts.cost_by_project")
    assert projects == [(pytest.approx(14.0), pytest.approx(6.0))]


def test_attribution_to_ticket_agent_and_flow(wh):
    build(wh, [
        call("a", 1.0, ticket="ENG-1", agent="triage"),
        call("b", 2.0, ticket="ENG-1", agent="review"),
        call("c", 4.0, ticket="ENG-2", agent="triage"),
        call("d", 0.5, source="pipeline", ticket="ENG-2", agent="matcher", flow="match", run="run-1"),
        call("e", 0.25, source="pipeline", flow="standup", run="run-2"),
        call("f", 9.0, model="mystery", ticket="ENG-2", agent="triage", provider="vllm"),
    ])
    tickets = {r[0]: r[1:] for r in wh.query("SELECT ticket_id, calls, cost_usd, unpriced_calls FROM marts.cost_by_ticket")}
    assert tickets == {"ENG-1": (2, pytest.approx(3.0), 0), "ENG-2": (3, pytest.approx(4.5), 1)}
    agents = dict(wh.query("SELECT agent, cost_usd FROM marts.cost_by_agent"))
    assert agents == {"triage": pytest.approx(5.0), "review": pytest.approx(2.0), "matcher": pytest.approx(0.5)}
    flows = wh.query("SELECT flow_name, flow_run_id, cost_usd FROM marts.cost_by_flow ORDER BY 1")
    assert flows == [("match", "run-1", pytest.approx(0.5)), ("standup", "run-2", pytest.approx(0.25))]
    assert wh.query("SELECT model, unpriced_calls FROM marts.cost_unpriced_models") == [("mystery", 1)]


def test_cost_per_delivered_ticket_joins_identifier_or_issue_id(wh):
    build(wh, [
        call("a", 1.0, ticket="ENG-1"),
        call("b", 2.0, ticket="uuid-1"),             # the same ticket by its issue id
        call("c", 5.0, ticket="ENG-2"),              # not delivered
        call("d", 7.0, ticket="ENG-1", workspace="T2"),  # another workspace's ENG-1
    ], issues=[issue("uuid-1", "ENG-1", True), issue("uuid-2", "ENG-2", False), issue("uuid-3", "ENG-3", True),
               issue("uuid-9", "ENG-1", True, workspace="T2")])
    rows = wh.query("SELECT workspace_id, identifier, calls, cost_usd FROM marts.cost_per_delivered_ticket ORDER BY ALL")
    assert rows == [("T1", "ENG-1", 2, pytest.approx(3.0)), ("T1", "ENG-3", 0, 0.0), ("T2", "ENG-1", 1, pytest.approx(7.0))]


def test_reconciliation_flags_drift_above_the_threshold_only(wh):
    usage = [call(f"u{p}", usd, source="openai_usage", project=p) for p, usd in
             (("ok", 10.0), ("small", 10.0), ("big", 10.0), ("unbilled", 3.0))]
    usage.append(call("open", 1.0, source="openai_usage", project="ok", day=date(2026, 11, 30)))
    build(wh, usage, billed=[billed(DAY, "ok", 10.0), billed(DAY, "small", 10.3), billed(DAY, "big", 11.2),
                              billed(DAY, "images", 4.0, line_item="dall-e-3"),
                              billed(date(2026, 11, 30), "ok", 0.5)], as_of=date(2026, 11, 30))
    rows = {r[0]: r[1:] for r in wh.query(
        "SELECT coalesce(project, '-') || '@' || day, status, flagged, drift_usd FROM marts.cost_reconciliation")}
    assert rows[f"ok@{DAY}"][:2] == ("ok", False)
    assert rows[f"small@{DAY}"][:2] == ("ok", False)                  # -2.9%: under 5%
    assert rows[f"big@{DAY}"] == ("drift", True, pytest.approx(-1.2))  # -10.7%
    assert rows[f"unbilled@{DAY}"][:2] == ("missing_billed", True)
    assert rows[f"images@{DAY}"][:2] == ("missing_usage", True)
    assert rows["ok@2026-11-30"][:2] == ("open_day", False)


def test_the_drift_threshold_is_configurable(wh):
    build(wh, [call("u", 10.0, source="openai_usage", project="small")], billed=[billed(DAY, "small", 10.3)],
          drift_threshold=0.01)
    assert wh.query("SELECT status FROM marts.cost_reconciliation") == [("drift",)]
