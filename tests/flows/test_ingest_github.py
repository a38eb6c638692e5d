"""The ingest-github flow against the sandbox: ground truth under 10% transient faults, incremental
request counts after changes to three PRs, 304s for unchanged repositories, quarantine."""
from __future__ import annotations

from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.world import World
from flows.ingest import ingest_github
from tests.support.github_truth import (
    github_differences,
    requests_by_endpoint,
    statuses_by_repo,
)
from warehouse import Warehouse

DETAILS = ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "/repos/{owner}/{repo}/issues/{issue_number}/timeline")


def test_ten_percent_faults_reach_ground_truth_then_three_changed_prs_cost_a_handful_of_requests(
        sandbox, warehouse_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TIMEOUT_S", "1")
    world = World.generate(seed=7, size=1500)  # half the default workspace: ~190 PRs, ~400 requests
    faults = FaultPlan(rate=0.1, seed=3, retry_after_s=1, timeout_delay_s=1.5, slow_delay_s=0.2)
    server = sandbox(world, faults=faults)
    counts = ingest_github()
    wh = Warehouse(warehouse_path)
    assert github_differences(world, wh) == []
    expected = world.expected_github_rows()
    assert counts["github.pulls"].inserted == len(expected["core.github_pull_requests"])
    assert counts["github.events"].inserted == len(expected["core.github_pr_events"])
    assert counts["github.comments"].inserted == len(expected["core.github_comments"])
    injected = server.stats()["faults"]
    assert {"ratelimit", "server_error", "timeout", "malformed_json"} <= set(injected), injected
    full_requests = server.stats()["total"]

    # Three PRs change in one repository: reopened, retitled, reviewed; and a comment is edited.
    server.faults = None
    repo = world.github_repos[0]
    pulls = [p for _, p in world.github.pulls(repo)]
    reopened = next(p for p in pulls if p.state == "closed" and p.merged_at is None)
    retitled, reviewed = [p for p in pulls if p.merged_at is not None][-2:]
    comment = next(c for c in world.github.repo(repo).comments.values() if c.kind == "issue")
    world.github_reopen_pr(repo, reopened.number)
    world.github_update_pr(repo, retitled.number, title="Renamed: clearer title")
    world.github_add_review(repo, reviewed.number, "CHANGES_REQUESTED", body="one more thing")
    world.github_edit_comment(repo, comment.id, "edited after the merge")
    server.reset_stats()
    server.service("github").reset_log()

    counts = ingest_github()
    assert github_differences(world, wh) == []
    assert (counts["github.pulls"].updated, counts["github.reviews"].inserted, counts["github.comments"].updated) == (3, 1, 1)
    by_endpoint = requests_by_endpoint(server)
    incremental = server.stats()["total"]
    # per repository: /issues, /issues/comments, /pulls/comments; for the changed one: one /pulls page
    # and each changed PR's reviews and timeline.
    assert incremental == 3 * len(world.github_repos) + 1 + 2 * 3, by_endpoint
    assert sum(by_endpoint[e] for e in DETAILS) == 6
    assert incremental < full_requests / 20
    statuses = statuses_by_repo(server)
    for other in world.github_repos[1:]:
        assert set(statuses[other]) == {304}, (other, statuses[other])


def test_malformed_records_are_quarantined_and_the_rest_loads(sandbox, warehouse_path):
    world = World.generate(seed=11, size="tiny")
    bad = world.github_add_bad_records(6)
    sandbox(world)
    counts = ingest_github()
    wh = Warehouse(warehouse_path)
    assert github_differences(world, wh) == []
    quarantined = wh.query("SELECT stream, reason FROM ops.quarantine WHERE source = 'github'")
    assert len(quarantined) == len(bad) == 6
    assert all(reason for _, reason in quarantined)
    assert sum(c.quarantined for c in counts.values()) == 6
    assert all(c.read == c.loaded + c.quarantined for c in counts.values())
