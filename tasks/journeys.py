"""Journey analytics tasks: load agent events, rebuild the journey marts, publish what people read.

Thin wrappers: the work is in pmflow/journeys (stage model, build, parser, charts, report) and the SQL
models of warehouse/models. Configuration: pmflow/journeys/settings.py (PMFLOW_JOURNEY_*), and the
agent trace files and default workspace of pmflow/cost_settings.py.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from pmflow.cost_settings import CostSettings
from pmflow.journeys import report
from pmflow.journeys.agent_events import load_agent_events
from pmflow.journeys.build import JourneyParams, build_journeys, unmapped_states
from pmflow.journeys.settings import journey_settings
from pmflow.journeys.stages import load_stage_config
from tasks.common import TRANSIENT_RETRIES, current_run_id, warehouse
from warehouse import LoadCounts


@task(**TRANSIENT_RETRIES)
def load_agent_event_traces() -> LoadCounts:
    """Agent events of the JSONL traces named by PMFLOW_AGENT_TRACES -> core.agent_events (skipped,
    with a log line, when the variable is unset)."""
    settings = CostSettings()
    if settings.agent_traces is None:
        get_run_logger().info("PMFLOW_AGENT_TRACES is not set: no agent events to load")
        return LoadCounts()
    return load_agent_events(settings.agent_traces, warehouse(), settings.workspace_id, run_id=current_run_id())


@task(**TRANSIENT_RETRIES)
def build_journey_marts(as_of: datetime | None = None) -> dict[str, float]:
    """Writes the stage model and parameters, rebuilds every journey mart in one transaction, and
    warns about Linear states no stage rule maps. Returns seconds per model."""
    settings = journey_settings()
    params = JourneyParams(
        as_of=as_of or settings.as_of or datetime.now(UTC),
        funnel_window_days=settings.funnel_window_days,
        flow_days=settings.flow_days,
        at_risk_min_visits=settings.at_risk_min_visits,
    )
    config = load_stage_config(settings.stages)
    with warehouse().connect() as con:
        timings = build_journeys(con, config, params)
        unmapped = unmapped_states(con)
    if unmapped:
        get_run_logger().warning(
            "%d Linear state(s) match no stage rule (tickets in them keep their previous stage); add rules "
            "in PMFLOW_JOURNEY_STAGES: %s", len(unmapped),
            ", ".join(f"{ws}/{team}: {name!r} ({kind})" for ws, team, name, kind in unmapped[:20]))
    return timings


@task(**TRANSIENT_RETRIES)
def publish_journey_artifacts(timings: dict[str, float]) -> dict[str, int]:
    """Tables "journey-funnel" and "stuck-work", the charts as PNG files next to the warehouse, and
    the markdown artifact "journey-charts" linking them. Returns counts for the flow's summary."""
    settings = journey_settings()
    wh = warehouse()
    directory = settings.charts_dir or Path(wh.path).resolve().parent / "charts"
    with wh.connect() as con:
        funnel = report.funnel_rows(con)
        stuck = report.stuck_work_rows(con)
        charts = report.render_charts(con, directory)
        tickets = con.execute("SELECT count(*), count(*) FILTER (WHERE at_risk) FROM marts.ticket_journeys").fetchone()
    summary = {"tickets": tickets[0], "at_risk": tickets[1], "charts": len(charts),
               "build_seconds": round(sum(timings.values()), 2)}
    create_table_artifact(key="journey-funnel", table=funnel or [{"note": "no stage entries in the window"}],
                          description="Stage-to-stage conversion in the funnel window, all teams (marts.journey_funnel)")
    create_table_artifact(key="stuck-work", table=stuck or [{"note": "no ticket is at risk"}],
                          description="Tickets longer in their stage than the team's p80 for it (marts.ticket_journeys.at_risk)")
    create_markdown_artifact(key="journey-charts", markdown=report.charts_markdown(charts, summary),
                             description="Funnel, cumulative flow and cycle-time charts (PNG files)")
    return summary
