"""Ticket matching: link every Slack thread, standalone message, GitHub PR and issue to its Linear
ticket, or flag it as new work (untracked) or not work.

What it does, per workspace: builds the unit views (staging.match_units, match_ticket_docs);
decides only the units that are new or whose text changed (explicit references, then local
retrieval fused with OpenAI embeddings when configured, then calibrated thresholds, with an LLM
adjudicating at most 15% of units in the ambiguous band); writes marts.ticket_links; then
write-back when enabled (PMFLOW_MATCH_WRITEBACK: off by default, dry_run, on); publishes the
artifacts "ticket-links-today" (the day's decisions) and "untracked-work".

Schedule: after ingestion: the pipeline flow calls it once the ingest flows are done, and its
deployment (prefect.yaml) runs at 15 minutes past every hour, after the hourly ingestion. Requires: Slack and Linear ingested (core.slack_*,
core.linear_issues; GitHub optional). Optional: OPENAI_API_KEY (+ OPENAI_BASE_URL) for embeddings
and adjudication, LINEAR_API_KEY for write-back. Settings: pmflow/matching_settings.py
(PMFLOW_MATCH_*).
"""
from __future__ import annotations

from prefect import flow

from tasks.matching import list_match_workspaces, match_workspace_units, publish_match_artifacts, write_back_decisions

try:  # failure alerts to Slack, where the shared hooks exist
    from tasks.alerts import ALERT_HOOKS
except ImportError:  # pragma: no cover
    ALERT_HOOKS = {}


@flow(name="match-tickets", **ALERT_HOOKS)
def match_tickets(workspace_id: str | None = None, writeback: str | None = None) -> dict:
    """`workspace_id`: one workspace (default: every workspace with units). `writeback`: off,
    dry_run or on (default PMFLOW_MATCH_WRITEBACK, which defaults to off)."""
    workspaces = list_match_workspaces(workspace_id)
    results = {}
    for ws in workspaces:
        decided = match_workspace_units(ws)
        results[ws] = {"match": decided, "writeback": write_back_decisions(ws, writeback)}
    summary = publish_match_artifacts(workspaces)
    return {"workspaces": results, "artifacts": summary}
