"""Every GitHub path and parameter the connector uses exists in the official REST description
(../shared/contracts/github, a 2022-07-18 subset of octokit/openapi), and what the sandbox serves on
each of them validates against the description's response schemas."""
from __future__ import annotations

import copy
import json

import httpx
import jsonschema
import pytest

from connectors.github import GitHubClient
from connectors.sandbox import CONTRACTS_DIR
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from tasks.github import WarehouseHttpCache, sync_repo
from warehouse import Warehouse

SPEC = CONTRACTS_DIR / "github" / "github-rest-subset-2022-07-18.json"


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(SPEC.read_text())


@pytest.fixture(scope="module")
def operations(spec) -> dict[str, dict]:
    """OpenAPI path -> {"params": {query parameter names}, "path": {path parameter names}, "schema": 200 schema}."""
    components = spec["components"]["parameters"]
    result = {}
    for path, methods in spec["paths"].items():
        operation = methods["get"]
        params = [components[p["$ref"].split("/")[-1]] if "$ref" in p else p for p in operation.get("parameters", [])]
        content = operation["responses"]["200"].get("content", {}).get("application/json", {})
        result[path] = {"query": {p["name"] for p in params if p["in"] == "query"},
                        "path": {p["name"] for p in params if p["in"] == "path"}, "schema": content.get("schema")}
    return result


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A full sync of every repository, then an incremental one after a few changes; the sandbox's log."""
    world = World.generate(seed=3, size="tiny")
    wh = Warehouse(tmp_path_factory.mktemp("github-contract") / "w.duckdb")
    with SandboxServer(world) as server:
        def sync():
            for repo in world.github_repos:
                cache = WarehouseHttpCache(wh, world.workspace_id)
                with GitHubClient(world.github_token, server.github_api_url, cache=cache, cache_bodies=False,
                                  per_page=5) as client:  # several pages: page is sent too
                    sync_repo(client, wh, world.workspace_id, repo, cache=cache)
        sync()
        repo = world.github_repos[0]
        pull = world.github.pulls(repo)[-1][1]
        world.github_update_pr(repo, pull.number, title="retitled")
        world.github_add_comment(repo, pull.number, "a new comment")
        sync()
        with GitHubClient(world.github_token, server.github_api_url) as client:
            client.pull(repo, pull.number)  # the fallback for a PR the listing missed
            client.rate_limit()
        yield world, server, list(server.request_log), list(server.service("github").served)


def test_every_request_the_connector_sends_is_in_the_contract(operations, synced):
    _, _, log, served = synced
    github = [r for r in log if r.service == "github"]
    assert {r.endpoint for r in github} >= {
        "/repos/{owner}/{repo}/issues", "/repos/{owner}/{repo}/pulls", "/repos/{owner}/{repo}/pulls/{pull_number}",
        "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "/repos/{owner}/{repo}/issues/{issue_number}/timeline",
        "/repos/{owner}/{repo}/issues/comments", "/repos/{owner}/{repo}/pulls/comments", "/rate_limit"}
    for request in github:
        assert request.http_method == "GET"
        assert request.endpoint in operations, f"{request.endpoint} is not in the GitHub REST description"
        unknown = set(request.params) - operations[request.endpoint]["query"]
        assert not unknown, f"{request.endpoint} sent parameters the contract does not know: {unknown}"
    sent = {p for r in github for p in r.params}
    assert {"state", "sort", "direction", "per_page", "page", "since"} <= sent
    assert all(entry.api_version == "2022-11-28" and entry.accept == "application/vnd.github+json" for entry in served)
    assert {entry.status for entry in served} >= {200, 304}


def _openapi_to_jsonschema(node):
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _openapi_to_jsonschema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_what_the_sandbox_serves_validates_against_the_response_schemas(spec, operations, synced):
    world, server, _, _ = synced
    root = _openapi_to_jsonschema(copy.deepcopy(spec))
    repo = world.github_repos[0]
    big = max((p for _, p in world.github.pulls(repo)), key=lambda p: len(p.commits))
    issue = world.github.issues(repo)[0][1]
    concrete = {"owner": repo.split("/")[0], "repo": repo.split("/")[1], "pull_number": big.number,
                "issue_number": big.number}
    headers = {"Authorization": f"Bearer {world.github_token}", "X-GitHub-Api-Version": "2022-11-28"}
    checked = 0
    for path, operation in operations.items():
        url = server.github_api_url + path.format(**concrete)
        for target in ([url] if "{issue_number}" not in path else [url, url.replace(f"/{big.number}", f"/{issue.number}")]):
            answer = httpx.get(target, params={"per_page": 100, "state": "all"} if path.endswith(("/issues", "/pulls")) else {},
                               headers=headers)
            assert answer.status_code == 200, (target, answer.text[:200])
            assert answer.headers["ETag"].startswith('W/"')
            for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used"):
                assert header in answer.headers
            validator = jsonschema.Draft7Validator({**root, **operation["schema"]})
            errors = sorted(validator.iter_errors(answer.json()), key=lambda e: list(e.absolute_path))
            assert not errors, f"{path}: {errors[0].message} at {list(errors[0].absolute_path)}"
            checked += 1
    assert checked >= 13


def test_errors_are_served_as_github_does(synced):
    world, server, _, _ = synced
    url = server.github_api_url + f"/repos/{world.github_repos[0]}/pulls"
    missing = httpx.get(url)
    assert missing.status_code == 401 and missing.json()["message"] == "Requires authentication"
    bad = httpx.get(url, headers={"Authorization": "token not-a-github-token"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    unknown = httpx.get(server.github_api_url + "/repos/nobody/nothing/pulls", headers={"Authorization": f"token {world.github_token}"})
    assert unknown.status_code == 404 and unknown.json()["message"] == "Not Found"
