"""Multi-workspace configuration (pmflow/workspaces.py) and the fan-out's group-commit warehouse."""
from __future__ import annotations

import inspect
import threading
from datetime import UTC, datetime, timedelta

import pytest

from pmflow.workspaces import (
    WorkspaceConfigError,
    configured_workspaces,
    env_prefix,
    secret_block_name,
    select_workspaces,
    workspace,
    workspace_limits,
)
from warehouse import Batch, Warehouse


@pytest.fixture(autouse=True)
def _no_blocks(monkeypatch):
    monkeypatch.setenv("PMFLOW_SECRET_BLOCKS", "0")
    for var in ("SLACK_BOT_TOKEN", "SLACK_API_URL", "LINEAR_API_KEY", "GITHUB_TOKEN", "GITHUB_REPOS"):
        monkeypatch.delenv(var, raising=False)


def test_names_come_from_pmflow_workspaces_in_order_without_duplicates():
    assert configured_workspaces({"PMFLOW_WORKSPACES": " acme, globex ,acme,,acme-eu"}) == ["acme", "globex", "acme-eu"]
    assert configured_workspaces({}) == []
    assert env_prefix("acme-eu") == "ACME_EU_"


@pytest.mark.parametrize("value", ["1acme", "ac me", "acme;rm", "a" * 64])
def test_invalid_names_are_refused(value):
    with pytest.raises(WorkspaceConfigError):
        configured_workspaces({"PMFLOW_WORKSPACES": value})


def test_names_that_share_a_prefix_are_refused():
    with pytest.raises(WorkspaceConfigError, match="same prefix"):
        configured_workspaces({"PMFLOW_WORKSPACES": "acme-eu,acme_eu"})


def test_select_defaults_to_all_and_refuses_unknown_names():
    env = {"PMFLOW_WORKSPACES": "acme,globex"}
    assert select_workspaces(None, env) == ["acme", "globex"]
    assert select_workspaces([], env) == ["acme", "globex"]
    assert select_workspaces(["globex"], env) == ["globex"]
    with pytest.raises(WorkspaceConfigError, match="initech"):
        select_workspaces(["initech"], env)
    with pytest.raises(WorkspaceConfigError, match="PMFLOW_WORKSPACES is not set"):
        select_workspaces(None, {})


