"""The ingest-workspaces flow: two sandbox workspaces with their own credentials, fanned out on a
Dask cluster, into one warehouse; a run for one workspace touches only that one."""
from __future__ import annotations

import pytest
from prefect_dask import DaskTaskRunner

from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from flows.ingest_workspaces import ingest_workspaces
from tasks.fanout import disable_dask_profiler
from warehouse import Warehouse


@pytest.fixture
def two_workspaces(monkeypatch, warehouse_path):
    worlds = {"acme": World.generate(7, "tiny"), "globex": World.generate(8, "tiny")}
    servers = {name: SandboxServer(world).start() for name, world in worlds.items()}
    monkeypatch.setenv("PMFLOW_WORKSPACES", "acme,globex")
    monkeypatch.setenv("PMFLOW_SECRET_BLOCKS", "0")
    for var in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "LINEAR_API_KEY", "GITHUB_TOKEN", "GITHUB_REPOS"):
        monkeypatch.delenv(var, raising=False)
    for name, world in worlds.items():
        server, prefix = servers[name], name.upper()
        monkeypatch.setenv(f"{prefix}_SLACK_BOT_TOKEN", world.slack_bot_token)
        monkeypatch.setenv(f"{prefix}_SLACK_API_URL", server.slack_api_url)
        monkeypatch.setenv(f"{prefix}_LINEAR_API_KEY", world.linear_api_key)
        monkeypatch.setenv(f"{prefix}_LINEAR_API_URL", server.linear_api_url)
        monkeypatch.setenv(f"{prefix}_LINEAR_WORKSPACE_ID", world.workspace_id)
    yield worlds
    for server in servers.values():
        server.stop()


def stored(wh: Warehouse, table: str) -> dict[str, int]:
    return dict(wh.query(f"SELECT workspace_id, count(*) FROM {table} GROUP BY 1"))


def test_one_run_ingests_every_workspace_and_a_run_for_one_touches_only_it(two_workspaces, warehouse_path):
    acme, globex = two_workspaces["acme"], two_workspaces["globex"]
    # an in-process Dask cluster keeps the test light; the deployment's default starts worker processes
    disable_dask_profiler()
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 1, "threads_per_worker": 4, "processes": False,
                                            "dashboard_address": None})
    flow = ingest_workspaces.with_options(task_runner=runner)

    only = flow(workspaces=["globex"])
    assert set(only) == {"globex"}
    wh = Warehouse(warehouse_path)
    assert set(stored(wh, "core.slack_messages")) == {globex.workspace_id}

    counts = flow()
    assert set(counts) == {"acme", "globex"}
    for world in (acme, globex):
        messages = stored(wh, "core.slack_messages")[world.workspace_id]
        assert messages == len(world.expected_slack_messages())
        assert stored(wh, "core.slack_channels")[world.workspace_id] == len(world.expected_slack_channels())
        assert stored(wh, "core.linear_issues")[world.workspace_id] == len(world.expected_linear_rows()["core.linear_issues"])
    assert counts["acme"]["slack.messages"].inserted == len(acme.expected_slack_messages())
    assert counts["globex"]["slack.messages"].inserted == 0  # already there: idempotent, incremental

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts(limit=50)
    keys = {a.key for a in artifact}
    assert "ingest-workspaces-load-report" in keys


def test_an_unknown_workspace_fails_the_run_with_a_clear_message(two_workspaces):
    from prefect.task_runners import ThreadPoolTaskRunner

    from pmflow.workspaces import WorkspaceConfigError

    flow = ingest_workspaces.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    with pytest.raises(WorkspaceConfigError, match="initech"):
        flow(workspaces=["initech"])


def test_per_workspace_limits_are_created_once_and_runs_take_their_slots(two_workspaces, warehouse_path):
    from prefect.client.orchestration import get_client
    from prefect.task_runners import ThreadPoolTaskRunner

    from pmflow.workspaces import ensure_workspace_limits

    assert sorted(ensure_workspace_limits(names=["acme"], slots=1)) == ["github-acme", "linear-acme", "slack-acme"]
    assert ensure_workspace_limits(names=["acme"], slots=1) == []  # idempotent
    flow = ingest_workspaces.with_options(task_runner=ThreadPoolTaskRunner(max_workers=4))
    counts = flow(workspaces=["acme"])  # four channel tasks queue for the one "slack-acme" slot
    assert counts["acme"]["slack.messages"].inserted == len(two_workspaces["acme"].expected_slack_messages())
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name("slack-acme")
    assert (limit.limit, limit.active_slots) == (1, 0)


def test_the_deployed_runner_a_local_dask_cluster_of_processes_writes_through_the_file_lock(two_workspaces,
                                                                                          warehouse_path):
    """The runner the deployment uses (tasks.fanout.task_runner(): 2 worker processes): tasks in two
    processes write one warehouse, serialised by its file lock."""
    from tasks.fanout import task_runner

    counts = ingest_workspaces.with_options(task_runner=task_runner())()
    wh = Warehouse(warehouse_path)
    for name, world in two_workspaces.items():
        assert stored(wh, "core.slack_messages")[world.workspace_id] == len(world.expected_slack_messages())
        assert counts[name]["slack.messages"].inserted == len(world.expected_slack_messages())


def test_without_pmflow_workspaces_a_run_ingests_nothing_and_completes(monkeypatch, warehouse_path):
    from prefect.task_runners import ThreadPoolTaskRunner

    monkeypatch.delenv("PMFLOW_WORKSPACES", raising=False)
    flow = ingest_workspaces.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    assert flow() == {}


def test_a_missing_secret_is_read_from_the_workspace_secret_block(monkeypatch):
    from prefect.blocks.system import Secret

    from pmflow.workspaces import secret_block_name, workspace

    monkeypatch.delenv("ACMEBLOCK_SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("PMFLOW_SECRET_BLOCKS", "1")
    Secret(value="xoxb-from-block").save(secret_block_name("acmeblock", "slack"), overwrite=True)
    assert workspace("acmeblock").slack().bot_token.get_secret_value() == "xoxb-from-block"
    monkeypatch.setenv("ACMEBLOCK_SLACK_BOT_TOKEN", "xoxb-from-env")  # the environment wins
    assert workspace("acmeblock").slack().bot_token.get_secret_value() == "xoxb-from-env"
    assert workspace("acmeblock").github().token is None  # no block, no variable: unset
