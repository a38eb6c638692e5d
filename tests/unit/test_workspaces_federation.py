"""The path beyond one warehouse file (benchmarks/scale_federation.py, docs/scale.md): one file per
workspace read through union views has the public schema of one warehouse and the same answers."""
from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warehouse import Batch, Warehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from scale_federation import federated  # noqa: E402


def messages(ws: str) -> Batch:
    rows = [{"workspace_id": ws, "channel_id": "C1", "ts": f"{1700000000 + i}.000100", "text": f"{ws} says {i}",
             "posted_at": datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=i), "is_deleted": False,
             "reply_count": 0} for i in range(5)]
    return Batch(ws, "slack", "messages", "C1", raw=[(r["ts"], r) for r in rows],
                 upserts={"core.slack_messages": rows}, cursor="1700000004.000100")


def build_marts(wh: Warehouse) -> None:
    from pmflow.journeys.build import JourneyParams, build_journeys
    from pmflow.journeys.stages import load_stage_config

    with wh.connect() as con:
        build_journeys(con, load_stage_config(), JourneyParams(as_of=datetime(2026, 11, 20, tzinfo=UTC)))


def columns(con, table: str) -> list[tuple]:
    schema, name = table.split(".")
    return con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = current_database() "
                       "AND table_schema = ? "
                       "AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall()


def test_one_file_per_workspace_reads_like_one_warehouse(tmp_path):
    from connectors.sandbox.server import SandboxServer
    from connectors.sandbox.world import World
    from tasks.linear import run_linear_sync

    world = World.generate(7, "tiny")
    shared = Warehouse(tmp_path / "shared.duckdb")
    files = {ws: Warehouse(tmp_path / f"{ws}.duckdb") for ws in ("T1", "T2")}
    with SandboxServer(world) as server:  # the same Linear org under two workspace ids: colliding keys
        for ws, wh in files.items():
            for target in (wh, shared):
                run_linear_sync(server.linear_api_url, world.linear_api_key, str(target.path), workspace_id=ws)
                target.write(messages(ws))
            build_marts(wh)
    build_marts(shared)

    queries = [
        "SELECT workspace_id, channel_id, ts, text FROM core.slack_messages ORDER BY ALL",
        "SELECT workspace_id, partition_key, cursor FROM ops.sync_state ORDER BY ALL",
        "SELECT workspace_id, ticket_id, current_stage FROM marts.ticket_journeys ORDER BY ALL",
    ]
    with shared.read() as one, federated([w.path for w in files.values()]) as union:
        for sql in queries:
            expected = one.execute(sql).fetchall()
            assert expected and union.execute(sql).fetchall() == expected, sql
        for table in ("core.slack_messages", "core.linear_issues", "marts.ticket_journeys", "ops.sync_state"):
            assert columns(union, table) == columns(one, table), table
    assert Warehouse(files["T1"].path).query("SELECT count(*) FROM core.slack_messages") == [(5,)]  # lock released
