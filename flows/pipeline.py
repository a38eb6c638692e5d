"""The whole pipeline, in order: ingest every configured source, then the analytics built on it.

Schedule: none of its own (each step has its deployment); `pmflow demo` and `pmflow run pipeline`
run it end to end. Requires what each step requires.
"""
from __future__ import annotations

from prefect import flow

from flows.ingest import ingest_slack


@flow(name="pipeline")
def pipeline() -> dict:
    return {"ingest-slack": ingest_slack()}
