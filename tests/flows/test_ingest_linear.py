"""Linear ingestion against the sandbox: ground truth under faults, idempotence, incremental cost,
late changes, quarantine, the workspace id."""
from __future__ import annotations

import json

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.world import World
from flows.ingest import ingest_linear
from tasks.linear import linear_client, sync_linear
from tests.support.linear_truth import linear_differences, linear_row_counts
from warehouse import Warehouse


def linear_requests(server) -> dict[str, int]:
    return server.stats()["requests"].get("linear", {})


def test_ten_percent_faults_still_reach_ground_truth_and_a_second_run_changes_nothing(sandbox, warehouse_path,
                                                                                     monkeypatch):
    # Smaller pages make more requests (about 30), so that 10% of them is a fair number of faults.
    monkeypatch.setenv("LINEAR_TIMEOUT_S", "1")
    monkeypatch.setenv("LINEAR_ISSUE_PAGE_SIZE", "20")
    monkeypatch.setenv("LINEAR_PAGE_SIZE", "40")
    world = World.generate(seed=7, size="default")
    faults = FaultPlan(rate=0.1, seed=3, retry_after_s=1, timeout_delay_s=1.5, slow_delay_s=0.2)
    server = sandbox(world, faults=faults)
    first = ingest_linear()
    wh = Warehouse(warehouse_path)
    assert linear_differences(world, wh) == []
    injected = server.stats()["faults"]
    assert sum(injected.values()) >= 2, injected
    expected = linear_row_counts(world)
    assert first["linear.issues"].inserted == expected["core.linear_issues"] == len(world.tickets)
    assert first["linear.history"].inserted == expected["core.linear_issue_history"]
    assert first["linear.comments"].inserted == expected["core.linear_comments"]

    server.faults = None
    with linear_client() as client:  # the flow's code again, without Prefect's overhead
        second = sync_linear(client, wh, world.workspace_id)
    assert all((c.inserted, c.updated, c.quarantined) == (0, 0, 0) for c in second.values()), second
    assert linear_differences(world, wh) == []


def load_report(flow_run_id) -> list[dict]:
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["ingest-linear-load-report"]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    assert len(artifacts) == 1
    return json.loads(artifacts[0].data)


def change_five_tickets(world) -> dict:
    """Late and ordinary changes to five old tickets: moved back a state, reopened, archived,
    re-prioritised and reassigned, commented; plus an old comment edited."""
    linear = world.linear
    pieces = {i.set_piece: i for i in linear.issues.values() if i.set_piece}
    moved_back, reopened = pieces["moved_back"], pieces["reopened"]
    world.move_ticket(moved_back.identifier, back=True)  # Done -> In Review
    world.move_ticket(reopened.identifier, "In Progress")  # Done -> In Progress
    world.archive_ticket(pieces["canceled"].identifier)
    someone = next(u.id for u in linear.users.values() if u.active and u.id != pieces["unassigned"].creator_id)
    world.update_ticket(pieces["unassigned"].identifier, priority=1, assignee_id=someone)
    new_comment = world.add_ticket_comment(pieces["long_history"].identifier, "Still flaky on CI, reopening?")
    oldest_comment = min((linear.comments[c] for c in moved_back.comment_ids), key=lambda c: c.created_at)
    world.edit_ticket_comment(oldest_comment.id, "edited long after: the fix was reverted")
    return {"moved_back": moved_back, "comment": oldest_comment, "new_comment": new_comment}


def test_an_incremental_run_reads_only_the_changes_and_misses_no_late_change(sandbox, warehouse_path):
    world = World.generate(seed=11, size="tiny")
    server = sandbox(world)
    with linear_client() as client:  # the full sync without Prefect (the flow's code), to save time
        full = sync_linear(client, Warehouse(warehouse_path), world.workspace_id)
    assert full["linear.issues"].inserted == len(world.tickets)

    changed = change_five_tickets(world)
    server.reset_stats()
    state = ingest_linear(return_state=True)
    counts = state.result()
    wh = Warehouse(warehouse_path)
    report = {row["stream"]: row for row in load_report(state.state_details.flow_run_id)}
    assert set(report) == set(counts) and report["linear.issues"]["updated"] == counts["linear.issues"].updated
    assert linear_differences(world, wh) == []
    # One request per stream: the small streams together, the changed issues with their histories, comments.
    assert linear_requests(server) == {"LinearCatalog": 1, "LinearIssues": 1, "LinearComments": 1}
    assert counts["linear.issues"].updated == 4 and counts["linear.issues"].inserted == 0  # + a comment on the 5th
    assert counts["linear.comments"].inserted == 1 and counts["linear.comments"].updated == 1

    # The late changes themselves, row by row.
    moved = changed["moved_back"]
    (state, state_type), = wh.query("SELECT state_name, state_type FROM core.linear_issues WHERE issue_id = ?",
                                    [moved.id])
    assert (state, state_type) == ("In Review", "started")
    last = wh.query("SELECT from_state, to_state FROM core.linear_issue_history WHERE issue_id = ? "
                    "ORDER BY changed_at DESC LIMIT 1", [moved.id])
    assert last == [("Done", "In Review")]
    (body, edited_at), = wh.query("SELECT body, edited_at FROM core.linear_comments WHERE comment_id = ?",
                                  [changed["comment"].id])
    assert body == "edited long after: the fix was reverted" and edited_at > world.now


def test_the_pipeline_ingests_linear_alongside_slack(sandbox, warehouse_path):
    from flows.pipeline import pipeline

    world = World.generate(seed=7, size="tiny")
    sandbox(world)
    results = pipeline()
    assert results["ingest-linear"]["linear.issues"].inserted == len(world.tickets)
    assert linear_differences(world, Warehouse(warehouse_path)) == []
