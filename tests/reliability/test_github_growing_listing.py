"""A GitHub listing that grows by a page between two runs: the page that used to be the last is
answered 304 (its body did not change) with a Link header that now has a `next`. The client must
follow the 304's links, not the ones stored with the cached ETag, or the new page is never read.

Found by the fault matrix (tests/reliability/test_fault_matrix_linear_github.py): with 2 items per
page, retitling 5 PRs adds a `renamed` event to each timeline, and the 3 timelines whose last page
was full lost their new event.
"""
from __future__ import annotations

from connectors.sandbox.world import World
from pmflow.settings import github_settings
from tasks.github import WarehouseHttpCache, github_client, sync_repo
from tests.support.github_truth import github_differences
from warehouse import Warehouse


def sync(world, wh: Warehouse) -> None:
    for repo in world.github_repos:
        cache = WarehouseHttpCache(wh, world.workspace_id)
        with github_client(github_settings(), cache) as client:
            sync_repo(client, wh, world.workspace_id, repo, cache=cache)


def test_a_new_page_after_a_full_last_page_is_read_on_the_next_run(sandbox, warehouse_path, monkeypatch):
    monkeypatch.setenv("GITHUB_PER_PAGE", "2")
    world = World.generate(seed=44, size="tiny")
    server = sandbox(world)
    wh = Warehouse(warehouse_path)
    sync(world, wh)
    assert github_differences(world, wh) == []

    repo = world.github_repos[0]
    full_last_page = 0
    for _, pull in list(world.github.pulls(repo))[:5]:
        before = len([e for e in world.expected_github_rows()["core.github_pr_events"]
                      if e["repo"] == repo and e["number"] == pull.number])
        full_last_page += before % 2 == 0
        world.github_update_pr(repo, pull.number, title=f"{pull.title} (renamed)")
    assert full_last_page > 0, "no timeline ended on a full page: the case is not exercised"
    server.reset_stats()
    sync(world, wh)
    assert github_differences(world, wh) == []
