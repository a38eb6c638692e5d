"""Journey analytics: each ticket's path through the stages, and where work gets stuck.

What it does, in order: loads the AI agent events of the agent traces (core.agent_events); writes the
stage model (pmflow/journeys/stages.yaml, overridden by PMFLOW_JOURNEY_STAGES per workspace and team)
and the build's "as of" time into ops.journey_*; rebuilds the journey marts in one transaction
(marts.ticket_stage_intervals, ticket_stage_summary, journey_stage_stats, ticket_journeys,
journey_funnel, cycle_time_weekly, journey_flow_daily, pr_cycle_time, agent_activity); publishes the
artifacts journey-funnel and stuck-work (tables) and journey-charts (markdown linking a funnel, a
cumulative flow diagram and a cycle-time scatter, PNG files in charts/ next to the warehouse).

Schedule: nightly (prefect.yaml), after ingestion and ticket matching. Requires: Linear ingested
(core.linear_issues, core.linear_issue_history); uses GitHub PRs and reviews, marts.ticket_links and
PMFLOW_AGENT_TRACES when present. Settings: pmflow/journeys/settings.py (PMFLOW_JOURNEY_*).
"""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from tasks.alerts import ALERT_HOOKS
from tasks.journeys import build_journey_marts, load_agent_event_traces, publish_journey_artifacts


@flow(name="journeys", **ALERT_HOOKS)
def journeys(as_of: datetime | None = None) -> dict:
    """`as_of` (default PMFLOW_JOURNEY_AS_OF, else now) is the instant the marts describe; set it for
    backfills and reproducible reports."""
    agent_events = load_agent_event_traces()
    timings = build_journey_marts(as_of, wait_for=[agent_events])
    summary = publish_journey_artifacts(timings)
    return {"agent_events": agent_events, "marts_s": timings, "summary": summary}
