"""The sandbox's GitHub: a deterministic organisation coherent with the work plan, its edge cases,
mutations, and the REST behaviours clients rely on (pagination, ETags, rate limits, faults)."""
from __future__ import annotations

import re

import httpx
import pytest

from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.github_data import timeline
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World


@pytest.fixture(scope="module")
def world():
    return World.generate(seed=7, size="tiny")


def test_generation_is_deterministic_and_leaves_slack_alone():
    a, b = World.generate(seed=5, size="tiny"), World.generate(seed=5, size="tiny")
    slack_before = a.expected_slack_messages()
    assert a.expected_github_rows() == b.expected_github_rows()
    assert a.github_truth == b.github_truth and a.github_token == b.github_token
    assert a.expected_slack_messages() == slack_before == b.expected_slack_messages()
    assert World.generate(seed=6, size="tiny").expected_github_rows() != a.expected_github_rows()


def test_the_organisation_is_coherent_with_the_work_plan(world):
    slug = world.company.slug
    assert 2 <= len(world.github_repos) <= 4 and all(r.startswith(f"{slug}/") for r in world.github_repos)
    identifiers = {t.identifier for t in world.tickets}
    truth = world.github_truth
    assert {ticket for ticket in truth.values() if ticket} <= identifiers
    logins = {p.github_login for p in world.people} | {"ghost", "dependabot[bot]", "github-actions[bot]"}
    rows = world.expected_github_rows()
    assert {r["author"] for r in rows["core.github_pull_requests"]} <= logins
    cited = uncited = 0
    for row in rows["core.github_pull_requests"]:
        ticket = truth[(row["repo"], row["number"])]
        if ticket:
            text = " ".join(filter(None, (row["head_ref"], row["title"], row["body"])))
            mentions = re.search(rf"\b{ticket}\b", text, re.IGNORECASE) or ticket.lower() in (row["head_ref"] or "")
            cited, uncited = cited + bool(mentions), uncited + (not mentions)
    assert cited > uncited > 0  # most PRs cite their ticket, some only paraphrase it
    assert any(t is None for t in truth.values())
    for row in rows["core.github_pull_requests"]:
        assert row["created_at"] <= row["updated_at"] <= world.now
        assert row["first_commit_at"] is None or row["first_commit_at"] <= row["created_at"]


def test_every_world_has_the_edge_cases(world):
    rows = world.expected_github_rows()
    pulls = [p for _, p in world.github.pulls()]
    events = {e["event"] for e in rows["core.github_pr_events"]}
    assert {"committed", "reviewed", "commented", "closed", "merged", "reopened", "review_requested", "labeled"} <= events
    assert any(p.state == "closed" and p.merged_at is None for p in pulls)
    assert any(p.draft for p in pulls) or any(p.state == "open" for p in pulls)
    assert any(len(timeline(r, p)) > 100 for r, p in world.github.pulls())
    assert {"APPROVED", "CHANGES_REQUESTED", "COMMENTED"} <= {r["state"] for r in rows["core.github_reviews"]}
    assert "ghost" in {r["author"] for r in rows["core.github_reviews"]}
    assert "dependabot[bot]" in {r["author"] for r in rows["core.github_pull_requests"]}
    assert any(c["updated_at"] > c["created_at"] for c in rows["core.github_comments"])
    assert any(c["in_reply_to_id"] for c in rows["core.github_comments"])
    assert "not_planned" in {i["state_reason"] for i in rows["core.github_issues"]}
    assert any(not p["title"].isascii() for p in rows["core.github_pull_requests"])


def test_mutations_move_the_right_timestamps():
    world = World.generate(seed=9, size="tiny")
    repo = world.github_repos[0]
    comments = world.github.repo(repo).comments.values()
    merged = next(p for _, p in world.github.pulls(repo) if p.merged_at and any(c.number == p.number for c in comments))
    comment = next(c for c in comments if c.number == merged.number)
    before = merged.updated_at
    with pytest.raises(ValueError):
        world.github_reopen_pr(repo, merged.number)
    world.github_edit_comment(repo, comment.id, "edited", kind=comment.kind)
    assert merged.updated_at == before and comment.updated_at > world.now  # an edit moves the comment only
    world.github_add_review(repo, merged.number, "APPROVED")
    assert merged.updated_at > comment.updated_at


def api(server, world, path, **params):
    return httpx.get(server.github_api_url + path, params=params, headers={"Authorization": f"Bearer {world.github_token}"})


def test_rest_listings_paginate_filter_and_order_as_github_does(world):
    with SandboxServer(world) as server:
        repo = world.github_repos[0]
        first = api(server, world, f"/repos/{repo}/issues", state="all", per_page=500)
        assert len(first.json()) <= 100
        page = api(server, world, f"/repos/{repo}/issues", state="all", per_page=3, page=2)
        rels = {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', page.headers["Link"])}
        assert set(rels) == {"next", "last", "prev", "first"} and rels["next"].endswith("page=3")
        assert any("pull_request" in item for item in first.json())  # /issues lists PRs too
        everything = api(server, world, f"/repos/{repo}/issues", state="all", sort="updated", direction="desc",
                         per_page=100).json()
        since = everything[4]["updated_at"]
        recent = api(server, world, f"/repos/{repo}/issues", state="all", since=since, per_page=100).json()
        assert {i["number"] for i in recent} == {i["number"] for i in everything if i["updated_at"] >= since}
        ascending = api(server, world, f"/repos/{repo}/pulls", state="all", sort="updated", per_page=100).json()
        stamps = [p["updated_at"] for p in ascending]
        assert stamps == sorted(stamps)  # direction defaults to asc unless sort=created
        assert api(server, world, f"/repos/{repo}/issues", state="sideways").status_code == 422


def test_etags_answer_304_for_free_and_the_primary_limit_runs_out():
    world = World.generate(seed=7, size="tiny")
    with SandboxServer(world) as server:
        server.service("github").rate_limit = 3
        path = f"/repos/{world.github_repos[0]}/pulls"
        first = api(server, world, path)
        assert first.headers["X-RateLimit-Remaining"] == "2" and first.headers["X-RateLimit-Used"] == "1"
        again = httpx.get(server.github_api_url + path, headers={"Authorization": f"token {world.github_token}",
                                                                   "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.content == b"" and again.headers["X-RateLimit-Remaining"] == "2"
        api(server, world, path, state="all")
        api(server, world, path, state="closed")
        spent = api(server, world, path, state="open", page=2)
        assert spent.status_code == 403 and spent.headers["X-RateLimit-Remaining"] == "0"
        assert "rate limit exceeded" in spent.json()["message"]
        assert int(spent.headers["X-RateLimit-Reset"]) > 0


def test_faults_secondary_limits_and_self_linking_pages():
    world = World.generate(seed=7, size="tiny")
    plan = FaultPlan(rate=1.0, kinds=("ratelimit",), retry_after_s=2, max_consecutive=100)
    with SandboxServer(world, faults=plan) as server:
        answers = [api(server, world, f"/repos/{world.github_repos[0]}/pulls") for _ in range(2)]
        assert sorted(a.status_code for a in answers) == [403, 429]
        assert all(a.headers["Retry-After"] == "2" and "secondary rate limit" in a.json()["message"] for a in answers)
    plan = FaultPlan(rate=1.0, kinds=("repeat_cursor",), max_consecutive=100)
    with SandboxServer(world, faults=plan) as server:
        page = api(server, world, f"/repos/{world.github_repos[0]}/issues", state="all", per_page=2)
        next_url = re.search(r'<([^>]+)>; rel="next"', page.headers["Link"]).group(1)
        assert next_url.endswith("page=1")