def test_each_workspace_reads_only_its_own_prefixed_variables(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-single")
    monkeypatch.setenv("ACME_SLACK_BOT_TOKEN", "xoxb-acme")
    monkeypatch.setenv("ACME_SLACK_API_URL", "http://acme.test/api/")
    monkeypatch.setenv("ACME_SLACK_PAGE_SIZE", "50")
    monkeypatch.setenv("GLOBEX_SLACK_BOT_TOKEN", "xoxb-globex")
    monkeypatch.setenv("GLOBEX_LINEAR_API_KEY", "lin_api_globex")
    monkeypatch.setenv("GLOBEX_LINEAR_WORKSPACE_ID", "T-GLOBEX")
    monkeypatch.setenv("GLOBEX_GITHUB_TOKEN", "ghp_globex")
    monkeypatch.setenv("GLOBEX_GITHUB_REPOS", "globex/api, globex/web")

    acme, globex = workspace("acme"), workspace("globex")
    assert acme.slack().bot_token.get_secret_value() == "xoxb-acme"
    assert (acme.slack().api_url, acme.slack().page_size) == ("http://acme.test/api/", 50)
    assert globex.slack().bot_token.get_secret_value() == "xoxb-globex"
    assert globex.slack().api_url == "https://slack.com/api/"  # the default, not acme's
    assert acme.linear().api_key is None  # no fallback to another workspace or to LINEAR_API_KEY
    assert globex.linear().workspace_id == "T-GLOBEX"
    assert globex.github().repo_list == ["globex/api", "globex/web"]
    assert acme.sources() == ["slack"]
    assert globex.sources() == ["slack", "linear", "github"]
    assert "xoxb-acme" not in repr(acme.slack()) and "xoxb-acme" not in str(acme.slack())


def test_secret_block_names_and_limit_names():
    assert secret_block_name("acme", "slack") == "acme-slack-bot-token"
    assert secret_block_name("acme_eu", "linear") == "acme-eu-linear-api-key"
    assert secret_block_name("acme", "github") == "acme-github-token"
    assert workspace_limits(["acme"], 3) == {"slack-acme": 3, "linear-acme": 3, "github-acme": 3}


def test_tasks_take_workspace_names_never_secrets():
    """Prefect records task parameters: no fan-out task may take a token, key or settings object."""
    from prefect import Task

    import tasks.fanout as fanout

    tasks = [v for v in vars(fanout).values() if isinstance(v, Task)]
    assert len(tasks) >= 5
    allowed = {"name", "workspace_id", "channel_id", "repo"}
    for t in tasks:
        params = set(inspect.signature(t.fn).parameters)
        assert params <= allowed, f"{t.name} takes {params - allowed}"


def test_task_runner_follows_the_environment(monkeypatch):
    import dask
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from tasks.fanout import task_runner

    monkeypatch.delenv("PMFLOW_DASK_ADDRESS", raising=False)
    monkeypatch.setenv("PMFLOW_TASK_RUNNER", "threads")
    monkeypatch.setenv("PMFLOW_FANOUT_WORKERS", "6")
    runner = task_runner()
    assert isinstance(runner, ThreadPoolTaskRunner) and runner._max_workers == 6
    monkeypatch.delenv("PMFLOW_TASK_RUNNER")
    with dask.config.set({"distributed.worker.profile.enabled": True}):  # restored on exit
        assert isinstance(task_runner(), DaskTaskRunner)
        # the local cluster's workers inherit the config: no profiler (CPython < 3.11.9 deadlock)
        assert dask.config.get("distributed.worker.profile.enabled") is False
    monkeypatch.setenv("PMFLOW_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    assert task_runner().address == "tcp://10.0.0.5:8786"


def _batch(ws: str, channel: str, n: int, cursor: str | None = None) -> Batch:
    rows = [{"workspace_id": ws, "channel_id": channel, "ts": f"{1700000000 + i}.000100", "text": f"m{i}",
             "posted_at": datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=i), "is_deleted": False,
             "reply_count": 0} for i in range(n)]
    return Batch(ws, "slack", "messages", channel, raw=[(r["ts"], r) for r in rows],
                 upserts={"core.slack_messages": rows}, cursor=cursor)


def test_group_commit_writes_what_plain_writes_write_and_groups_concurrent_batches(tmp_path):
    from tasks.fanout import GroupCommitWarehouse

    plain, grouped = Warehouse(tmp_path / "plain.duckdb"), GroupCommitWarehouse(tmp_path / "grouped.duckdb")
    batches = [_batch(ws, f"C{c}", 20, cursor=f"{c}.0") for ws in ("T1", "T2") for c in range(8)]
    for b in batches:
        plain.write(b)
    results = []
    threads = [threading.Thread(target=lambda b=b: results.append(grouped.write(b))) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.inserted for r in results) == 16 * 20
    sql = "SELECT workspace_id, channel_id, ts, text FROM core.slack_messages ORDER BY ALL"
    assert grouped.query(sql) == plain.query(sql)
    state = "SELECT workspace_id, partition_key, cursor FROM ops.sync_state ORDER BY ALL"
    assert grouped.query(state) == plain.query(state)
    assert grouped.cursors("T2", "slack", "messages")["C3"] == "3.0"
    assert grouped.groups < grouped.operations


def test_group_commit_fails_only_the_bad_batch(tmp_path):
    from tasks.fanout import GroupCommitWarehouse

    wh = GroupCommitWarehouse(tmp_path / "wh.duckdb")
    wh.write(_batch("T1", "C1", 3))
    bad = _batch("T1", "C2", 3, cursor="9.0")
    bad.upserts = {"core.slack_messages": [{"workspace_id": "T1", "channel_id": "C2", "ts": None}]}  # NULL key
    with pytest.raises(Exception):
        wh.write(bad)
    wh.write(_batch("T1", "C3", 2))
    assert wh.query("SELECT channel_id, count(*) FROM core.slack_messages GROUP BY 1 ORDER BY 1") == [("C1", 3), ("C3", 2)]
    assert wh.cursors("T1", "slack", "messages") == {}
