"""The match-tickets flow on a tiny sandbox world's ground truth: every unit decided, the artifacts
"ticket-links-today" and "untracked-work" (and the write-back plan in a dry run) published, and a
second run deciding nothing."""
from __future__ import annotations

import json

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from connectors.sandbox.world import World
from flows.match_tickets import match_tickets
from pmflow.matching.calibration import sandbox_warehouse
from warehouse import Warehouse


def artifacts_of(state) -> dict:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    return {a.key: a for a in artifacts}


def test_match_tickets_flow(warehouse_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    world = World.generate(7, "tiny")
    sandbox_warehouse(world, warehouse_path)
    wh = Warehouse(warehouse_path)

    state = match_tickets(writeback="dry_run", return_state=True)
    result = state.result()
    decided = result["workspaces"][world.workspace_id]["match"]
    units = wh.query("SELECT count(*) FROM staging.match_units")[0][0]
    assert decided["units"] == units == wh.query("SELECT count(*) FROM marts.ticket_links")[0][0]
    assert result["workspaces"][world.workspace_id]["writeback"]["mode"] == "dry_run"
    assert wh.query("SELECT count(*) FROM ops.match_actions WHERE status <> 'planned'")[0][0] == 0

    by_key = artifacts_of(state)
    assert {"ticket-links-today", "untracked-work", "ticket-writeback-plan"} <= set(by_key)
    today = json.loads(by_key["ticket-links-today"].data)
    assert len(today) == units and {row["decision"] for row in today} <= {"linked", "suggested", "new_work", "not_work"}
    new_work = wh.query("SELECT count(*) FROM marts.ticket_links WHERE decision = 'new_work'")[0][0]
    assert by_key["untracked-work"].data.startswith("# Untracked work")
    assert by_key["untracked-work"].data.count("\n| ") == new_work + (1 if new_work else 0)

    again = match_tickets()
    assert again["workspaces"][world.workspace_id]["match"]["units"] == 0
    assert again["workspaces"][world.workspace_id]["writeback"] == {"mode": "off"}
