"""Slack ingestion at scale: a 200k-message sandbox workspace, end to end, plus the merge step
against two baselines measured in the same run. Prints one JSON object.

    .venv/bin/python benchmarks/ingest_slack.py [--messages 200000] [--batch-rows 5000]

- messages_per_s: the ingest-slack flow, timed after the Prefect test server is up, against the
  sandbox running in its own process (so its memory is not counted).
- peak_rss_mb: peak resident memory of this process (the flow and its tasks).
- merge_rows_per_s: warehouse.merge (MERGE on the natural key, in-batch dedupe, change detection)
  of the message rows into core.slack_messages, in batches of --batch-rows, interleaved batch by
  batch with the Arrow insert so both run under the same machine load.
- rowwise_rows_per_s: the same rows inserted with executemany, one row per statement (a sample,
  since it is slow). arrow_insert_rows_per_s: a plain INSERT ... SELECT from the same Arrow batches.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pmflow.prefect_env import apply_prefect_defaults  # noqa: E402

apply_prefect_defaults()


def start_sandbox(messages: int) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.sandbox", "serve", "--seed", "7", "--size", str(messages)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    return process, json.loads(process.stdout.readline())


def run_flow(sandbox: dict, warehouse_path: str) -> tuple[float, dict]:
    from prefect.testing.utilities import prefect_test_harness

    os.environ.update(SLACK_API_URL=sandbox["slack_api_url"], SLACK_BOT_TOKEN="xoxb-benchmark",
                      PMFLOW_WAREHOUSE=warehouse_path, SLACK_PAGE_SIZE="999")
    from flows.ingest import ingest_slack

    with prefect_test_harness(server_startup_timeout=90):
        started = time.perf_counter()
        counts = ingest_slack()
        return time.perf_counter() - started, counts


def merge_figures(warehouse_path: str, batch_rows: int, rowwise_sample: int) -> dict:
    import duckdb

    from warehouse.warehouse import merge

    source = duckdb.connect(warehouse_path, read_only=True)
    rows = source.sql("SELECT * FROM core.slack_messages").to_arrow_table()
    source.close()
    batches = [rows.slice(i, batch_rows) for i in range(0, rows.num_rows, batch_rows)]

    with tempfile.TemporaryDirectory() as scratch:
        from warehouse import Warehouse

        wh = Warehouse(Path(scratch) / "merge.duckdb")
        with wh.connect() as con:
            # Interleaved batch by batch, so both see the same machine load.
            con.execute("CREATE TABLE arrow_copy AS SELECT * FROM core.slack_messages LIMIT 0")
            merge_s = arrow_s = 0.0
            for batch in batches:
                started = time.perf_counter()
                con.execute("BEGIN TRANSACTION")
                merge(con, "core.slack_messages", batch)
                con.execute("COMMIT")
                merge_s += time.perf_counter() - started

                started = time.perf_counter()
                con.register("b", batch)
                con.execute("INSERT INTO arrow_copy SELECT * FROM b")
                con.unregister("b")
                arrow_s += time.perf_counter() - started

            con.execute("CREATE TABLE rowwise_copy AS SELECT * FROM core.slack_messages LIMIT 0")
            sample = rows.slice(0, rowwise_sample).to_pylist()
            columns = rows.column_names
            started = time.perf_counter()
            con.executemany(
                f"INSERT INTO rowwise_copy VALUES ({', '.join('?' for _ in columns)})",
                [[r[c] for c in columns] for r in sample],
            )
            rowwise_s = time.perf_counter() - started
    return {
        "merge_rows": rows.num_rows,
        "merge_rows_per_s": round(rows.num_rows / merge_s),
        "arrow_insert_rows_per_s": round(rows.num_rows / arrow_s),
        "rowwise_rows_per_s": round(len(sample) / rowwise_s),
        "rowwise_sample_rows": len(sample),
        "batch_rows": batch_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--batch-rows", type=int, default=5000)
    parser.add_argument("--rowwise-sample", type=int, default=3000)
    args = parser.parse_args()

    sandbox_process, sandbox = start_sandbox(args.messages)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            warehouse_path = str(Path(scratch) / "warehouse.duckdb")
            flow_s, counts = run_flow(sandbox, warehouse_path)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            loaded = counts["slack.messages"].inserted
            result = {
                "messages": loaded,
                "flow_s": round(flow_s, 2),
                "messages_per_s": round(loaded / flow_s),
                "peak_rss_mb": round(peak_rss_mb, 1),
                **merge_figures(warehouse_path, args.batch_rows, args.rowwise_sample),
            }
    finally:
        sandbox_process.terminate()
        sandbox_process.wait(30)
    result["merge_vs_rowwise"] = round(result["merge_rows_per_s"] / result["rowwise_rows_per_s"], 1)
    result["merge_vs_arrow_insert"] = round(result["merge_rows_per_s"] / result["arrow_insert_rows_per_s"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
