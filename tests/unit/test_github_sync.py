"""The per-repository GitHub sync (tasks.github.sync_repo, no Prefect) against the sandbox: ground
truth, 304s for unchanged repositories, incremental changes, late changes, quarantine, crashes,
the primary rate limit."""
from __future__ import annotations

from collections import Counter

import pytest

from connectors.github import GitHubClient
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from tasks.github import STREAMS, WarehouseHttpCache, sync_repo
from tests.support.github_truth import (
    github_differences,
    requests_by_endpoint,
    statuses_by_repo,
)
from warehouse import Warehouse

DETAIL_ENDPOINTS = ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
                    "/repos/{owner}/{repo}/issues/{issue_number}/timeline")


@pytest.fixture(scope="module")
def world():
    return World.generate(seed=7, size="tiny")


@pytest.fixture
def server(world):
    with SandboxServer(world) as server:
        yield server


def sync_all(world, server, wh, *, streams=STREAMS, **client_kwargs) -> dict[str, Counter]:
    """Syncs every repository; returns the inserted/updated/quarantined totals per stream."""
    totals: dict[str, Counter] = {}
    for repo in world.github_repos:
        cache = WarehouseHttpCache(wh, world.workspace_id)
        with GitHubClient(world.github_token, server.github_api_url, cache=cache, cache_bodies=False,
                          **client_kwargs) as client:
            counts = sync_repo(client, wh, world.workspace_id, repo, cache=cache, streams=streams)
        for stream, c in counts.items():
            totals.setdefault(stream, Counter()).update(inserted=c.inserted, updated=c.updated,
                                                        quarantined=c.quarantined, read=c.read)
    return totals


def reset(server):
    server.reset_stats()
    server.service("github").reset_log()


def test_full_sync_equals_ground_truth_then_unchanged_repos_are_answered_304_only(tmp_path):
    world = World.generate(seed=7, size="tiny")  # its own: other tests mutate the module's world
    with SandboxServer(world) as server:
        wh = Warehouse(tmp_path / "wh.duckdb")
        totals = sync_all(world, server, wh)
        assert github_differences(world, wh) == []
        expected = world.expected_github_rows()
        assert totals["github.pulls"]["inserted"] == len(expected["core.github_pull_requests"])
        assert totals["github.events"]["inserted"] == len(expected["core.github_pr_events"])
        tables = dict(wh.query("SELECT 'n', count(*) FROM core.github_pr_events"))
        assert tables["n"] == len(expected["core.github_pr_events"])

        used = _rate_used(server, world)
        reset(server)
        again = sync_all(world, server, wh)
        statuses = statuses_by_repo(server)
        assert set(statuses) == set(world.github_repos)
        assert all(set(counts) == {304} and counts[304] == 3 for counts in statuses.values()), statuses
        assert all(c["inserted"] == c["updated"] == 0 for c in again.values())
        assert _rate_used(server, world) == used  # a 304 is free


def _rate_used(server, world) -> int:
    import httpx

    answer = httpx.get(server.github_api_url + "/rate_limit", headers={"Authorization": f"token {world.github_token}"})
    return answer.json()["rate"]["used"]


def test_changes_to_three_prs_cost_requests_in_proportion_and_late_changes_are_seen(world, server, tmp_path):
    wh = Warehouse(tmp_path / "wh.duckdb")
    sync_all(world, server, wh)
    repo, other = world.github_repos[0], world.github_repos[1]
    pulls = [p for _, p in world.github.pulls(repo)]
    closed = next(p for p in pulls if p.state == "closed" and p.merged_at is None)
    merged = [p for p in pulls if p.merged_at is not None][-2:]
    comment = next(c for c in world.github.repo(repo).comments.values() if c.kind == "review")
    world.github_reopen_pr(repo, closed.number)                                   # a PR reopened
    world.github_update_pr(repo, merged[0].number, title="Renamed after review")  # a PR retitled
    world.github_add_review(repo, merged[1].number, "COMMENTED", body="late thought")  # a review added
    world.github_edit_comment(repo, comment.id, "edited long after", kind="review")  # a comment edited

    reset(server)
    totals = sync_all(world, server, wh)
    assert github_differences(world, wh) == []
    row = wh.query("SELECT state, closed_at FROM core.github_pull_requests WHERE repo = ? AND number = ?",
                   [repo, closed.number])
    assert row == [("open", None)]
    assert wh.query("SELECT body FROM core.github_comments WHERE comment_id = ?", [comment.id]) == [("edited long after",)]
    assert totals["github.reviews"]["inserted"] == 1 and totals["github.pulls"]["updated"] == 3

    by_endpoint = requests_by_endpoint(server)
    assert sum(by_endpoint[e] for e in DETAIL_ENDPOINTS) == 6  # reviews + timeline of the 3 changed PRs
    assert by_endpoint["/repos/{owner}/{repo}/pulls"] == 1      # one page of the listing, for all three
    assert sum(by_endpoint.values()) == 3 * len(world.github_repos) + 1 + 6
    assert set(statuses_by_repo(server)[other]) == {304}     # the untouched repository: 304s only

    reset(server)  # nothing changed since: every repository, the changed one too, answers 304s only
    sync_all(world, server, wh)
    assert {status for counts in statuses_by_repo(server).values() for status in counts} == {304}


