"""The Linear syncs without Prefect: quarantine, the workspace id, incremental cost against workspace
size, the overlap, and a crash in the middle of a run."""
from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.linear import LinearClient
from connectors.sandbox.linear_data import ms
from connectors.sandbox.world import World
from tasks.linear import identify_linear_workspace, linear_client, sync_issues, sync_linear
from tests.support.linear_truth import linear_differences
from warehouse import Warehouse

REASONS = {"unknown state type": "'paused' is not a Linear state type", "missing fields": "identifier is missing",
           "deleted user": "is not a known Linear user", "invalid timestamp": "is not an ISO 8601 timestamp"}


def requests(server) -> dict[str, int]:
    return server.stats()["requests"].get("linear", {})


def test_bad_records_are_quarantined_with_reasons_and_the_rest_loads(sandbox, warehouse_path):
    world = World.generate(seed=7, size="tiny")
    bad = world.add_linear_bad_records()
    server = sandbox(world)
    wh = Warehouse(warehouse_path)
    with linear_client() as client:
        counts = sync_linear(client, wh, world.workspace_id)
    assert linear_differences(world, wh) == []
    quarantined = {key: (stream, reason) for stream, key, reason in wh.query(
        "SELECT stream, record_key, reason FROM ops.quarantine WHERE source = 'linear'")}
    assert set(quarantined) == {r["record_key"] for r in bad}
    for record in bad:
        stream, reason = quarantined[record["record_key"]]
        assert stream == record["stream"] and REASONS[record["reason"]] in reason, (record, reason)
    assert sum(c.quarantined for c in counts.values()) == len(bad) == 8
    assert all(c.read == c.loaded + c.quarantined for c in counts.values())
    # Unassigned tickets are not bad: they load, with a NULL assignee.
    assert wh.query("SELECT count(*) FROM core.linear_issues WHERE assignee_id IS NULL")[0][0] > 0
    # A reference to an unknown user first re-reads the users (once per stream that meets it).
    assert requests(server)["LinearUsers"] == 2


def test_workspace_id_is_the_setting_or_else_the_organization_id(sandbox, monkeypatch):
    world = World.generate(seed=7, size="tiny")
    sandbox(world)
    assert identify_linear_workspace.fn() == world.workspace_id  # LINEAR_WORKSPACE_ID, set by the fixture
    monkeypatch.delenv("LINEAR_WORKSPACE_ID")
    assert identify_linear_workspace.fn() == world.linear.organization.id


def change_five_tickets(world) -> None:
    pieces = {i.set_piece: i for i in world.linear.issues.values() if i.set_piece}
    world.move_ticket(pieces["moved_back"].identifier, back=True)
    world.move_ticket(pieces["reopened"].identifier, "In Progress")
    world.archive_ticket(pieces["canceled"].identifier)
    world.update_ticket(pieces["unassigned"].identifier, priority=1)
    world.update_ticket(pieces["sub_issue"].identifier, title="Flaky again")
    world.edit_ticket_comment(pieces["moved_back"].comment_ids[0], "edited: the fix was reverted")


def test_incremental_requests_do_not_grow_with_the_workspace(sandbox, warehouse_path, tmp_path):
    measured = {}
    for size in ("tiny", 2000):  # 20 tickets, then 200
        world = World.generate(seed=11, size=size)
        server = sandbox(world)
        wh = Warehouse(tmp_path / f"{size}.duckdb")
        with LinearClient(world.linear_api_key, server.linear_api_url) as client:
            sync_linear(client, wh, world.workspace_id)
            full = sum(requests(server).values())
            change_five_tickets(world)
            server.reset_stats()
            sync_linear(client, wh, world.workspace_id)
        assert linear_differences(world, wh) == []
        measured[size] = (full, requests(server))
        server.stop()
    (tiny_full, tiny_incremental), (big_full, big_incremental) = measured["tiny"], measured[2000]
    assert big_full > tiny_full
    assert tiny_incremental == big_incremental == {"LinearCatalog": 1, "LinearIssues": 1, "LinearComments": 1}


def test_the_overlap_catches_a_change_committed_late(sandbox, warehouse_path):
    """A write that becomes visible after the run that should have seen it, with an updatedAt just
    before that run's newest: read again thanks to the overlap, missed without it."""
    world = World.generate(seed=7, size="tiny")
    sandbox(world)
    wh = Warehouse(warehouse_path)
    with linear_client() as client:
        sync_linear(client, wh, world.workspace_id)
    cursor = max(i.updated_at for i in world.linear.issues.values())
    late = min(world.linear.issues.values(), key=lambda i: i.updated_at)
    late.title = "renamed, committed late"
    late.updated_at = ms(cursor - timedelta(minutes=3))
    with linear_client() as client:
        sync_issues(client, wh, world.workspace_id, overlap=timedelta(0))
        assert wh.query("SELECT title FROM core.linear_issues WHERE issue_id = ?", [late.id]) != [(late.title,)]
        sync_issues(client, wh, world.workspace_id, overlap=timedelta(minutes=10))
    assert wh.query("SELECT title FROM core.linear_issues WHERE issue_id = ?", [late.id]) == [(late.title,)]


class CrashingClient(LinearClient):
    """Dies after serving ``pages`` pages of issues, as a killed process would."""

    pages = 2

    def issues(self, since):
        for number, page in enumerate(super().issues(since)):
            if number == self.pages:
                raise KeyboardInterrupt("killed")
            yield page


def test_a_crash_mid_run_keeps_the_cursor_and_the_rerun_lands_on_the_ground_truth(sandbox, warehouse_path):
    world = World.generate(seed=7, size="tiny")
    server = sandbox(world)
    wh = Warehouse(warehouse_path)
    with CrashingClient(world.linear_api_key, server.linear_api_url, issue_page_size=4) as client:
        with pytest.raises(KeyboardInterrupt):
            sync_issues(client, wh, world.workspace_id, overlap=timedelta(minutes=10), batch_rows=4)
    assert 0 < wh.query("SELECT count(*) FROM core.linear_issues")[0][0] < len(world.tickets)  # batches landed
    assert wh.cursor(world.workspace_id, "linear", "issues") is None  # but not the cursor
    with linear_client() as client:
        sync_linear(client, wh, world.workspace_id)
    assert linear_differences(world, wh) == []
