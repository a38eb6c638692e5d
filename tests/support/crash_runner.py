"""Run one ingestion flow in this process, announcing each warehouse write step to a file, and
optionally stop (sleep) at one of them so that a test can SIGKILL the process exactly there.

    python -m tests.support.crash_runner <slack|linear|github> <marker file> [<step>:<occurrence>[:<stream>]]

Steps, in the order one Warehouse.write takes them (one DuckDB transaction):
  begin    the transaction is open, nothing written yet (the row counts of the batch's tables
           are announced: what the warehouse must hold again after a crash inside the transaction)
  merged   a table's rows are merged (inside the transaction)
  cursor   every table of the batch is merged; the cursor update is next
  written  the transaction committed (announced after COMMIT)

The instrumentation is test-only: it wraps warehouse.warehouse's module functions (as
unittest.mock would), production code has no hook. Each announcement is one JSON line. With a
stream, only that stream's steps count towards the occurrence ("cursor:1:issues": the first cursor
update of the issues stream); merged and cursor steps count only in a transaction that has inserted
rows (so the kill has something to undo).
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

ANNOUNCE_LOCK = threading.Lock()


def main(argv: list[str]) -> int:
    source, marker = argv[0], argv[1]
    stop = argv[2].split(":") if len(argv) > 2 else [None, "0"]
    stop_step, stop_at, stop_stream = stop[0], int(stop[1]), (stop[2] if len(stop) > 2 else None)
    from warehouse import warehouse as module

    seen: dict[str, int] = {}
    real_merge, real_set_cursor, real_write_batch = module.merge, module.set_cursor, module._write_batch
    local = threading.local()

    def announce(step: str, **details) -> None:
        # Only steps of a transaction that inserted rows count: a kill there has something to undo.
        counted = ((stop_stream is None or details.get("stream") == stop_stream)
                   and (step not in ("merged", "cursor") or sum(m[1] for m in details.get("merged", [])) > 0))
        with ANNOUNCE_LOCK:
            seen[step] = seen.get(step, 0) + counted
            count = seen[step]
            with open(marker, "a", encoding="utf-8") as out:
                out.write(json.dumps({"step": step, "n": count, "counted": counted, "pid": os.getpid(), **details},
                                     default=str) + "\n")
        if step == stop_step and counted and count == stop_at:
            with open(marker, "a", encoding="utf-8") as out:
                out.write(json.dumps({"step": "stopped", "at": step, "n": count}) + "\n")
            time.sleep(600)  # the test kills the process here

    def write_batch(con, batch, run_id):
        upserts = batch.upserts.items() if hasattr(batch.upserts, "items") else batch.upserts
        tables = sorted({table for table, _ in upserts})
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        counts["ops.quarantine"] = con.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0]
        old = con.execute("SELECT cursor FROM ops.sync_state WHERE workspace_id = ? AND source = ? AND stream = ? "
                          "AND partition_key = ?", [batch.workspace_id, batch.source, batch.stream,
                                                    batch.partition_key]).fetchall()
        local.batch = {"workspace_id": batch.workspace_id, "source": batch.source, "stream": batch.stream,
                       "partition_key": batch.partition_key, "new_cursor": batch.cursor,
                       "old_cursor": old[0][0] if old else None, "counts_before": counts}
        announce("begin", **local.batch)
        return real_write_batch(con, batch, run_id)

    def merge(con, table, rows):
        result = real_merge(con, table, rows)
        batch = getattr(local, "batch", {})
        batch.setdefault("merged", []).append([table, *result])  # (table, inserted, updated) so far
        announce("merged", table=table, **batch)
        return result

    def set_cursor(con, workspace_id, source, stream, partition_key, cursor):
        announce("cursor", **getattr(local, "batch", {}))
        return real_set_cursor(con, workspace_id, source, stream, partition_key, cursor)

    real_write = module.Warehouse.write

    def write(self, batch, *, run_id=None):
        counts = real_write(self, batch, run_id=run_id)
        announce("written", source=batch.source, stream=batch.stream, partition_key=batch.partition_key)
        return counts

    module._write_batch, module.merge, module.set_cursor, module.Warehouse.write = write_batch, merge, set_cursor, write

    from pmflow.prefect_env import apply_prefect_defaults

    apply_prefect_defaults()
    from flows.ingest import ingest_github, ingest_linear, ingest_slack

    {"slack": ingest_slack, "linear": ingest_linear, "github": ingest_github}[source]()
    with open(marker, "a", encoding="utf-8") as out:
        out.write(json.dumps({"step": "finished"}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
