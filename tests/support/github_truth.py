"""Compare the warehouse's GitHub tables with the sandbox world's ground truth, and read what the
sandbox's GitHub service was asked."""
from __future__ import annotations

from collections import Counter

from warehouse import Warehouse
from warehouse.tables import natural_key

TABLES = ("core.github_pull_requests", "core.github_issues", "core.github_reviews", "core.github_comments",
          "core.github_pr_events")


def stored_rows(wh: Warehouse, table: str, columns: list[str], workspace_id: str) -> dict[tuple, dict]:
    keys = natural_key(table)
    rows = wh.query(f"SELECT {', '.join(columns)} FROM {table} WHERE workspace_id = ?", [workspace_id])
    return {tuple(r[columns.index(k)] for k in keys): dict(zip(columns, r)) for r in rows}


def github_differences(world, wh: Warehouse, workspace_id: str | None = None, *, limit: int = 8) -> list[str]:
    """Every way the warehouse's GitHub tables differ from the world (at most ``limit`` per table);
    empty when they agree exactly, row for row and column for column."""
    workspace_id = workspace_id or world.workspace_id
    problems = []
    for table, expected_rows in world.expected_github_rows(workspace_id).items():
        keys = natural_key(table)
        columns = list(expected_rows[0]) if expected_rows else list(keys)
        expected = {tuple(r[k] for k in keys): r for r in expected_rows}
        stored = stored_rows(wh, table, columns, workspace_id)
        found = []
        found += [f"{table}: missing {k}" for k in sorted(expected.keys() - stored.keys(), key=str)]
        found += [f"{table}: unexpected {k}" for k in sorted(stored.keys() - expected.keys(), key=str)]
        for key in sorted(expected.keys() & stored.keys(), key=str):
            for column in columns:
                if expected[key][column] != stored[key][column]:
                    found.append(f"{table} {key} {column}: expected {expected[key][column]!r}, "
                                 f"stored {stored[key][column]!r}")
        problems += found[:limit] + ([f"{table}: ... {len(found) - limit} more"] if len(found) > limit else [])
    return problems


def github_service(server):
    return server.service("github")


def served(server) -> list:
    """What the GitHub service answered: (endpoint template, path, query, status) per request."""
    return list(github_service(server).served)


def statuses_by_repo(server) -> dict[str, Counter]:
    """repo ("owner/name") -> Counter of HTTP statuses the service answered for it."""
    result: dict[str, Counter] = {}
    for entry in served(server):
        parts = entry.path.split("/")
        if len(parts) >= 3 and parts[0] == "repos":
            result.setdefault(f"{parts[1]}/{parts[2]}", Counter())[entry.status] += 1
    return result


def requests_by_endpoint(server) -> Counter:
    return Counter(entry.endpoint for entry in served(server))
