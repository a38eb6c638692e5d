"""What a person sees of the journey marts: funnel and stuck-work rows, charts, and a markdown page
linking them. Reads the marts on an open connection; no Prefect."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pmflow.journeys import charts


@dataclass(frozen=True)
class Chart:
    workspace_id: str
    title: str
    path: Path


def funnel_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The funnel of every workspace, all teams together, in stage order."""
    return _dicts(con, """
        SELECT workspace_id, stage, next_stage, entered, converted, closed_without_converting, still_open,
               round(conversion_rate, 3) AS conversion_rate,
               round(median_hours_to_convert, 1) AS median_hours_to_convert,
               strftime(window_start, '%Y-%m-%d') AS window_start, strftime(window_end, '%Y-%m-%d') AS window_end
        FROM marts.journey_funnel
        WHERE team_key IS NULL
        ORDER BY workspace_id, stage_order""")


def stuck_work_rows(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict]:
    """At-risk tickets, the longest overdue first (hours in stage over the stage's p80)."""
    return _dicts(con, """
        SELECT workspace_id, identifier, title, team_key, current_stage,
               round(hours_in_current_stage / 24, 1) AS days_in_stage,
               round(stage_p80_hours / 24, 1) AS stage_p80_days,
               round(completion_probability, 2) AS completion_probability,
               reopen_count
        FROM marts.ticket_journeys
        WHERE at_risk
        ORDER BY hours_in_current_stage / stage_p80_hours DESC, workspace_id, identifier
        LIMIT ?""", [limit])


def render_charts(con: duckdb.DuckDBPyConnection, directory: Path) -> list[Chart]:
    """A funnel, a cumulative flow diagram and a cycle-time scatter per workspace, as PNG files
    named journey-<kind>-<workspace>.png in `directory` (overwritten on every run)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    workspaces = [row[0] for row in con.execute(
        "SELECT DISTINCT workspace_id FROM marts.ticket_journeys ORDER BY 1").fetchall()]
    as_of = con.execute("SELECT max(as_of) FROM staging.journey_params").fetchone()[0]
    for workspace in workspaces:
        slug = _slug(workspace)
        funnel = con.execute(
            "SELECT * FROM marts.journey_funnel WHERE workspace_id = ? AND team_key IS NULL", [workspace]).df()
        flow = con.execute(
            "SELECT day, stage, stage_order, tickets FROM marts.journey_flow_daily WHERE workspace_id = ?",
            [workspace]).df()
        delivered = con.execute(
            """SELECT delivered_at, cycle_hours FROM marts.ticket_journeys j, staging.journey_params p
               WHERE j.workspace_id = ? AND delivered_at > p.as_of - to_days(p.flow_days)""", [workspace]).df()
        stamp = f"{workspace}, as of {as_of:%Y-%m-%d %H:%M} UTC"
        written += [
            Chart(workspace, "Funnel", charts.render_funnel(
                funnel, directory / f"journey-funnel-{slug}.png", f"Journey funnel - {stamp}")),
            Chart(workspace, "Cumulative flow", charts.render_cumulative_flow(
                flow, directory / f"journey-cfd-{slug}.png", f"Cumulative flow - {stamp}")),
            Chart(workspace, "Cycle time", charts.render_cycle_scatter(
                delivered, directory / f"journey-cycle-time-{slug}.png", f"Cycle time of delivered tickets - {stamp}")),
        ]
    return written


def charts_markdown(charts_written: list[Chart], summary: dict[str, int]) -> str:
    lines = ["# Journey charts", ""]
    lines += [f"- {key.replace('_', ' ')}: {value}" for key, value in summary.items()]
    lines.append("")
    for chart in charts_written:
        uri = chart.path.resolve().as_uri()
        lines.append(f"- **{chart.workspace_id}** - [{chart.title}]({uri}) (`{chart.path}`)")
    if not charts_written:
        lines.append("No tickets in the warehouse yet: no charts.")
    return "\n".join(lines) + "\n"


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "workspace"
