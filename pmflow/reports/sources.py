"""The warehouse tables the reports read, and the columns they need from each.

Reports must work with whatever subset of the pipeline has run: a mart not built yet, or a column a
later migration adds, must give an honest "no data yet" line, never an error. So the report queries
never read a table directly. On each connection, `ReportData` makes one temporary view per table
below (src_<schema>_<table>) that selects exactly these columns: from the table when it exists
(a missing column becomes its default), or an empty relation of the same shape when it does not;
the .sql files name tables as usual (core.linear_issues) and are rewritten to read the views.
"""
from __future__ import annotations

# table -> {column: (DuckDB type, default expression when the table lacks the column)}
Columns = dict[str, tuple[str, str]]


def _cols(spec: str, **defaults: str) -> Columns:
    columns = {}
    for part in spec.split(","):
        name, type_ = part.split()
        columns[name] = (type_, defaults.get(name, "NULL"))
    return columns


SOURCES: dict[str, Columns] = {
    "core.linear_teams": _cols("workspace_id VARCHAR, team_id VARCHAR, key VARCHAR, name VARCHAR, timezone VARCHAR"),
    "core.linear_users": _cols("workspace_id VARCHAR, user_id VARCHAR, name VARCHAR, display_name VARCHAR"),
    "core.linear_labels": _cols("workspace_id VARCHAR, label_id VARCHAR, name VARCHAR"),
    "core.linear_issues": _cols(
        "workspace_id VARCHAR, issue_id VARCHAR, identifier VARCHAR, title VARCHAR, state_name VARCHAR, "
        "state_type VARCHAR, team_id VARCHAR, team_key VARCHAR, assignee_id VARCHAR, priority INTEGER, "
        "label_ids VARCHAR[], url VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, "
        "started_at TIMESTAMPTZ, completed_at TIMESTAMPTZ, canceled_at TIMESTAMPTZ, archived_at TIMESTAMPTZ"),
    "core.linear_issue_history": _cols(
        "workspace_id VARCHAR, issue_id VARCHAR, from_state VARCHAR, to_state VARCHAR, changed_at TIMESTAMPTZ"),
    # Not in the public schema yet: Linear issue relations ("A blocks B"), read when ingested.
    "core.linear_issue_relations": _cols(
        "workspace_id VARCHAR, issue_id VARCHAR, related_issue_id VARCHAR, type VARCHAR"),
    "core.github_pull_requests": _cols(
        "workspace_id VARCHAR, repo VARCHAR, number INTEGER, title VARCHAR, state VARCHAR, author VARCHAR, "
        "head_ref VARCHAR, draft BOOLEAN, url VARCHAR, created_at TIMESTAMPTZ, merged_at TIMESTAMPTZ, "
        "closed_at TIMESTAMPTZ", draft="false"),
    "core.github_reviews": _cols(
        "workspace_id VARCHAR, repo VARCHAR, pr_number INTEGER, author VARCHAR, state VARCHAR, submitted_at TIMESTAMPTZ"),
    "core.github_pr_events": _cols(
        "workspace_id VARCHAR, repo VARCHAR, number INTEGER, event VARCHAR, created_at TIMESTAMPTZ"),
    "core.slack_channels": _cols("workspace_id VARCHAR, channel_id VARCHAR, name VARCHAR"),
    "core.slack_users": _cols(
        "workspace_id VARCHAR, user_id VARCHAR, name VARCHAR, real_name VARCHAR, display_name VARCHAR"),
    "core.slack_messages": _cols(
        "workspace_id VARCHAR, channel_id VARCHAR, ts VARCHAR, thread_ts VARCHAR, user_id VARCHAR, text VARCHAR, "
        "posted_at TIMESTAMPTZ, is_deleted BOOLEAN, reply_count INTEGER", is_deleted="false", reply_count="0"),
    "core.agent_events": _cols(
        "workspace_id VARCHAR, event_id VARCHAR, occurred_at TIMESTAMPTZ, agent VARCHAR, kind VARCHAR, "
        "ticket_id VARCHAR, trace_id VARCHAR, outcome VARCHAR, payload JSON"),
    "marts.ticket_links": _cols(
        "workspace_id VARCHAR, source_kind VARCHAR, source_id VARCHAR, ticket_id VARCHAR, decision VARCHAR, "
        "score DOUBLE, decided_at TIMESTAMPTZ, preview VARCHAR, source_at TIMESTAMPTZ"),
    "marts.ticket_journeys": _cols(
        "workspace_id VARCHAR, ticket_id VARCHAR, current_stage VARCHAR, current_stage_entered_at TIMESTAMPTZ, "
        "hours_in_current_stage DOUBLE, at_risk BOOLEAN, completion_probability DOUBLE, stage_p80_hours DOUBLE, "
        "as_of TIMESTAMPTZ", at_risk="false"),
    "marts.ticket_stage_intervals": _cols(
        "workspace_id VARCHAR, ticket_id VARCHAR, team_key VARCHAR, stage VARCHAR, stage_order INTEGER, "
        "entered_at TIMESTAMPTZ"),
    "marts.cycle_time_weekly": _cols(
        "workspace_id VARCHAR, team_key VARCHAR, week_start DATE, tickets_delivered BIGINT, "
        "cycle_p50_hours DOUBLE, cycle_p85_hours DOUBLE"),
    "marts.cost_daily": _cols(
        "workspace_id VARCHAR, day DATE, provider VARCHAR, model VARCHAR, project VARCHAR, calls BIGINT, "
        "cost_usd DOUBLE, in_spend BOOLEAN", in_spend="true"),
    "marts.budget_status": _cols(
        "workspace_id VARCHAR, budget VARCHAR, period VARCHAR, spent_usd DOUBLE, forecast_usd DOUBLE, "
        "limit_usd DOUBLE, status VARCHAR"),
}

# What a report says when a source has no rows for the workspace (missing table included).
MISSING = {
    "core.linear_issues": "no Linear data yet",
    "core.github_pull_requests": "no GitHub data yet",
    "core.slack_messages": "no Slack data yet",
    "core.agent_events": "no agent events yet",
    "marts.ticket_links": "no ticket matching yet",
    "marts.ticket_journeys": "no journey data yet",
    "marts.ticket_stage_intervals": "no journey data yet",
    "marts.cycle_time_weekly": "no cycle-time data yet",
    "marts.cost_daily": "no cost data yet",
    "marts.budget_status": "no budgets configured",
}


def view_name(table: str) -> str:
    schema, name = table.split(".")
    return f"src_{schema}_{name}"
