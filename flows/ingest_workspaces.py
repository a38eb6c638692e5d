"""Ingestion across several workspaces (tenants), each with its own credentials, in one flow run.

Schedule: hourly (prefect.yaml, deployment ingest-workspaces/hourly). One deployment with a
`workspaces` parameter: left empty it ingests every workspace of PMFLOW_WORKSPACES (what the
schedule does); a person re-runs one tenant from the UI ("Custom run", workspaces=["acme"]). One
deployment rather than one per workspace, because adding a tenant is then configuration only.

Requires PMFLOW_WORKSPACES=acme,globex and, per workspace, the single-workspace variables with its
prefix: ACME_SLACK_BOT_TOKEN (+ ACME_SLACK_API_URL, ACME_SLACK_CHANNELS ...), ACME_LINEAR_API_KEY
(+ ACME_LINEAR_WORKSPACE_ID ...), ACME_GITHUB_TOKEN and ACME_GITHUB_REPOS (+ ACME_GITHUB_WORKSPACE_ID);
or Prefect Secret blocks "acme-slack-bot-token", "acme-linear-api-key", "acme-github-token".
A source without configuration is skipped for that workspace; without PMFLOW_WORKSPACES the run
ingests nothing and says so (an explicitly named unknown workspace fails). See docs/scale.md.

Fan-out: Slack channels and GitHub repositories of every workspace, and each workspace's Linear,
run as tasks on tasks.fanout.task_runner(): a local Dask cluster by default, a remote Dask
scheduler with PMFLOW_DASK_ADDRESS, threads with PMFLOW_TASK_RUNNER=threads. Writes go to the one
warehouse (PMFLOW_WAREHOUSE), serialised by its file lock; each workspace's calls take slots of its
global concurrency limits "slack-<name>", "linear-<name>", "github-<name>" where they exist.
Publishes the artifact ingest-workspaces-load-report (one row per workspace and stream).
"""
from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from pmflow.workspaces import configured_workspaces, select_workspaces, workspace
from tasks.alerts import ALERT_HOOKS
from tasks.fanout import (
    list_workspace_repos,
    plan_slack_workspace,
    sync_workspace_channel,
    sync_workspace_linear,
    sync_workspace_repo,
    task_runner,
)
from warehouse import LoadCounts


@flow(name="ingest-workspaces", task_runner=task_runner(), **ALERT_HOOKS)
def ingest_workspaces(workspaces: list[str] | None = None) -> dict[str, dict[str, LoadCounts]]:
    """Slack, Linear and GitHub of each selected workspace (all of PMFLOW_WORKSPACES when empty)."""
    if not workspaces and not configured_workspaces():
        # a single-workspace installation: nothing to do, like a source without credentials
        get_run_logger().warning("PMFLOW_WORKSPACES is not set: no workspace to ingest (docs/scale.md)")
        names = []
    else:
        names = select_workspaces(workspaces)
    sources = {name: workspace(name).sources() for name in names}

    linear = {n: sync_workspace_linear.submit(n) for n in names if "linear" in sources[n]}
    repos = {n: list_workspace_repos.submit(n) for n in names if "github" in sources[n]}
    plans = [plan_slack_workspace.submit(n) for n in names if "slack" in sources[n]]

    channel_runs = []
    for future in plans:
        plan = future.result()
        channel_runs += [(plan.workspace, sync_workspace_channel.submit(plan.workspace, plan.workspace_id, c))
                         for c in plan.channel_ids]
    repo_runs = []
    for name, future in repos.items():
        workspace_id, repo_list = future.result()
        repo_runs += [(name, sync_workspace_repo.submit(name, workspace_id, r)) for r in repo_list]

    counts: dict[str, dict[str, LoadCounts]] = {n: {} for n in names}
    for future in plans:
        plan = future.result()
        counts[plan.workspace].update(plan.counts)
    for name, future in channel_runs:
        _add(counts[name], {"slack.messages": future.result()})
    for name, future in linear.items():
        _add(counts[name], future.result()[1])
    for name, future in repo_runs:
        _add(counts[name], future.result())

    create_table_artifact(
        key="ingest-workspaces-load-report",
        table=[{"workspace": n, "stream": s, **vars(c)} for n in names for s, c in sorted(counts[n].items())],
        description="ingest-workspaces: records read, inserted, updated and quarantined per workspace and stream",
    )
    return counts


def _add(into: dict[str, LoadCounts], more: dict[str, LoadCounts]) -> None:
    for stream, c in more.items():
        into[stream] = into.get(stream, LoadCounts()) + c
