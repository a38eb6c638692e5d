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
import queue
import threading
from concurrent.futures import Future
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
from warehouse.warehouse import commit_batch


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


class GroupCommitWarehouse(Warehouse):
    """A Warehouse whose writes and small reads, from any number of threads of this process, are
    run by one writer thread that opens the DuckDB file once for everything queued at that moment.

    Semantics are Warehouse's: each batch is its own transaction (data and cursor together), the file
    lock is held only while the queued operations run, so other processes (another Dask worker, a
    `pmflow sql` reader) still take turns between two groups. What changes is the cost: opening the
    file (~90 ms here, under load) is paid once per group instead of once per batch, which is what
    otherwise serialises a fan-out of many small channels behind the lock.
    """

    def __init__(self, path=None, *, lock_timeout_s: float | None = None, max_group: int = 64):
        super().__init__(path, lock_timeout_s=lock_timeout_s)
        self.max_group = max_group
        self.groups = 0
        self.operations = 0
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def write(self, batch: Batch, *, run_id: str | None = None) -> LoadCounts:
        return self._submit(lambda con: commit_batch(con, batch, run_id))

    def query(self, sql: str, params=None) -> list[tuple]:
        return self._submit(lambda con: con.execute(sql, params or []).fetchall())

    def cursors(self, workspace_id: str, source: str, stream: str) -> dict[str, str]:
        if not self.path.exists():
            return {}
        return dict(self.query("SELECT partition_key, cursor FROM ops.sync_state "
                               "WHERE workspace_id = ? AND source = ? AND stream = ?",
                               [workspace_id, source, stream]))

    def _submit(self, op):
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="pmflow-group-commit", daemon=True)
                self._thread.start()
        future: Future = Future()
        self._queue.put((op, future))
        return future.result()

    def _serve(self) -> None:
        while True:
            group = [self._queue.get()]
            while len(group) < self.max_group:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self.connect() as con:
                    self.groups += 1
                    for op, future in group:
                        self.operations += 1
                        try:
                            future.set_result(op(con))
                        except BaseException as error:  # noqa: BLE001 - handed to the caller
                            future.set_exception(error)
            except BaseException as error:  # noqa: BLE001 - the lock timed out or the file failed to open
                for _, future in group:
                    if not future.done():
                        future.set_exception(error)


_shared: dict[str, GroupCommitWarehouse] = {}
_shared_lock = threading.Lock()


def shared_warehouse(path: str | None = None) -> GroupCommitWarehouse:
    """This process's group-commit handle on the warehouse at `path` (default PMFLOW_WAREHOUSE)."""
    path = str(path or os.environ.get("PMFLOW_WAREHOUSE") or Warehouse().path)
    with _shared_lock:
        if path not in _shared:
            _shared[path] = GroupCommitWarehouse(path)
        return _shared[path]


def _warehouse() -> Warehouse:
    return shared_warehouse()


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


def disable_dask_profiler() -> None:
    """For the Dask workers this process starts from now on. Dask's worker profiler samples every
    thread's frame (sys._current_frames()) every 10 ms, which on CPython < 3.11.9 can deadlock
    against the GIL (cpython#106883, dask/distributed#8616): a worker froze mid-run in CI. Its
    profile only feeds Dask's dashboard, which pmflow does not use."""
    import dask

    dask.config.set({"distributed.worker.profile.enabled": False})


def task_runner():
    """The fan-out's task runner, from the environment:

    - PMFLOW_DASK_ADDRESS=tcp://scheduler:8786: a running Dask cluster (work leaves the machine);
    - PMFLOW_TASK_RUNNER=threads: Prefect's ThreadPoolTaskRunner, PMFLOW_FANOUT_WORKERS threads (8);
    - otherwise a local Dask cluster: PMFLOW_DASK_WORKERS processes (2) x PMFLOW_DASK_THREADS threads (4),
      without Dask's worker profiler.
    """
    address = os.environ.get("PMFLOW_DASK_ADDRESS")
    kind = os.environ.get("PMFLOW_TASK_RUNNER", "dask").lower()
    if kind == "threads" and not address:
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=int(os.environ.get("PMFLOW_FANOUT_WORKERS", 8)))
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    disable_dask_profiler()
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": int(os.environ.get("PMFLOW_DASK_WORKERS", 2)),
        "threads_per_worker": int(os.environ.get("PMFLOW_DASK_THREADS", 4)),
        "dashboard_address": ":0",
    })
