"""The data-quality gate a flow runs after it loads: great-expectations suites over the core tables.

A failed check is a warning, never a failed run: the task logs a warning, publishes a table artifact
listing the failing checks (key `data-quality-<source>`, so the UI keeps its history), copies the
offending rows to ops.quarantine (source 'quality'; they stay in core) and records every check in
ops.quality_results. In a flow, after the loads:

    check_data_quality("slack", workspace_id=workspace.workspace_id)
    check_data_quality(tables=["core.agent_events"], workspace_id=ws, name="agent-events")
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from pmflow.ops_settings import ops_settings
from tasks.common import TRANSIENT_RETRIES, current_run_id, warehouse
from warehouse.quality import TableReport, core_tables, tables_of_source, validate_tables


@dataclass
class QualitySummary:
    tables: int
    checks: int
    failed: int
    quarantined: int
    failing: list[str]
    """table: check, for each failed check."""


@task(**TRANSIENT_RETRIES)
def check_data_quality(
    source: str | None = None,
    tables: list[str] | None = None,
    workspace_id: str | None = None,
    name: str | None = None,
) -> QualitySummary:
    """Validates the core tables of `source` (or `tables`, or every core table), for one workspace
    when `workspace_id` is given. The artifact key is data-quality-<name> (default: the source,
    else "all" or "tables")."""
    settings = ops_settings()
    everything = not tables and not source
    tables = list(tables or (tables_of_source(source) if source else core_tables()))
    reports = validate_tables(
        warehouse(),
        tables,
        workspace_id=workspace_id,
        run_id=current_run_id(),
        max_skew=timedelta(minutes=settings.quality_max_skew_minutes),
        max_quarantined=settings.quality_max_rows_quarantined,
    )
    summary = summarise(reports)
    name = name or source or ("all" if everything else "tables")
    create_table_artifact(
        key=f"data-quality-{name}",
        table=artifact_rows(reports),
        description=describe(name, summary),
    )
    logger = get_run_logger()
    if summary.failed:
        logger.warning(
            "Data quality (%s): %d of %d checks failed: %s. %d rows copied to ops.quarantine; "
            "see the data-quality-%s artifact and ops.quality_results.",
            name, summary.failed, summary.checks, "; ".join(summary.failing), summary.quarantined, name,
        )
    else:
        logger.info("Data quality (%s): all %d checks passed on %d tables.", name, summary.checks, summary.tables)
    return summary


def summarise(reports: list[TableReport]) -> QualitySummary:
    failed = [c for r in reports for c in r.failed]
    return QualitySummary(
        tables=sum(1 for r in reports if not r.skipped),
        checks=sum(len(r.checks) for r in reports),
        failed=len(failed),
        quarantined=sum(r.quarantined for r in reports),
        failing=[f"{c.table}: {c.check_name} ({c.unexpected_count if c.unexpected_count is not None else 'error'})"
                 for c in failed],
    )


def artifact_rows(reports: list[TableReport]) -> list[dict]:
    """Failing checks first (one row each), then one row per table that passed or was skipped."""
    rows = [
        {
            "table": c.table,
            "check": c.check_name,
            "status": "FAILED",
            "rows": c.element_count,
            "unexpected": c.unexpected_count,
            "quarantined": c.quarantined,
            "problem": c.description,
            "details": c.details,
        }
        for r in reports for c in r.failed
    ]
    for r in reports:
        if r.skipped:
            rows.append({"table": r.table, "check": "-", "status": "skipped", "rows": 0, "unexpected": 0,
                         "quarantined": 0, "problem": "", "details": r.skipped})
        elif not r.failed:
            rows.append({"table": r.table, "check": f"all {len(r.checks)} checks", "status": "passed",
                         "rows": r.rows, "unexpected": 0, "quarantined": 0, "problem": "", "details": ""})
    return rows


def describe(name: str, summary: QualitySummary) -> str:
    if not summary.failed:
        return f"Data quality ({name}): all {summary.checks} checks passed on {summary.tables} tables."
    return (
        f"Data quality ({name}): **{summary.failed} of {summary.checks} checks failed** on {summary.tables} tables "
        f"(a warning: the run goes on). {summary.quarantined} offending rows newly copied to ops.quarantine "
        "(source 'quality'); they stay in core. Every check: ops.quality_results."
    )