def test_a_cursor_stays_while_its_listing_is_small_and_moves_up_when_it_grows(tmp_path):
    world = World.generate(seed=7, size="tiny")
    with SandboxServer(world) as server:
        wh = Warehouse(tmp_path / "wh.duckdb")
        repo = world.github_repos[0]

        def sync():
            cache = WarehouseHttpCache(wh, world.workspace_id)
            with GitHubClient(world.github_token, server.github_api_url, cache=cache, cache_bodies=False,
                              per_page=6) as client:  # a listing of more than 3 moves the cursor
                sync_repo(client, wh, world.workspace_id, repo, cache=cache)

        def cursor():
            return wh.cursor(world.workspace_id, "github", "issues", repo)

        sync()
        first = cursor()
        pulls = [p for _, p in world.github.pulls(repo)]
        world.github_update_pr(repo, pulls[0].number, body="one change")
        sync()
        assert cursor() == first  # the listing at the cursor holds two items: it stays
        for pull in pulls[1:4]:
            world.github_update_pr(repo, pull.number, body="more changes")
        sync()
        assert cursor() > first  # five items: it moves up to the newest
        expected = {(r["number"], r["body"]) for r in world.expected_github_rows()["core.github_pull_requests"]
                    if r["repo"] == repo}
        assert set(wh.query("SELECT number, body FROM core.github_pull_requests")) == expected


def test_malformed_records_are_quarantined_with_reasons_and_the_rest_loads(tmp_path):
    world = World.generate(seed=7, size="tiny")
    with SandboxServer(world) as server:
        wh = Warehouse(tmp_path / "wh.duckdb")
        sync_all(world, server, wh)
        bad = world.github_add_bad_records(4)
        world.github_add_comment(world.github_repos[0], world.github.pulls(world.github_repos[0])[0][1].number, "ok")
        totals = sync_all(world, server, wh)
        assert github_differences(world, wh) == []
        rows = wh.query("SELECT stream, record_key, reason FROM ops.quarantine WHERE source = 'github' ORDER BY stream, reason")
        assert sorted(stream for stream, _, _ in rows) == sorted(b["stream"] for b in bad)
        for record in bad:  # the reason names the field the sandbox broke
            field = record["reason"].split()[0]
            assert any(stream == record["stream"] and field in reason for stream, _, reason in rows), (record, rows)
        assert sum(c["quarantined"] for c in totals.values()) == 4
        assert totals["github.comments"]["inserted"] == 1
        sync_all(world, server, wh)  # quarantine is idempotent too
        assert len(wh.query("SELECT * FROM ops.quarantine WHERE source = 'github'")) == 4


def test_a_crash_mid_sync_then_a_rerun_lands_where_one_clean_run_would(world, server, tmp_path, monkeypatch):
    wh = Warehouse(tmp_path / "wh.duckdb")
    calls = Counter()
    original = GitHubClient.timeline

    def failing_timeline(self, repo, number):
        calls["n"] += 1
        if calls["n"] == 12:
            raise RuntimeError("the process died here")
        return original(self, repo, number)

    monkeypatch.setattr(GitHubClient, "timeline", failing_timeline)
    with pytest.raises(RuntimeError):
        sync_all(world, server, wh)
    assert wh.query("SELECT count(*) FROM ops.sync_state WHERE source = 'github' AND stream = 'issues'") == [(0,)]
    monkeypatch.setattr(GitHubClient, "timeline", original)
    sync_all(world, server, wh)
    assert github_differences(world, wh) == []


def test_the_primary_rate_limit_is_waited_out(tmp_path):
    world = World.generate(seed=7, size="tiny")
    with SandboxServer(world) as server:
        service = server.service("github")
        service.rate_limit, service.rate_window_s = 3, 1.0  # 3 requests a second
        wh = Warehouse(tmp_path / "wh.duckdb")
        repo = world.github_repos[0]
        with GitHubClient(world.github_token, server.github_api_url, per_page=4) as client:
            sync_repo(client, wh, world.workspace_id, repo, streams=("issues",))
            assert client.stats.rate_limit_waits >= 1
        assert 403 not in {e.status for e in service.served}  # it waited instead of being refused
        issues = [r for r in world.expected_github_rows()["core.github_issues"] if r["repo"] == repo]
        assert wh.query("SELECT count(*) FROM core.github_issues") == [(len(issues),)]


def test_a_subset_of_streams(world, server, tmp_path):
    wh = Warehouse(tmp_path / "wh.duckdb")
    totals = sync_all(world, server, wh, streams=("issues", "pulls"))
    assert set(totals) == {"github.issues", "github.pulls"}
    assert wh.query("SELECT count(*) FROM core.github_pr_events") == [(0,)]
    assert wh.query("SELECT count(*) FROM core.github_pull_requests WHERE first_commit_at IS NOT NULL") == [(0,)]
    assert not any(e in requests_by_endpoint(server) for e in DETAIL_ENDPOINTS)


def test_a_changed_pr_the_listing_does_not_show_is_fetched_alone(tmp_path, monkeypatch):
    world = World.generate(seed=7, size="tiny")
    with SandboxServer(world) as server:
        wh = Warehouse(tmp_path / "wh.duckdb")
        sync_all(world, server, wh)
        repo = world.github_repos[0]
        number = world.github.pulls(repo)[0][1].number
        world.github_update_pr(repo, number, title="changed while the listing was served")
        monkeypatch.setattr(GitHubClient, "pulls", lambda self, repo, per_page=None: iter(()))
        reset(server)
        sync_all(world, server, wh)
        assert requests_by_endpoint(server)["/repos/{owner}/{repo}/pulls/{pull_number}"] == 1
        assert github_differences(world, wh) == []
