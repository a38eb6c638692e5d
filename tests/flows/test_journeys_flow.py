"""The journeys flow end to end on a tiny warehouse: agent events loaded, marts built, artifacts and
charts published (the marts' figures are checked by hand in tests/unit/test_journey_marts.py)."""
from __future__ import annotations

import json

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.journeys import journeys
from tests.unit.test_journey_marts import A1, A2, A3, A4, A5, A6, AS_OF, WS, load
from warehouse import Warehouse


def test_journeys_flow_builds_marts_and_publishes_tables_and_charts(warehouse_path, tmp_path, monkeypatch):
    wh = Warehouse(warehouse_path)
    load(wh, [A1, A2, A3, A4, A5, A6])
    traces = tmp_path / "traces.jsonl"
    traces.write_text(json.dumps({"span_id": "s1", "timestamp": "2024-01-02T10:00:00Z", "attributes": {
        "gen_ai.agent.name": "planner", "pmflow.event_kind": "task", "pmflow.outcome": "ok", "pmflow.ticket": "ENG-A5",
    }}) + "\n")
    monkeypatch.setenv("PMFLOW_AGENT_TRACES", str(traces))
    monkeypatch.setenv("PMFLOW_WORKSPACE_ID", WS)
    monkeypatch.setenv("PMFLOW_JOURNEY_CHARTS_DIR", str(tmp_path / "charts"))

    state = journeys(as_of=AS_OF, return_state=True)

    assert state.is_completed()
    result = state.result()
    assert result["agent_events"].inserted == 1
    assert result["summary"] == {"tickets": 6, "at_risk": 1, "charts": 3, "build_seconds": result["summary"]["build_seconds"]}
    assert wh.query("SELECT agent, tasks, success_rate FROM marts.agent_activity") == [("planner", 1, 1.0)]
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == [
        "journey-cfd-ws1.png", "journey-cycle-time-ws1.png", "journey-funnel-ws1.png"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) == {"journey-funnel", "stuck-work", "journey-charts"}
    stuck = json.loads(by_key["stuck-work"].data)
    assert [(r["identifier"], r["current_stage"]) for r in stuck] == [("ENG-A5", "Execution")]
    assert "journey-funnel-ws1.png" in by_key["journey-charts"].data
