"""Compare the warehouse's Linear tables with the sandbox world's ground truth."""
from __future__ import annotations

from warehouse import Warehouse
from warehouse.tables import natural_key


def stored_rows(wh: Warehouse, table: str, columns: list[str], workspace_id: str) -> dict[tuple, dict]:
    keys = natural_key(table)
    rows = wh.query(f"SELECT {', '.join(columns)} FROM {table} WHERE workspace_id = ?", [workspace_id])
    return {tuple(r[columns.index(k)] for k in keys): dict(zip(columns, r)) for r in rows}


def linear_differences(world, wh: Warehouse, workspace_id: str | None = None, *, limit: int = 20) -> list[str]:
    """Every way the warehouse's Linear tables differ from the world (empty: they agree exactly),
    table by table: missing rows, unexpected rows, and each differing column."""
    workspace_id = workspace_id or world.workspace_id
    problems: list[str] = []
    for table, expected_rows in world.expected_linear_rows(workspace_id).items():
        keys = natural_key(table)
        expected = {tuple(row[k] for k in keys): row for row in expected_rows}
        columns = list(expected_rows[0]) if expected_rows else list(keys)
        stored = stored_rows(wh, table, columns, workspace_id)
        problems += [f"{table}: missing {key}" for key in sorted(expected.keys() - stored.keys())[:limit]]
        problems += [f"{table}: unexpected {key}" for key in sorted(stored.keys() - expected.keys())[:limit]]
        for key in sorted(expected.keys() & stored.keys()):
            for column in columns:
                if expected[key][column] != stored[key][column]:
                    problems.append(f"{table} {key} {column}: expected {expected[key][column]!r}, "
                                    f"stored {stored[key][column]!r}")
    return problems[: limit * 5]


def linear_row_counts(world, workspace_id: str | None = None) -> dict[str, int]:
    return {table: len(rows) for table, rows in world.expected_linear_rows(workspace_id).items()}
