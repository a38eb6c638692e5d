"""The whole pipeline, in order: ingest every configured source, then the analytics built on it.

Schedule: none of its own (each step has its deployment); `pmflow demo` and `pmflow run pipeline`
run it end to end. Requires what each step requires.
"""
from __future__ import annotations

from prefect import flow, task

from flows.ingest import ingest_github, ingest_linear, ingest_slack
from flows.match_tickets import match_tickets
from flows.standup import standup
from tasks.github import github_configured
from tasks.linear import linear_configured


@task(name="ingest-linear-alongside")
def ingest_linear_alongside() -> dict:
    """Linear's ingestion in a worker thread, so it reads Linear while another source ingests (the
    warehouse serialises their writes)."""
    return ingest_linear()


@task(name="ingest-github-alongside")
def ingest_github_alongside() -> dict:
    """GitHub's ingestion in a worker thread, alongside the other sources (writes are serialised)."""
    return ingest_github()


@flow(name="pipeline")
def pipeline() -> dict:
    linear = ingest_linear_alongside.submit() if linear_configured() else None  # LINEAR_API_KEY set
    github = ingest_github_alongside.submit() if github_configured() else None  # GITHUB_TOKEN, GITHUB_REPOS set
    results = {"ingest-slack": ingest_slack()}
    if linear is not None:
        results["ingest-linear"] = linear.result()
    if github is not None:
        results["ingest-github"] = github.result()
    results["match-tickets"] = match_tickets()  # after ingestion: links threads and PRs to tickets
    results["standup"] = standup()  # last: it reports on what every step above wrote (dry run)
    return results
