"""Slack fault matrix: each fault either leaves the run complete at the ground truth, or makes it
fail with a clear message while the warehouse and the cursors stay exactly as they were."""
from __future__ import annotations

import pytest

from connectors.errors import PaginationError
from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.world import World
from flows.ingest import ingest_slack
from tests.support.slack_truth import slack_differences, warehouse_snapshot
from warehouse import Warehouse

SURVIVABLE = ["ratelimit", "server_error", "timeout", "reset", "malformed_json", "ok_false", "slow",
              "empty_page", "duplicate_page"]

pytestmark = pytest.mark.usefixtures("prefect_api_url")


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setenv("SLACK_PAGE_SIZE", "5")  # many pages per channel, so page faults have room
    monkeypatch.setenv("SLACK_TIMEOUT_S", "1")


@pytest.mark.parametrize("kind", SURVIVABLE)
def test_run_completes_at_ground_truth_despite(kind, sandbox, warehouse_path, small_pages):
    world = World.generate(seed=31, size="tiny")
    faults = FaultPlan(rate=0.25, kinds=(kind,), seed=7, retry_after_s=0, timeout_delay_s=1.5, slow_delay_s=0.1)
    server = sandbox(world, faults=faults)
    ingest_slack()
    assert server.stats()["faults"].get(kind, 0) > 0, f"no {kind} fault was injected"
    assert slack_differences(world, Warehouse(warehouse_path)) == []


def test_a_cursor_that_repeats_forever_stops_the_run_and_changes_nothing(sandbox, warehouse_path, small_pages):
    world = World.generate(seed=32, size="tiny")
    server = sandbox(world)
    ingest_slack()
    wh = Warehouse(warehouse_path)
    for channel in world.expected_slack_channels():
        if not channel["is_archived"]:
            world.post_message(channel["channel_id"], "fresh news that a looping run must not half-load")
    before = warehouse_snapshot(wh)

    server.faults = FaultPlan(rate=1.0, kinds=("repeat_cursor",), endpoints={"conversations.history"})
    with pytest.raises(PaginationError, match="served the cursor .* twice"):
        ingest_slack()
    assert warehouse_snapshot(wh) == before
