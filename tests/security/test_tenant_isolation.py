"""Tenant isolation: several workspaces in one warehouse never see each other's rows.

Three sandbox workspaces go through the whole pipeline into one warehouse:
- A (seed 71);
- B, the same world as A under another workspace id: every channel id, message ts, ticket
  identifier and id, repository, PR number and agent trace collides with A's;
- C (seed 72), a different company whose identifiers partly collide with A's (ENG-12 exists in both).
A alone in its own warehouse is the reference. Then, for EVERY table and view in marts.*: A's rows in
the shared warehouse equal A's rows alone (so no join, count or window picked up B's or C's rows),
and B's rows equal A's with the workspace id swapped (same input, same output); and A's standups
mention no ticket, person, channel or repository that only C has.
"""
from __future__ import annotations

import json
import math
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from connectors.sandbox.linear_api import schema_path
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from tests.support.pipeline_env import pipeline_env
from warehouse import Warehouse

pytestmark = [pytest.mark.usefixtures("prefect_api_url"),
              pytest.mark.skipif(not schema_path().exists(), reason=f"Linear schema not found at {schema_path()}")]

# Columns that record when a run happened (wall clock), not what the data says.
RUN_TIME_COLUMNS = {"decided_at", "built_at", "generated_at", "computed_at", "refreshed_at", "posted_at",
                    "loaded_at", "flow_run_id", "run_id"}


def run_pipeline(world: World, warehouse_path: Path) -> None:
    from flows.pipeline import pipeline

    with SandboxServer(world) as server, pytest.MonkeyPatch.context() as patch:
        for name, value in pipeline_env(world, server, warehouse_path).items():
            patch.setenv(name, value)
        for name in ("OPENAI_API_KEY", "PMFLOW_ALERT_CHANNEL", "PMFLOW_MATCH_WRITEBACK", "PMFLOW_BUDGETS"):
            patch.delenv(name, raising=False)
        pipeline()


def rebuild_journeys(world: World, warehouse_path: Path) -> None:
    from flows.journeys import journeys

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PMFLOW_WAREHOUSE", str(warehouse_path))
        patch.delenv("PMFLOW_AGENT_TRACES", raising=False)
        journeys(as_of=world.now)


def mart_tables(wh: Warehouse) -> list[str]:
    return [f"marts.{name}" for (name,) in wh.query(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' UNION "
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'marts' ORDER BY 1")]


def rows_of(wh: Warehouse, table: str, workspace_id: str) -> list[dict]:
    """The workspace's rows, run-time columns left out and its own id written <WS>, in a stable order."""
    with wh.connect() as con:
        cursor = con.execute(f"SELECT * FROM {table} WHERE workspace_id = ?", [workspace_id])
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    keep = [i for i, c in enumerate(columns) if c not in RUN_TIME_COLUMNS]
    result = [{columns[i]: value(row[i], workspace_id) for i in keep} for row in rows]
    return sorted(result, key=lambda r: (
        json.dumps({k: v for k, v in r.items() if not isinstance(v, float)}, sort_keys=True, default=str),
        json.dumps(coarse(r), sort_keys=True, default=str)))


def coarse(v):
    """A sort key that float noise cannot reorder."""
    if isinstance(v, float):
        return round(v, 2)
    if isinstance(v, dict):
        return {k: coarse(x) for k, x in v.items()}
    if isinstance(v, list):
        return [coarse(x) for x in v]
    return v


def value(v, workspace_id: str):
    """Comparable values: times as ISO 8601, the workspace's id as <WS>, maps and lists element by element."""
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, str):
        return v.replace(workspace_id, "<WS>")
    if isinstance(v, dict):
        return {str(k): value(x, workspace_id) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [value(x, workspace_id) for x in v]
    return v


def same(x, y) -> bool:
    """Equal, floats within 2e-6: a parallel SUM adds in any order, so its last bits vary by run, and
    a mart that rounds to 6 decimals can land either side of a half (0.1533905 -> 0.15339 or 0.153391)."""
    if isinstance(x, float) or isinstance(y, float):
        return isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isclose(x, y, rel_tol=1e-9,
                                                                                            abs_tol=2e-6)
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y))
    return x == y


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory):
    a = World.generate(seed=71, size="tiny")
    b = World.generate(seed=71, size="tiny")
    b.slack.team_id = "TCOLLIDE" + a.workspace_id[-3:]  # everything else identical to A
    c = World.generate(seed=72, size="tiny")
    assert len({a.workspace_id, b.workspace_id, c.workspace_id}) == 3
    alone = tmp_path_factory.mktemp("alone") / "warehouse.duckdb"
    run_pipeline(a, alone)
    # The pipeline's journeys step runs before its costs step, so marts.agent_activity shows a run's
    # model calls from the next rebuild on; the shared runs below rebuild A's journeys after A's
    # costs, so the reference is rebuilt once more too.
    rebuild_journeys(a, alone)
    shared = tmp_path_factory.mktemp("shared") / "warehouse.duckdb"
    shutil.copyfile(alone, shared)
    for world in (b, c):  # each later run rebuilds the whole-warehouse marts: A's included
        run_pipeline(world, shared)
    return {"a": a, "b": b, "c": c, "alone": Warehouse(alone), "shared": Warehouse(shared)}


