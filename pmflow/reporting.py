"""What the command line prints after a run: load counts and a summary of the warehouse."""
from __future__ import annotations

from collections.abc import Mapping

from warehouse import LoadCounts, Warehouse


def print_load_counts(counts: Mapping[str, LoadCounts]) -> None:
    print(f"{'stream':<24}{'read':>10}{'loaded':>10}{'inserted':>10}{'updated':>10}{'quarantined':>12}")
    for stream, c in sorted(counts.items()):
        print(f"{stream:<24}{c.read:>10}{c.loaded:>10}{c.inserted:>10}{c.updated:>10}{c.quarantined:>12}")


def print_warehouse_summary(wh: Warehouse) -> None:
    """Row counts of every core and marts table, and how to query them."""
    tables = wh.query(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema IN ('core', 'marts', 'ops') AND table_type = 'BASE TABLE' ORDER BY 1"
    )
    print(f"\nWarehouse: {wh.path}")
    for (table,) in tables:
        (rows,) = wh.query(f"SELECT count(*) FROM {table}")[0]
        if rows or table.startswith("core."):
            print(f"  {table:<36}{rows:>10,} rows")
    print(
        "\nQuery it (read-only):\n"
        '  python3 dev.py sql "SELECT name, count(*) AS messages FROM core.slack_messages '
        'JOIN core.slack_channels USING (workspace_id, channel_id) GROUP BY name ORDER BY 2 DESC"\n'
        f"  or, with the DuckDB CLI: duckdb -readonly {wh.path}"
    )
