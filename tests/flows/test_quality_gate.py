"""The quality gate in the ingest flow: clean data passes; rows corrupted before validation are
reported (artifact + warning), quarantined with their reason, and the run still completes."""
from __future__ import annotations

import json

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

from connectors.sandbox import SandboxServer, World
from flows.ingest import ingest_slack
from warehouse import Warehouse


@pytest.fixture
def slack_env(monkeypatch, tmp_path):
    world = World.generate(seed=5, size="tiny")
    with SandboxServer(world) as server:
        monkeypatch.setenv("SLACK_API_URL", server.slack_api_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", world.slack_bot_token)
        monkeypatch.setenv("PMFLOW_WAREHOUSE", str(tmp_path / "wh.duckdb"))
        monkeypatch.setenv("SLACK_RESCAN_DAYS", "0")  # the second run re-reads nothing it already has
        yield world, Warehouse(tmp_path / "wh.duckdb")


def quality_artifact(flow_run_id) -> list[dict]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["data-quality-slack"]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    assert len(artifacts) == 1
    return json.loads(artifacts[0].data)


def test_corrupted_rows_are_quarantined_and_reported_while_the_run_completes(slack_env):
    world, wh = slack_env
    first = ingest_slack(return_state=True)
    assert first.is_completed()
    rows = quality_artifact(first.state_details.flow_run_id)
    assert {r["status"] for r in rows} == {"passed"}
    assert {r["table"] for r in rows} == {"core.slack_channels", "core.slack_messages", "core.slack_users"}

    # Corrupt stored rows that the next incremental load will not touch (outside its window).
    oldest = wh.query("SELECT channel_id, ts FROM core.slack_messages ORDER BY posted_at LIMIT 3")
    wh.run_sql("UPDATE core.slack_messages SET reply_count = -1 WHERE channel_id = ? AND ts = ?", list(oldest[0]))
    wh.run_sql("UPDATE core.slack_messages SET posted_at = TIMESTAMPTZ '2099-01-01 00:00:00+00' "
               "WHERE channel_id = ? AND ts = ?", list(oldest[1]))
    wh.run_sql("INSERT INTO core.slack_messages SELECT * FROM core.slack_messages WHERE channel_id = ? AND ts = ?",
               list(oldest[2]))
    messages_before = wh.query("SELECT count(*) FROM core.slack_messages")[0][0]

    second = ingest_slack(return_state=True)

    assert second.is_completed(), "a failed check is a warning, not a failed run"
    rows = quality_artifact(second.state_details.flow_run_id)
    failing = {(r["table"], r["check"]): r for r in rows if r["status"] == "FAILED"}
    assert set(failing) == {
        ("core.slack_messages", "non_negative:reply_count"),
        ("core.slack_messages", "timestamp_sane:posted_at"),
        ("core.slack_messages", "key_unique"),
    }
    assert failing[("core.slack_messages", "key_unique")]["unexpected"] == 2
    assert all(r["problem"] and r["details"] for r in failing.values())
    quarantined = wh.query("SELECT record_key, reason, run_id FROM ops.quarantine WHERE source = 'quality'")
    assert {r[0] for r in quarantined} == {f"{c}/{ts}" for c, ts in oldest}
    assert {r[2] for r in quarantined} == {str(second.state_details.flow_run_id)}
    assert wh.query("SELECT count(*) FROM core.slack_messages")[0][0] == messages_before  # kept in core
    stored = wh.query("SELECT count(*) FROM ops.quality_results WHERE run_id = ? AND NOT success",
                      [str(second.state_details.flow_run_id)])
    assert stored == [(3,)]
