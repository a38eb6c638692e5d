"""Builds the journey marts on an open warehouse connection: writes the stage model and the build
parameters (ops.journey_*), then the SQL models. No Prefect; used by tasks, tests and the benchmark."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from pmflow.journeys.stages import StageConfig
from warehouse.models import build_models

JOURNEY_MARTS = [
    "marts.ticket_stage_intervals",
    "marts.ticket_stage_summary",
    "marts.journey_stage_stats",
    "marts.ticket_journeys",
    "marts.journey_funnel",
    "marts.cycle_time_weekly",
    "marts.journey_flow_daily",
    "marts.pr_cycle_time",
    "marts.agent_activity",
]
"""Every mart this module builds (their staging views come along as dependencies)."""


@dataclass(frozen=True)
class JourneyParams:
    as_of: datetime
    """The instant the marts describe: open visits end here, later events are ignored."""
    funnel_window_days: int = 28
    flow_days: int = 90
    at_risk_min_visits: int = 5

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (e.g. datetime.now(timezone.utc))")
        for name in ("funnel_window_days", "flow_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.at_risk_min_visits < 1:
            raise ValueError("at_risk_min_visits must be at least 1")


def write_stage_config(con: duckdb.DuckDBPyConnection, config: StageConfig) -> None:
    """Replaces the stage model tables (ops.journey_scopes, _stages, _stage_rules) with `config`."""
    _replace(con, config.tables())


def write_params(con: duckdb.DuckDBPyConnection, params: JourneyParams) -> None:
    _replace(con, {"ops.journey_params": pa.table({
        "as_of": pa.array([params.as_of], pa.timestamp("us", tz="UTC")),
        "funnel_window_days": pa.array([params.funnel_window_days], pa.int32()),
        "flow_days": pa.array([params.flow_days], pa.int32()),
        "at_risk_min_visits": pa.array([params.at_risk_min_visits], pa.int32()),
        "written_at": pa.array([datetime.now(UTC)], pa.timestamp("us", tz="UTC")),
    })})


def build_journeys(con: duckdb.DuckDBPyConnection, config: StageConfig, params: JourneyParams,
                   targets: list[str] | None = None) -> dict[str, float]:
    """Writes the stage model and parameters, then rebuilds the journey marts (all of JOURNEY_MARTS
    unless `targets` narrows them). Returns seconds per model built."""
    con.execute("SET enable_progress_bar = false")  # a progress bar on stdout is noise in a flow's log
    con.execute("BEGIN TRANSACTION")
    try:
        write_stage_config(con, config)
        write_params(con, params)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return build_models(con, targets or JOURNEY_MARTS)


def unmapped_states(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(workspace_id, team_key, state_name, state_type) that no stage rule maps: tickets in them stay
    in their previous stage. Worth a warning: the stage config probably misses a rule."""
    return con.execute(
        "SELECT workspace_id, team_key, state_name, state_type FROM staging.journey_state_stages "
        "WHERE stage IS NULL AND state_type <> 'archived' ORDER BY ALL"
    ).fetchall()


def _replace(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> None:
    for table, rows in tables.items():
        con.execute(f"DELETE FROM {table}")
        con.register("_journey_rows", rows)
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _journey_rows")
        finally:
            con.unregister("_journey_rows")
