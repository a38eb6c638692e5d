"""AI cost tracking: every model call priced, attributed, budgeted and forecast.

What it does, in order: loads the OpenAI organization usage and billed costs (Usage and Costs APIs,
incremental by daily bucket, the open current day re-read) and the model calls in agent traces;
syncs the budget file; prices every call by its day from genai-prices and the override file;
rebuilds the cost marts (marts.cost_daily, cost_by_project / ticket / agent / flow,
cost_per_delivered_ticket, budget_status, cost_reconciliation, cost_unpriced_models); posts a Slack
alert once per budget threshold crossed; publishes artifacts (cost-daily, cost-unpriced-models,
cost-reconciliation, spend-vs-budget with a PNG chart next to the warehouse).

Schedule: nightly (prefect.yaml), after ingestion. Requires: OPENAI_ADMIN_KEY (+ OPENAI_BASE_URL)
for the organization usage and costs, PMFLOW_AGENT_TRACES for agent traces (each source is skipped
when unset); optional PMFLOW_PRICE_OVERRIDES, PMFLOW_BUDGETS, SLACK_BOT_TOKEN / SLACK_API_URL and an
alert channel for budget alerts; PMFLOW_WORKSPACE_ID names the workspace. See pmflow/cost_settings.py.
"""
from __future__ import annotations

from datetime import date

from prefect import flow

from pmflow.cost_settings import cost_settings
from tasks.alerts import ALERT_HOOKS
from tasks.costs import (
    as_of_day,
    build_cost_marts,
    load_agent_trace_usage,
    load_openai_costs,
    load_openai_usage,
    publish_cost_artifacts,
    reprice_usage,
    send_budget_alerts,
    sync_cost_config,
)


@flow(name="costs", **ALERT_HOOKS)
def costs(workspace_id: str | None = None, as_of: date | None = None, now: float | None = None) -> dict:
    """`as_of` (default today, UTC) is the day budgets are evaluated at; `now` (unix seconds) decides
    which usage buckets are complete (tests and backfills set both)."""
    workspace = workspace_id or cost_settings().workspace_id
    day = as_of_day(as_of)
    usage = load_openai_usage(workspace, now)
    billed = load_openai_costs(workspace, now)
    traces = load_agent_trace_usage(workspace)
    config = sync_cost_config(workspace, day)
    priced = reprice_usage()
    timings = build_cost_marts()
    alerts = send_budget_alerts()
    artifacts = publish_cost_artifacts(day)
    return {"openai_usage": usage, "openai_costs": billed, "agent_traces": traces, "budgets": config,
            "pricing": priced, "marts_s": timings, "alerts": alerts, "artifacts": artifacts}