def test_every_mart_holds_the_same_rows_for_a_workspace_alone_or_shared(warehouses):
    a, b, c = warehouses["a"], warehouses["b"], warehouses["c"]
    alone, shared = warehouses["alone"], warehouses["shared"]
    tables = mart_tables(shared)
    assert len(tables) >= 15, tables
    problems, filled = [], 0
    for table in tables:
        columns = [r[0] for r in shared.query(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = ?",
            [table.split(".")[1]])]
        if "workspace_id" not in columns:
            problems.append(f"{table} has no workspace_id column")
            continue
        expected = rows_of(alone, table, a.workspace_id)
        filled += bool(expected)
        if not same(rows_of(shared, table, a.workspace_id), expected):
            problems.append(f"{table}: A's rows changed when B and C joined the warehouse")
        if not same(rows_of(shared, table, b.workspace_id), expected):
            problems.append(f"{table}: B's rows (A's data under another id) differ from A's")
        foreign = shared.query(f"SELECT count(*) FROM {table} WHERE workspace_id NOT IN (?, ?, ?)",
                               [a.workspace_id, b.workspace_id, c.workspace_id])[0][0]
        if foreign:
            problems.append(f"{table}: {foreign} rows under no known workspace")
    assert problems == []
    assert filled >= 12, f"only {filled} marts hold rows for A: the comparison would prove little"


def test_a_standup_mentions_nothing_that_only_another_workspace_has(warehouses):
    a, c, shared = warehouses["a"], warehouses["c"], warehouses["shared"]
    standups = shared.query("SELECT workspace_id, team, markdown, blocks_json FROM marts.standups")
    mine = [(m, blocks) for ws, _, m, blocks in standups if ws == a.workspace_id]
    assert mine and {ws for ws, *_ in standups} >= {a.workspace_id, c.workspace_id}

    def words(world: World) -> set[str]:
        linear = world.expected_linear_rows()
        names = {u["real_name"] for u in world.expected_slack_users() if u["real_name"]}
        return ({r["identifier"] for r in linear["core.linear_issues"]} | names
                | {"#" + ch["name"] for ch in world.expected_slack_channels()}
                | {r["title"] for r in linear["core.linear_issues"]} | set(world.github_repos))

    only_c = words(c) - words(a)
    assert len(only_c) > 20, only_c
    leaks = [(w, markdown.splitlines()[0]) for markdown, blocks in mine for w in only_c
             if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", markdown + "\n" + blocks)]
    assert leaks == []
