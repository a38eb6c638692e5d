"""Ingestion of every source from one sandbox workspace, and GitHub's PR/issue streams against a peer:
dlt's REST API source into DuckDB. Prints one JSON object.

    .venv/bin/python benchmarks/ingest_all.py [--sizes default,30000] [--seed 7]

For each workspace size (the default one and a 10x one), against the sandbox running in its own
process (``python -m connectors.sandbox serve``):

1. all sources, full: Slack, Linear and GitHub synced into a fresh warehouse by pmflow's plain sync
   functions (what the ingest flows run, without Prefect), one thread per source as the pipeline
   does; wall time, seconds per source, requests per source (counted by the sandbox), rows per table.
2. the same GitHub streams both ways: issues (``/issues`` with ``since``, PRs included) and pull
   requests (``/pulls`` by updated_at), every repository. pmflow: ``tasks.github.sync_repo`` with
   streams issues+pulls into a fresh warehouse (raw + typed core rows, merged on natural keys), the
   repositories concurrently as its flow does. dlt: ``rest_api_source`` with a ``header_link``
   paginator, ``since`` bound to an ``updated_at`` incremental on issues, an ``updated_at``
   incremental with ``row_order: desc`` on pulls (so it stops paging at its cursor), merge write
   disposition on ``id``, into DuckDB. dlt runs in its own virtualenv (/tmp/pmflow-dlt-venv, made
   with ``python -m venv`` + ``pip install dlt[duckdb]`` on first use; never a pmflow dependency).
   ``pmflow_s`` and ``dlt_s`` time the sync calls / ``pipeline.run`` in-process (interpreter start
   and imports excluded for both; ``dlt_process_s`` includes them).
3. incremental: three PRs change (one retitled, one reopened, one reviewed; in three different
   repositories when there are three), then both run again; ``*_incremental_requests`` are the
   requests the sandbox received for that run. pmflow's all-streams incremental (reviews, timelines,
   comments too) is reported beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DLT_VENV = Path(os.environ.get("PMFLOW_DLT_VENV", "/tmp/pmflow-dlt-venv"))
CORE_TABLES = (
    "core.slack_channels", "core.slack_users", "core.slack_messages", "core.linear_issues",
    "core.linear_issue_history", "core.linear_comments", "core.github_pull_requests", "core.github_issues",
    "core.github_reviews", "core.github_comments", "core.github_pr_events",
)

DLT_SCRIPT = r'''
import json, os, sys, time
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
import dlt
from dlt.sources.rest_api import rest_api_source

cfg = json.loads(sys.argv[1])
resources = []
for i, repo in enumerate(cfg["repos"]):
    resources.append({
        "name": f"issues_{i}", "table_name": "issues", "primary_key": "id", "write_disposition": "merge",
        "endpoint": {"path": f"repos/{repo}/issues", "paginator": "header_link",
                     "params": {"state": "all", "sort": "updated", "direction": "desc", "per_page": 100},
                     "incremental": {"start_param": "since", "cursor_path": "updated_at",
                                     "initial_value": "1970-01-01T00:00:00Z", "row_order": "desc"}}})
    resources.append({
        "name": f"pulls_{i}", "table_name": "pulls", "primary_key": "id", "write_disposition": "merge",
        "endpoint": {"path": f"repos/{repo}/pulls", "paginator": "header_link",
                     "params": {"state": "all", "sort": "updated", "direction": "desc", "per_page": 100},
                     "incremental": {"cursor_path": "updated_at", "initial_value": "1970-01-01T00:00:00Z",
                                     "row_order": "desc"}}})
source = rest_api_source({
    "client": {"base_url": cfg["base_url"] + "/", "auth": {"type": "bearer", "token": cfg["token"]},
               "headers": {"X-GitHub-Api-Version": "2022-11-28", "Accept": "application/vnd.github+json"}},
    "resources": resources})
pipeline = dlt.pipeline(pipeline_name="github_peer", destination=dlt.destinations.duckdb(cfg["db"]),
                        dataset_name="github", pipelines_dir=cfg["dir"])
started = time.perf_counter()
pipeline.run(source)
seconds = time.perf_counter() - started
import duckdb
con = duckdb.connect(cfg["db"], read_only=True)
rows = {t: con.execute(f"SELECT count(*) FROM github.{t}").fetchone()[0] for t in ("issues", "pulls")}
print(json.dumps({"s": seconds, "rows": rows}))
'''


# ---- the sandbox, in its own process -------------------------------------------------------------

class Sandbox:
    def __init__(self, seed: int, size: str):
        # GitHub's 5000 requests an hour would stop the 10x workspace's full sync (pmflow waits for the
        # reset, up to GITHUB_MAX_RATE_LIMIT_WAIT_S); the benchmark measures throughput, not that wait.
        env = {**os.environ, "SANDBOX_GITHUB_RATE_LIMIT": "1000000"}
        self.process = subprocess.Popen([sys.executable, "-m", "connectors.sandbox", "serve", "--seed", str(seed),
                                         "--size", size], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
        self.info = json.loads(self.process.stdout.readline())
        self.url = self.info["url"]

    def stats(self) -> dict:
        return httpx.get(f"{self.url}/_sandbox/stats", timeout=60).json()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sandbox/reset_stats", timeout=60)

    def mutate(self, name: str, **kwargs) -> None:
        answer = httpx.post(f"{self.url}/_sandbox/world/{name}", json=kwargs, timeout=60).json()
        if not answer.get("ok"):
            raise RuntimeError(f"mutation {name} failed: {answer}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


# ---- pmflow ---------------------------------------------------------------------------------------

def configure(sandbox: Sandbox, world, warehouse_path: str) -> None:
    os.environ.update(
        PMFLOW_WAREHOUSE=warehouse_path,
        SLACK_API_URL=sandbox.info["slack_api_url"], SLACK_BOT_TOKEN=world.slack_bot_token, SLACK_PAGE_SIZE="999",
        LINEAR_API_URL=f"{sandbox.url}/linear/graphql", LINEAR_API_KEY=world.linear_api_key,
        LINEAR_WORKSPACE_ID=world.workspace_id,
        GITHUB_API_URL=f"{sandbox.url}/github", GITHUB_TOKEN=world.github_token,
        GITHUB_REPOS=",".join(world.github_repos), GITHUB_WORKSPACE_ID=world.workspace_id,
    )


def slack_full(world, warehouse_path: str) -> float:
    from pmflow.settings import slack_settings
    from tasks.slack import (
        slack_client,
        sync_channel_messages,
        sync_slack_channels,
        sync_slack_users,
    )
    from warehouse import Warehouse

    started = time.perf_counter()
    settings, wh = slack_settings(), Warehouse(warehouse_path)
    client = slack_client(settings)
    workspace_id = client.workspace().workspace_id
    sync_slack_users.fn(workspace_id)
    channel_ids, _ = sync_slack_channels.fn(workspace_id)
    for channel_id in channel_ids:
        sync_channel_messages(client, wh, workspace_id, channel_id, rescan_s=settings.rescan_days * 86400,
                              batch_rows=settings.batch_rows)
    return time.perf_counter() - started


def linear_full(world, warehouse_path: str) -> float:
    from tasks.linear import linear_client, sync_linear
    from warehouse import Warehouse

    started = time.perf_counter()
    with linear_client() as client:
        sync_linear(client, Warehouse(warehouse_path), world.workspace_id)
    return time.perf_counter() - started


def github_sync(world, warehouse_path: str, streams: tuple[str, ...]) -> tuple[float, dict]:
    """Every repository (4 at a time, as the ingest-github flow maps them); seconds and counts."""
    from pmflow.settings import github_settings
    from tasks.github import WarehouseHttpCache, github_client, merge_counts, sync_repo
    from warehouse import Warehouse

    settings = github_settings()
    started = time.perf_counter()
    wh = Warehouse(warehouse_path)
    wh.ensure_schema()

    def one(repo: str) -> dict:
        repo_wh = Warehouse(warehouse_path)
        cache = WarehouseHttpCache(repo_wh, settings.tenant)
        with github_client(settings, cache) as client:
            return sync_repo(client, repo_wh, settings.tenant, repo, cache=cache, streams=streams,
                             concurrency=settings.concurrency, batch_rows=settings.batch_rows)

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = merge_counts(pool.map(one, settings.repo_list))
    return time.perf_counter() - started, {k: v.inserted + v.updated for k, v in counts.items()}


def rows_per_table(warehouse_path: str) -> dict[str, int]:
    from warehouse import Warehouse

    wh = Warehouse(warehouse_path)
    return {table: wh.query(f"SELECT count(*) FROM {table}")[0][0] for table in CORE_TABLES}


# ---- dlt, in its own virtualenv ---------------------------------------------------------------------

def dlt_python() -> Path:
    python = DLT_VENV / "bin" / "python"
    ready = python.exists() and subprocess.run([str(python), "-c", "import dlt, duckdb"], capture_output=True,
                                                check=False).returncode == 0
    if not ready:
        venv.EnvBuilder(with_pip=True, clear=python.exists()).create(DLT_VENV)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "dlt[duckdb]"], check=True)
    return python


def dlt_run(python: Path, sandbox: Sandbox, world, workdir: str) -> dict:
    config = {"repos": world.github_repos, "base_url": f"{sandbox.url}/github", "token": world.github_token,
              "db": f"{workdir}/dlt.duckdb", "dir": f"{workdir}/pipelines"}
    started = time.perf_counter()
    done = subprocess.run([str(python), "-c", DLT_SCRIPT, json.dumps(config)], capture_output=True, text=True,
                          env={**os.environ, "RUNTIME__LOG_LEVEL": "ERROR"}, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dlt failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"s": result["s"], "process_s": wall, "rows": result["rows"]}


def github_requests(stats: dict) -> int:
    return sum(stats["requests"].get("github", {}).values())


def counted(sandbox: Sandbox, world, run) -> tuple[object, int, int]:
    """(run's result, GitHub requests the sandbox received, how many were 304s). A 304 does not spend
    the rate limit, so the 304s are the requests minus the growth of /rate_limit's ``used``."""
    def used() -> int:
        answer = httpx.get(f"{sandbox.url}/github/rate_limit", timeout=60,
                           headers={"Authorization": f"Bearer {world.github_token}"})
        return answer.json()["rate"]["used"]

    before = used()
    sandbox.reset()
    result = run()
    requests = github_requests(sandbox.stats())
    return result, requests, requests - (used() - before)


# ---- one workspace ----------------------------------------------------------------------------------

def three_changes(world) -> list[tuple[str, dict]]:
    """Three PR changes, in different repositories when there are three: retitle, reopen, review."""
    repos = world.github_repos
    pick = [repos[i % len(repos)] for i in range(3)]
    pulls = {repo: [p for _, p in world.github.pulls(repo)] for repo in repos}
    merged = next(p for p in reversed(pulls[pick[0]]) if p.merged_at)
    closed = next((p for p in pulls[pick[1]] if p.state == "closed" and not p.merged_at), None)
    reopen = ("github_reopen_pr", {"repo": pick[1], "number": closed.number}) if closed else \
        ("github_update_pr", {"repo": pick[1], "number": pulls[pick[1]][-1].number, "body": "edited"})
    reviewed = next(p for p in reversed(pulls[pick[2]]) if p.state == "open" or p.merged_at)
    return [("github_update_pr", {"repo": pick[0], "number": merged.number, "title": "Renamed for the benchmark"}),
            reopen,
            ("github_add_review", {"repo": pick[2], "number": reviewed.number, "state": "COMMENTED", "body": "late"})]


def measure(seed: int, size: str, python: Path) -> dict:
    from connectors.sandbox.world import World

    world = World.generate(seed, int(size) if size.isdigit() else size)
    assert world.github.repos  # same seed, same organisation as the sandbox process serves
    sandbox = Sandbox(seed, size)
    result: dict = {"size": size, "github_repos": len(world.github_repos)}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            # 1. every source, full, one thread per source
            all_wh = f"{scratch}/all.duckdb"
            configure(sandbox, world, all_wh)
            sandbox.reset()
            timings: dict[str, float] = {}

            def timed(name, function, *args):
                timings[name] = function(*args)

            started = time.perf_counter()
            threads = [threading.Thread(target=timed, args=("slack", slack_full, world, all_wh)),
                       threading.Thread(target=timed, args=("linear", linear_full, world, all_wh)),
                       threading.Thread(target=timed, args=("github", lambda: github_sync(world, all_wh, (
                           "issues", "pulls", "reviews", "events", "comments"))[0]))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            result["all_sources_s"] = round(time.perf_counter() - started, 2)
            result["seconds_per_source"] = {k: round(v, 2) for k, v in sorted(timings.items())}
            stats = sandbox.stats()
            result["requests_per_source"] = {service: sum(endpoints.values())
                                             for service, endpoints in stats["requests"].items()}
            result["rows_per_table"] = rows_per_table(all_wh)

            # 2. GitHub's PR and issue streams, pmflow then dlt, each from scratch
            peer_wh = f"{scratch}/github.duckdb"
            configure(sandbox, world, peer_wh)
            pulls_and_issues = ("issues", "pulls")
            (pmflow_s, _), pmflow_requests, _ = counted(sandbox, world, lambda: github_sync(world, peer_wh, pulls_and_issues))
            dlt_full, dlt_requests, _ = counted(sandbox, world, lambda: dlt_run(python, sandbox, world, scratch))
            pmflow_rows = rows_per_table(peer_wh)

            # 3. three PRs change; both run again
            for name, kwargs in three_changes(world):
                sandbox.mutate(name, **kwargs)
            (pmflow_incremental_s, changed), pmflow_incremental, pmflow_incremental_304 = counted(
                sandbox, world, lambda: github_sync(world, peer_wh, pulls_and_issues))
            dlt_incremental, dlt_incremental_requests, dlt_incremental_304 = counted(
                sandbox, world, lambda: dlt_run(python, sandbox, world, scratch))

            # 4. nothing changed since: both run once more
            _, pmflow_unchanged, pmflow_unchanged_304 = counted(
                sandbox, world, lambda: github_sync(world, peer_wh, pulls_and_issues))
            _, dlt_unchanged, dlt_unchanged_304 = counted(sandbox, world, lambda: dlt_run(python, sandbox, world, scratch))

            configure(sandbox, world, all_wh)
            sandbox.reset()
            _, all_changed = github_sync(world, all_wh, ("issues", "pulls", "reviews", "events", "comments"))
            all_streams = sandbox.stats()["requests"].get("github", {})
            _, all_unchanged, all_unchanged_304 = counted(sandbox, world, lambda: github_sync(
                world, all_wh, ("issues", "pulls", "reviews", "events", "comments")))

            result.update({
                "pmflow_s": round(pmflow_s, 2),
                "dlt_s": round(dlt_full["s"], 2),
                "speedup_vs_dlt": round(dlt_full["s"] / pmflow_s, 2),
                "dlt_process_s": round(dlt_full["process_s"], 2),
                "pmflow_full_requests": pmflow_requests,
                "dlt_full_requests": dlt_requests,
                "pmflow_rows": {"core.github_issues": pmflow_rows["core.github_issues"],
                                "core.github_pull_requests": pmflow_rows["core.github_pull_requests"]},
                "dlt_rows": dlt_full["rows"],
                "pmflow_incremental_requests": pmflow_incremental,
                "dlt_incremental_requests": dlt_incremental_requests,
                "pmflow_incremental_304": pmflow_incremental_304,
                "dlt_incremental_304": dlt_incremental_304,
                "pmflow_unchanged_requests": pmflow_unchanged,
                "pmflow_unchanged_304": pmflow_unchanged_304,
                "dlt_unchanged_requests": dlt_unchanged,
                "dlt_unchanged_304": dlt_unchanged_304,
                "pmflow_incremental_s": round(pmflow_incremental_s, 2),
                "dlt_incremental_s": round(dlt_incremental["s"], 2),
                "pmflow_incremental_rows_changed": changed,
                "pmflow_incremental_requests_all_streams": sum(all_streams.values()),
                "pmflow_incremental_all_streams_by_endpoint": all_streams,
                "pmflow_incremental_all_streams_rows_changed": all_changed,
                "pmflow_unchanged_requests_all_streams": all_unchanged,
                "pmflow_unchanged_304_all_streams": all_unchanged_304,
            })
    finally:
        sandbox.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="default,30000", help="workspace sizes: the default one and a 10x one")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    python = dlt_python()
    runs = [measure(args.seed, size.strip(), python) for size in args.sizes.split(",") if size.strip()]
    headline = runs[0]
    output = {key: headline[key] for key in ("pmflow_s", "dlt_s", "speedup_vs_dlt", "pmflow_incremental_requests",
                                             "dlt_incremental_requests")}
    output["load_average"] = [round(x, 2) for x in os.getloadavg()]
    output["workspaces"] = runs
    print(json.dumps(output))


if __name__ == "__main__":
    main()
