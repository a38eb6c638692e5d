"""The whole pipeline, in order: ingest every configured source, then the analytics built on it.

Schedule: none of its own (each step has its deployment); `pmflow demo` and `pmflow run pipeline`
run it end to end. Requires what each step requires.
"""
from __future__ import annotations

from prefect import flow, task

from flows.ingest import ingest_linear, ingest_slack
from tasks.linear import linear_configured


@task(name="ingest-linear-alongside")
def ingest_linear_alongside() -> dict:
    """Linear's ingestion in a worker thread, so it reads Linear while another source ingests (the
    warehouse serialises their writes)."""
    return ingest_linear()


@flow(name="pipeline")
def pipeline() -> dict:
    linear = ingest_linear_alongside.submit() if linear_configured() else None  # LINEAR_API_KEY set
    results = {"ingest-slack": ingest_slack()}
    if linear is not None:
        results["ingest-linear"] = linear.result()
    return results
