"""Beyond one warehouse file: one DuckDB file per workspace, read through one union catalog.

Each workspace writes its own file (a normal pmflow Warehouse: same migrations, same public schema,
its own file lock), so writers of different workspaces never wait for each other. Reports open an
in-memory DuckDB, ATTACH every workspace file READ_ONLY, and define, for every table of the public
schema, a view with the same schema and name (core.slack_messages, marts.ticket_journeys, ...) that
is the UNION ALL BY NAME of that table in every file. SQL written against one warehouse runs unchanged.

`federated(paths)` is the prototype (a context manager yielding the connection). Run as a script it
measures, for N workspace files of `--rows` messages each: the time to attach them and build the
views, and a grouped count over core.slack_messages through the union; prints JSON.

    .venv/bin/python benchmarks/scale_federation.py --workspaces 10,50,200
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from warehouse import Warehouse  # noqa: E402

PUBLIC_SCHEMAS = ("raw", "core", "marts", "ops")


def public_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name IN "
        f"({', '.join('?' for _ in PUBLIC_SCHEMAS)}) ORDER BY 1, 2", [catalog, *PUBLIC_SCHEMAS]).fetchall()


@contextmanager
def federated(paths: Sequence[str | Path], *, lock: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection where `core.x` (and raw/marts/ops) is the union of `x` over every file.

    With lock=True each file's Warehouse lock is held while the connection is open, so no pmflow writer
    has it read-write meanwhile (DuckDB refuses a read-only attach of a file another process writes);
    keep report sessions short. Files must share the schema version (run migrations on all first)."""
    with ExitStack() as stack:
        if lock:
            for path in paths:
                stack.enter_context(Warehouse(path)._locked())
        con = duckdb.connect()
        stack.callback(con.close)
        catalogs = []
        for i, path in enumerate(paths):
            name = f"ws{i}"
            con.execute(f"ATTACH '{Path(path)}' AS {name} (READ_ONLY)")
            catalogs.append(name)
        for schema in PUBLIC_SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS memory.{schema}")
        if catalogs:
            for schema, table in public_tables(con, catalogs[0]):
                union = " UNION ALL BY NAME ".join(f"SELECT * FROM {c}.{schema}.{table}" for c in catalogs)
                con.execute(f"CREATE VIEW memory.{schema}.{table} AS {union}")
        con.execute("USE memory")
        yield con


def _seed_files(directory: Path, n: int, rows: int) -> list[Path]:
    """n migrated warehouse files (copies of one template), each with `rows` messages of its own workspace."""
    template = directory / "template.duckdb"
    Warehouse(template).ensure_schema()
    paths = []
    for i in range(n):
        path = directory / f"ws{i:04d}.duckdb"
        shutil.copy(template, path)
        con = duckdb.connect(str(path))
        con.execute(
            "INSERT INTO core.slack_messages (workspace_id, channel_id, ts, text, posted_at, is_deleted, reply_count) "
            "SELECT ?, 'C' || (r % 8), (1700000000 + r)::VARCHAR || '.000100', 'message ' || r, "
            "TIMESTAMPTZ '2026-11-01 00:00:00+00' + to_seconds(r), false, 0 FROM range(?) t(r)",
            [f"T{i:05d}", rows])
        con.close()
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspaces", default="10,50,200")
    parser.add_argument("--rows", type=int, default=2000, help="messages per workspace file")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="pmflow-federation-") as tmp:
        for n in (int(x) for x in args.workspaces.split(",")):
            directory = Path(tmp) / str(n)
            directory.mkdir()
            paths = _seed_files(directory, n, args.rows)
            started = time.perf_counter()
            with federated(paths) as con:
                attached = time.perf_counter()
                rows = con.execute("SELECT workspace_id, count(*) FROM core.slack_messages GROUP BY 1").fetchall()
                queried = time.perf_counter()
                views = con.execute("SELECT count(*) FROM duckdb_views() WHERE database_name = 'memory' "
                                    "AND NOT internal").fetchone()[0]
            assert len(rows) == n and all(c == args.rows for _, c in rows)
            results.append({"workspaces": n, "rows": n * args.rows, "views": views,
                            "attach_and_views_s": round(attached - started, 3),
                            "grouped_count_s": round(queried - attached, 3)})
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    report = {"benchmark": "scale_federation", "rows_per_workspace": args.rows, "results": results}
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
