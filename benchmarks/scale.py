"""Scale benchmark: many sandbox workspaces at a realistic API latency, N concurrent extraction workers.

For each workspace count (1, 10, 50) it generates that many worlds (each its own seed, size "tiny"
by default: ~60 messages, 4 channels, a dozen threads), serves each from its own SandboxServer with
`--latency-ms` per request (100 by default), configures them as PMFLOW_WORKSPACES=ws000,ws001,...
with per-workspace credentials (WS000_SLACK_BOT_TOKEN, WS000_SLACK_API_URL), and for each worker
count (1, 2, 4, 8) runs a full Slack extraction + load of every workspace into a fresh warehouse:
the plain functions of tasks/fanout.py (slack_setup per workspace, then slack_channel per channel,
each channel submitted as soon as its workspace's setup returns) on a thread pool of W workers
(`--runner threads`, default) or on a local Dask cluster (`--runner dask`: 2 worker processes x W/2
threads). Writes go to one DuckDB file through the Warehouse's file lock, as in the flow.

What is timed: wall clock from the first request to the last committed batch (the warehouse's
migrations are applied before the clock starts). requests = HTTP requests the sandboxes answered.

Prints JSON: one entry per configuration (messages/s, requests/s, seconds, requests, messages) and
speedup_4_workers = throughput(10 workspaces, 4 workers) / throughput(10 workspaces, 1 worker).

    .venv/bin/python benchmarks/scale.py                      # everything (a few minutes)
    .venv/bin/python benchmarks/scale.py --workspaces 10 --workers 1,4
    .venv/bin/python benchmarks/scale.py --skip 50x1          # leave out slow combinations
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.sandbox.server import SandboxServer  # noqa: E402
from connectors.sandbox.world import World  # noqa: E402
from tasks import fanout  # noqa: E402  (Prefect and the connectors imported before any clock starts)
from warehouse import LoadCounts, Warehouse  # noqa: E402


def configure(servers: list[SandboxServer]) -> list[str]:
    names = [f"ws{i:03d}" for i in range(len(servers))]
    os.environ["PMFLOW_WORKSPACES"] = ",".join(names)
    os.environ["PMFLOW_SECRET_BLOCKS"] = "0"
    for name, server in zip(names, servers):
        os.environ[f"{name.upper()}_SLACK_BOT_TOKEN"] = server.world.slack_bot_token
        os.environ[f"{name.upper()}_SLACK_API_URL"] = server.slack_api_url
    return names


def run_threads(names: list[str], wh_path: str, workers: int) -> tuple[int, int]:
    """(messages read, channels) with a thread pool of `workers`."""
    from tasks.fanout import GroupCommitWarehouse, slack_channel, slack_setup

    wh = GroupCommitWarehouse(wh_path)
    messages = channels = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(slack_setup, n, wh): ("setup", n) for n in names}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                kind, name = pending.pop(future)
                result = future.result()
                if kind == "setup":
                    for channel_id in result.channel_ids:
                        pending[pool.submit(slack_channel, name, result.workspace_id, channel_id, wh)] = ("channel", name)
                else:
                    messages += result.read
                    channels += 1
    return messages, channels


def _dask_setup(name: str, wh_path: str):
    from tasks.fanout import shared_warehouse, slack_setup

    return slack_setup(name, shared_warehouse(wh_path))


def _dask_channel(name: str, workspace_id: str, channel_id: str, wh_path: str) -> LoadCounts:
    from tasks.fanout import shared_warehouse, slack_channel

    return slack_channel(name, workspace_id, channel_id, shared_warehouse(wh_path))


def run_dask(client, names: list[str], wh_path: str) -> tuple[int, int]:
    from distributed import as_completed

    setups = {client.submit(_dask_setup, n, wh_path, pure=False): n for n in names}
    messages = channels = 0
    stream = as_completed(list(setups))
    for future in stream:
        result = future.result()
        if isinstance(result, LoadCounts):
            messages += result.read
            channels += 1
        else:
            for channel_id in result.channel_ids:
                stream.add(client.submit(_dask_channel, result.workspace, result.workspace_id, channel_id, wh_path,
                                         pure=False))
    return messages, channels


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspaces", default="1,10,50")
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--size", default="tiny", help='world size per workspace: "tiny" or a message count')
    parser.add_argument("--runner", choices=("threads", "dask"), default="threads")
    parser.add_argument("--skip", default="", help="combinations to leave out, e.g. 50x1,50x2")
    args = parser.parse_args(argv)
    workspace_counts = [int(x) for x in args.workspaces.split(",")]
    worker_counts = [int(x) for x in args.workers.split(",")]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    results, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="pmflow-scale-") as tmp:
        for n in workspace_counts:
            worlds = [World.generate(1000 + i, args.size) for i in range(n)]
            servers = [SandboxServer(w, latency_s=args.latency_ms / 1000).start() for w in worlds]
            try:
                names = configure(servers)
                for workers in worker_counts:
                    if f"{n}x{workers}" in skip:
                        skipped.append(f"{n}x{workers}")
                        continue
                    wh_path = str(Path(tmp) / f"wh-{n}-{workers}.duckdb")
                    with Warehouse(wh_path).connect():
                        pass  # migrations before the clock
                    for s in servers:
                        s.reset_stats()
                    client = cluster = None
                    if args.runner == "dask":
                        from distributed import Client, LocalCluster

                        fanout.disable_dask_profiler()
                        cluster = LocalCluster(n_workers=min(2, workers), threads_per_worker=max(1, workers // 2),
                                               dashboard_address=None, processes=True)
                        client = Client(cluster)
                    started = time.perf_counter()
                    try:
                        if client is not None:
                            messages, channels = run_dask(client, names, wh_path)
                        else:
                            messages, channels = run_threads(names, wh_path, workers)
                    finally:
                        seconds = time.perf_counter() - started
                        if client is not None:
                            client.close()
                            cluster.close()
                    requests = sum(s.stats()["total"] for s in servers)
                    stored = Warehouse(wh_path).query("SELECT count(*), count(DISTINCT workspace_id) FROM core.slack_messages")[0]
                    results.append({
                        "workspaces": n, "workers": workers, "seconds": round(seconds, 2),
                        "requests": requests, "messages": messages, "channels": channels,
                        "messages_stored": stored[0], "workspaces_stored": stored[1],
                        "messages_per_s": round(messages / seconds, 1), "requests_per_s": round(requests / seconds, 1),
                    })
                    print(json.dumps(results[-1]), file=sys.stderr, flush=True)
            finally:
                for s in servers:
                    s.stop()

    def throughput(n: int, w: int) -> float | None:
        return next((r["requests_per_s"] for r in results if r["workspaces"] == n and r["workers"] == w), None)

    base, four = throughput(10, 1), throughput(10, 4)
    report = {
        "benchmark": "scale",
        "path": f"Slack extraction + load (tasks/fanout.py plain functions) on {args.runner}",
        "latency_ms": args.latency_ms, "world_size": args.size,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
        "configurations": results,
        "skipped": skipped,
        "speedup_4_workers": round(four / base, 2) if base and four else None,
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
