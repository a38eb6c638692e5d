"""The costs flow end to end against the sandbox (OpenAI usage/costs, agent traces, Slack alerts):
ground truth loaded, budgets alerted once per threshold (counted at the sandbox's chat.postMessage),
artifacts published, and a second run changing nothing and posting nothing."""
from __future__ import annotations

import json

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from connectors.sandbox.openai_data import ADMIN_KEY, org_for
from connectors.sandbox.world import World
from flows.costs import costs
from warehouse import Warehouse


def posts(server) -> int:
    return server.stats()["requests"].get("slack", {}).get("chat.postMessage", 0)


def test_costs_flow_against_the_sandbox(sandbox, warehouse_path, tmp_path, monkeypatch):
    world = World.generate(7, "tiny")
    server = sandbox(world)
    org = org_for(world)
    traces, budgets, prices = tmp_path / "traces.jsonl", tmp_path / "budgets.yaml", tmp_path / "prices.yaml"
    org.write_agent_traces(traces)
    channel = world.expected_slack_channels()[0]["name"]
    budgets.write_text(f"alerts:\n  channel: '#{channel}'\nbudgets:\n  - name: total\n    monthly_limit_usd: 60\n")
    prices.write_text("overrides: []\n")
    for name, value in {"OPENAI_ADMIN_KEY": ADMIN_KEY, "OPENAI_BASE_URL": server.openai_base_url,
                        "PMFLOW_AGENT_TRACES": str(traces), "PMFLOW_BUDGETS": str(budgets),
                        "PMFLOW_PRICE_OVERRIDES": str(prices), "PMFLOW_WORKSPACE_ID": world.workspace_id,
                        "PMFLOW_COST_CHARTS_DIR": str(tmp_path / "charts")}.items():
        monkeypatch.setenv(name, value)
    before = posts(server)

    state = costs(as_of=world.now.date(), now=world.now.timestamp(), return_state=True)

    assert state.is_completed()
    result = state.result()
    wh = Warehouse(warehouse_path)
    assert result["openai_usage"].inserted == len(org.expected_usage())
    assert result["openai_costs"].inserted == len(org.expected_costs())
    assert result["agent_traces"].inserted == len(org.agent_calls)
    assert result["agent_traces"].quarantined == len(org.bad_trace_lines)
    status = wh.query("SELECT spent_usd, limit_usd, soft_crossed_by, hard_crossed_by FROM marts.budget_status "
                      "WHERE period = '2026-11'")[0]
    crossed = [t for t in status[2:] if t is not None]
    assert crossed and [a["threshold"] for a in result["alerts"]["sent"]] == ["soft", "hard"][: len(crossed)]
    assert posts(server) - before == len(crossed)
    flagged = {(d, p) for d, p in wh.query("SELECT day, project FROM marts.cost_reconciliation WHERE status = 'drift'")}
    assert flagged == {key for key, factor in org.drifted.items() if factor > 1.05}
    assert wh.query("SELECT model FROM marts.cost_unpriced_models") == [("acme-coder-7b",)]
    chart = tmp_path / "charts" / "spend_vs_budget_2026-11.png"
    assert chart.exists() and chart.stat().st_size > 1000

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    by_key = {a.key: a for a in artifacts}
    assert set(by_key) == {"cost-daily", "cost-unpriced-models", "cost-reconciliation", "spend-vs-budget"}
    assert json.loads(by_key["cost-daily"].data)[0]["day"] == "2026-11-20"
    assert chart.name in by_key["spend-vs-budget"].data

    again = costs(as_of=world.now.date(), now=world.now.timestamp())
    for source in ("openai_usage", "openai_costs", "agent_traces"):
        assert (again[source].inserted, again[source].updated) == (0, 0), source
    assert again["pricing"]["rows_repriced"] == 0 and again["alerts"]["sent"] == []
    assert posts(server) - before == len(crossed)
