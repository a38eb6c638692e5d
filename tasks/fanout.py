"""Extraction fanned out over workspaces, and inside a workspace over Slack channels and GitHub
repositories (flows/ingest_workspaces.py; docs/scale.md).

Every task takes a workspace *name* and resolves that workspace's settings and secrets itself
(pmflow.workspaces), so no token is ever a task parameter. Each API call site takes a slot of the
workspace's global concurrency limit ("slack-acme", "linear-acme", "github-acme"; created by
pmflow.workspaces.ensure_workspace_limits) with strict=False: where the limit does not exist the task
runs unthrottled, as in tests. The warehouse serialises the writes (file lock per batch) whatever
the task runner: threads, or Dask worker processes on this machine.

The plain functions below (no Prefect) do the work and are what benchmarks/scale.py times.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from prefect import task

from connectors.records import parse_page
from connectors.slack import parse_channel, parse_user
from pmflow.workspaces import limit_name, workspace
from tasks.common import TRANSIENT_RETRIES, current_run_id
from tasks.github import WarehouseHttpCache, github_client, sync_repo
from tasks.linear import linear_client, sync_linear
from tasks.slack import slack_client, sync_channel_messages
from warehouse import Batch, LoadCounts, Warehouse


@dataclass
class SlackPlan:
    """What a workspace's Slack setup found: its team id and the channels to sync."""

    workspace: str
    workspace_id: str
    channel_ids: list[str] = field(default_factory=list)
    counts: dict[str, LoadCounts] = field(default_factory=dict)


# -- plain functions ------------------------------------------------------------------------------


def slack_setup(name: str, wh: Warehouse, run_id: str | None = None) -> SlackPlan:
    """auth.test, users and channels of one workspace; returns the channel ids to sync."""
    settings = workspace(name).slack()
    client = slack_client(settings)
    workspace_id = client.workspace().workspace_id
    plan = SlackPlan(name, workspace_id, counts={"slack.users": LoadCounts(), "slack.channels": LoadCounts()})
    for page in client.users():
        parsed = parse_page(page, parse_user, lambda r: r["user_id"], workspace_id=workspace_id)
        plan.counts["slack.users"] += wh.write(_batch(workspace_id, "users", parsed, "core.slack_users"), run_id=run_id)
    wanted = settings.channel_filter
    for page in client.channels():
        parsed = parse_page(page, parse_channel, lambda r: r["channel_id"], workspace_id=workspace_id)
        plan.counts["slack.channels"] += wh.write(_batch(workspace_id, "channels", parsed, "core.slack_channels"),
                                                  run_id=run_id)
        plan.channel_ids += [r["channel_id"] for r in parsed.rows
                             if not wanted or {r["channel_id"], r["name"]} & wanted]
    return plan


def slack_channel(name: str, workspace_id: str, channel_id: str, wh: Warehouse,
                  run_id: str | None = None) -> LoadCounts:
    """One channel's messages and threads, incrementally (tasks.slack.sync_channel_messages)."""
    settings = workspace(name).slack()
    return sync_channel_messages(slack_client(settings), wh, workspace_id, channel_id,
                                 rescan_s=settings.rescan_days * 86400, batch_rows=settings.batch_rows, run_id=run_id)


def linear_workspace(name: str, wh: Warehouse, run_id: str | None = None) -> tuple[str, dict[str, LoadCounts]]:
    """Every Linear stream of one workspace; rows under <NAME>_LINEAR_WORKSPACE_ID, else the org id."""
    settings = workspace(name).linear()
    with linear_client(settings) as client:
        workspace_id = settings.workspace_id or client.organization().id
        return workspace_id, sync_linear(client, wh, workspace_id, overlap=timedelta(minutes=settings.overlap_minutes),
                                         batch_rows=settings.batch_rows, run_id=run_id)


def github_repos(name: str) -> tuple[str, list[str]]:
    settings = workspace(name).github()
    return settings.tenant, settings.repo_list


def github_repo(name: str, workspace_id: str, repo: str, wh: Warehouse, run_id: str | None = None) -> dict[str, LoadCounts]:
    settings = workspace(name).github()
    cache = WarehouseHttpCache(wh, workspace_id)
    with github_client(settings, cache) as client:
        return sync_repo(client, wh, workspace_id, repo, cache=cache, batch_rows=settings.batch_rows,
                         concurrency=settings.concurrency, run_id=run_id)


def _batch(workspace_id: str, stream: str, parsed, table: str) -> Batch:
    return Batch(workspace_id, "slack", stream, raw=parsed.raw, upserts={table: parsed.rows}, rejected=parsed.rejected)


@contextmanager
def api_slot(source: str, name: str):
    """A slot of the workspace's limit for `source` ("slack-acme"); unthrottled where the limit is absent."""
    from prefect.concurrency.sync import concurrency

    with concurrency(limit_name(source, name), occupy=1, strict=False):
        yield


def _warehouse() -> Warehouse:
    return Warehouse(os.environ.get("PMFLOW_WAREHOUSE") or None)


# -- Prefect tasks --------------------------------------------------------------------------------


@task(**TRANSIENT_RETRIES, task_run_name="slack-setup-{name}")
def plan_slack_workspace(name: str) -> SlackPlan:
    with api_slot("slack", name):
        return slack_setup(name, _warehouse(), current_run_id())


@task(**TRANSIENT_RETRIES, task_run_name="slack-{name}-{channel_id}")
def sync_workspace_channel(name: str, workspace_id: str, channel_id: str) -> LoadCounts:
    with api_slot("slack", name):
        return slack_channel(name, workspace_id, channel_id, _warehouse(), current_run_id())


@task(**TRANSIENT_RETRIES, task_run_name="linear-{name}")
def sync_workspace_linear(name: str) -> tuple[str, dict[str, LoadCounts]]:
    with api_slot("linear", name):
        return linear_workspace(name, _warehouse(), current_run_id())


@task(task_run_name="github-repos-{name}")
def list_workspace_repos(name: str) -> tuple[str, list[str]]:
    return github_repos(name)


@task(**TRANSIENT_RETRIES, task_run_name="github-{name}-{repo}")
def sync_workspace_repo(name: str, workspace_id: str, repo: str) -> dict[str, LoadCounts]:
    with api_slot("github", name):
        return github_repo(name, workspace_id, repo, _warehouse(), current_run_id())


def task_runner():
    """The fan-out's task runner, from the environment:

    - PMFLOW_DASK_ADDRESS=tcp://scheduler:8786: a running Dask cluster (work leaves the machine);
    - PMFLOW_TASK_RUNNER=threads: Prefect's ThreadPoolTaskRunner, PMFLOW_FANOUT_WORKERS threads (8);
    - otherwise a local Dask cluster: PMFLOW_DASK_WORKERS processes (2) x PMFLOW_DASK_THREADS threads (4).
    """
    address = os.environ.get("PMFLOW_DASK_ADDRESS")
    kind = os.environ.get("PMFLOW_TASK_RUNNER", "dask").lower()
    if kind == "threads" and not address:
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=int(os.environ.get("PMFLOW_FANOUT_WORKERS", 8)))
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": int(os.environ.get("PMFLOW_DASK_WORKERS", 2)),
        "threads_per_worker": int(os.environ.get("PMFLOW_DASK_THREADS", 4)),
        "dashboard_address": None,
    })
