"""Slack ingestion against the sandbox: ground truth, idempotence, incremental reads, faults."""
from __future__ import annotations

import pytest

from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.world import World
from flows.ingest import ingest_slack
from tests.support.slack_truth import slack_differences, stored_messages
from warehouse import Warehouse

HISTORY = ("conversations.history", "conversations.replies")


def history_requests(server) -> int:
    return sum(server.stats()["requests"].get("slack", {}).get(m, 0) for m in HISTORY)


def test_default_workspace_equals_ground_truth_and_a_second_run_changes_nothing(sandbox, warehouse_path):
    world = World.generate(seed=7, size="default")
    sandbox(world)
    first = ingest_slack()
    wh = Warehouse(warehouse_path)
    assert slack_differences(world, wh) == []
    assert first["slack.messages"].inserted == len(world.expected_slack_messages())

    before = stored_messages(wh)
    second = ingest_slack()
    assert (second["slack.messages"].inserted, second["slack.messages"].updated) == (0, 0)
    assert stored_messages(wh) == before
    assert wh.query("SELECT count(*) FROM core.slack_messages") == [(len(before),)]


def _threads_by_age(world, channel):
    """Parents with replies in `channel`, newest first, with their age behind the channel's newest message."""
    rows = [r for r in world.expected_slack_messages() if r["channel_id"] == channel]
    newest = max(float(r["ts"]) for r in rows if r["thread_ts"] in (None, r["ts"]))
    parents = [r for r in rows if r["reply_count"] > 0 and not r["is_deleted"]]
    return [(r, (newest - float(r["ts"])) / 86400) for r in sorted(parents, key=lambda r: r["ts"], reverse=True)]


def _busiest_channel(world):
    counts = {}
    for r in world.expected_slack_messages():
        counts[r["channel_id"]] = counts.get(r["channel_id"], 0) + 1
    return max(counts, key=counts.get)


def test_incremental_run_sees_new_messages_late_replies_edits_and_deletions(sandbox, warehouse_path):
    world = World.generate(seed=11, size="tiny")
    sandbox(world)
    ingest_slack()
    wh = Warehouse(warehouse_path)

    channel = _busiest_channel(world)
    top_level = sorted((r for r in world.expected_slack_messages() if r["channel_id"] == channel
                        and r["thread_ts"] is None and not r["is_deleted"]), key=lambda r: r["ts"])
    recent_thread = next(r for r, age in _threads_by_age(world, channel) if age < 14)
    to_edit, to_delete = top_level[-1], top_level[-2]

    world.post_message(channel, "new work: the export job times out for large teams")
    world.add_reply(channel, recent_thread["ts"], "late reply: still happening on v2")
    world.edit_message(channel, to_edit["ts"], "edited: ENG-1 is the ticket for this")
    world.delete_message(channel, to_delete["ts"])

    counts = ingest_slack()["slack.messages"]
    assert slack_differences(world, wh, deleted={(channel, to_delete["ts"])}) == []
    assert counts.inserted == 2  # the new message and the late reply


def test_replies_to_threads_older_than_the_rescan_window_need_a_wider_window(sandbox, warehouse_path, monkeypatch):
    """A pull connector cannot see a new reply on a thread it no longer re-lists (Slack has no
    "threads with new replies" listing): SLACK_RESCAN_DAYS is that horizon, and widening it works."""
    world = World.generate(seed=11, size="tiny")
    sandbox(world)
    ingest_slack()
    channel = _busiest_channel(world)
    old_thread, age_days = _threads_by_age(world, channel)[-1]
    assert age_days > 1
    world.add_reply(channel, old_thread["ts"], "a reply to an old thread")

    monkeypatch.setenv("SLACK_RESCAN_DAYS", str(age_days + 1))
    ingest_slack()
    assert slack_differences(world, Warehouse(warehouse_path)) == []


def test_incremental_request_count_does_not_grow_with_older_history(sandbox, warehouse_path):
    world = World.generate(seed=5, size="tiny")
    server = sandbox(world)
    ingest_slack()

    server.reset_stats()
    ingest_slack()
    baseline = history_requests(server)

    added = world.grow_old_history(10)
    assert added > 0
    server.reset_stats()
    ingest_slack()
    assert history_requests(server) == baseline


def test_transient_faults_on_ten_percent_of_requests_still_reach_ground_truth(sandbox, warehouse_path, monkeypatch):
    monkeypatch.setenv("SLACK_TIMEOUT_S", "1")
    world = World.generate(seed=7, size="default")
    faults = FaultPlan(rate=0.1, seed=3, retry_after_s=1, timeout_delay_s=1.5, slow_delay_s=0.2)
    server = sandbox(world, faults=faults)
    ingest_slack()
    assert slack_differences(world, Warehouse(warehouse_path)) == []
    injected = server.stats()["faults"]
    assert {"ratelimit", "server_error", "timeout"} <= set(injected), injected


def test_malformed_records_are_quarantined_and_the_rest_loads(sandbox, warehouse_path):
    world = World.generate(seed=7, size="tiny", bad_records=6)
    sandbox(world)
    counts = ingest_slack()["slack.messages"]
    wh = Warehouse(warehouse_path)
    assert slack_differences(world, wh) == []
    quarantined = wh.query("SELECT reason FROM ops.quarantine WHERE source = 'slack' AND stream = 'messages'")
    assert len(quarantined) == len(world.bad_slack_records()) == 6
    assert all(reason for (reason,) in quarantined)
    assert counts.quarantined == 6
    assert counts.read == counts.loaded + counts.quarantined
