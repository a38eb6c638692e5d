"""What every task shares: the retry policy, the warehouse handle, the run id, artifacts."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.context import get_run_context
from prefect.tasks import exponential_backoff

from connectors.errors import TransientError
from warehouse import LoadCounts, Warehouse, WarehouseBusyError

RETRYABLE = (TransientError, WarehouseBusyError, TimeoutError, ConnectionError)


def retry_transient_only(task, task_run, state) -> bool:
    """Prefect retry condition: retry rate limits, 5xx, timeouts and a busy warehouse; fail at once
    on anything that will not heal (bad token, invalid query, a bug)."""
    try:
        state.result()
    except RETRYABLE:
        return True
    except Exception:
        return False
    return False


TRANSIENT_RETRIES = dict(
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient_only,
)
"""Keyword arguments for @task: exponential backoff with jitter, transient faults only."""


def warehouse() -> Warehouse:
    """The warehouse named by PMFLOW_WAREHOUSE (default data/warehouse.duckdb)."""
    return Warehouse()


def current_run_id() -> str | None:
    """The flow run id, recorded with every batch so a row can be traced to the run that wrote it."""
    try:
        context = get_run_context()
    except RuntimeError:
        return None
    run = getattr(context, "flow_run", None) or getattr(getattr(context, "task_run", None), "flow_run_id", None)
    return str(getattr(run, "id", run)) if run else None


def load_counts_table(counts: Mapping[str, LoadCounts]) -> list[dict]:
    """Rows for a Prefect table artifact: one per stream."""
    return [
        {"stream": stream, "read": c.read, "loaded": c.loaded, "inserted": c.inserted, "updated": c.updated,
         "quarantined": c.quarantined}
        for stream, c in sorted(counts.items())
    ]


@task
def publish_load_report(flow_name: str, counts: Mapping[str, LoadCounts]) -> None:
    """A table artifact (stable key per flow, so the UI keeps its history): rows per stream."""
    create_table_artifact(
        key=f"{flow_name}-load-report",
        table=load_counts_table(counts),
        description=f"{flow_name}: records read, inserted, updated and quarantined per stream",
    )


def total(counts: Iterable[LoadCounts]) -> LoadCounts:
    return sum(counts, LoadCounts())
