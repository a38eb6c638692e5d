"""The whole pipeline, in order: ingest every configured source, match conversations and PRs to
tickets, rebuild the journey and cost marts, and write the standup.

Schedule: none of its own (each step has its deployment in prefect.yaml); `pmflow demo` and
`pmflow run pipeline` run it end to end. Requires what each step requires; a source whose
credentials are not set is skipped.
"""
from __future__ import annotations

from prefect import flow, task

from flows.costs import costs
from flows.ingest import ingest_github, ingest_linear, ingest_slack
from flows.journeys import journeys
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
    results["match-tickets"] = match_tickets()
    results["journeys"] = journeys()
    results["costs"] = costs()
    results["standup"] = standup()  # last: it reports on what every step above wrote (dry run)
    return results
