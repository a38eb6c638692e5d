"""The sandbox's Linear: a coherent workspace with full histories, served by real GraphQL."""
from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from connectors.sandbox import FaultPlan, SandboxServer, World
from connectors.sandbox.linear_api import LinearService, linear_schema

ALWAYS = dict(rate=1.0, max_consecutive=1)
ISSUES = """query Page($first: Int, $after: String, $filter: IssueFilter, $archived: Boolean) {
  issues(first: $first, after: $after, filter: $filter, orderBy: updatedAt, includeArchived: $archived) {
    nodes { id identifier updatedAt } pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture(scope="module")
def tiny() -> World:
    return World.generate(7, "tiny")


@pytest.fixture(scope="module")
def default() -> World:
    return World.generate(7, "default")


@pytest.fixture(scope="module")
def server(tiny):
    with SandboxServer(tiny) as server:
        yield server


def post(server, world, query, variables=None, *, key=None, operation=None, **kwargs) -> httpx.Response:
    body = {"query": query, "variables": variables or {}}
    if operation:
        body["operationName"] = operation
    return httpx.post(server.linear_api_url, json=body, timeout=10,
                      headers={"Authorization": key if key is not None else world.linear_api_key}, **kwargs)


# -- the generated workspace ---------------------------------------------------------------------


def test_same_seed_same_linear_and_slack_is_untouched():
    a, b = World.generate(3, "tiny"), World.generate(3, "tiny")
    slack_before = a.expected_slack_messages()
    assert a.expected_linear_rows() == b.expected_linear_rows()
    assert a.expected_slack_messages() == slack_before == b.expected_slack_messages()
    assert World.generate(4, "tiny").expected_linear_rows() != a.expected_linear_rows()


def test_tickets_and_people_are_the_world_plan(default):
    issues = default.linear.expected_issues(default.workspace_id)
    assert sorted(i["identifier"] for i in issues) == sorted(t.identifier for t in default.tickets)
    by_identifier = {t.identifier: t for t in default.tickets}
    assert all(i["title"] == by_identifier[i["identifier"]].title for i in issues)
    assert all(i["team_key"] == by_identifier[i["identifier"]].team_key for i in issues)
    users = {u["user_id"]: u for u in default.linear.expected_users(default.workspace_id)}
    slack_emails = {u.email for u in default.slack.users.values() if u.email}
    assert {u["email"] for u in users.values()} == {p.email for p in default.people} <= slack_emails
    assert all(i["creator_id"] in users and (i["assignee_id"] is None or i["assignee_id"] in users) for i in issues)
    assert any(not users[i["assignee_id"]]["is_active"] for i in issues if i["assignee_id"])
    assert any(i["assignee_id"] is None for i in issues)


def test_every_state_type_and_every_kind_of_move(tiny):
    ws = tiny.linear
    states = ws.expected_states(tiny.workspace_id)
    assert {s["type"] for s in states} == {"triage", "backlog", "unstarted", "started", "completed", "canceled"}
    assert all({s["name"] for s in states if s["team_id"] == t.id} >= {"In Progress", "In Review", "Done"}
               for t in ws.teams.values())
    assert {s["type"] for s in states if s["name"] == "In Review"} == {"started"}
    history = ws.expected_history(tiny.workspace_id)
    moves = Counter((h["from_state"], h["to_state"]) for h in history)
    assert moves[("In Review", "In Progress")] and moves[("Done", "In Progress")] and moves[("Done", "Canceled")]
    assert any(to == "Canceled" and before != "Done" for before, to in moves)
    issues = ws.expected_issues(tiny.workspace_id)
    assert any(i["archived_at"] for i in issues) and any(i["parent_id"] for i in issues)
    assert any(i["state_type"] == "triage" for i in issues)
    assert max(len(i.history) for i in ws.issues.values()) > 50  # longer than a history page
    assert any(c["edited_at"] for c in ws.expected_comments(tiny.workspace_id))
    assert {i.set_piece for i in ws.issues.values()} >= {"moved_back", "reopened", "canceled_after_completion",
                                                         "long_history", "archived", "sub_issue", "in_triage"}


def test_histories_are_consistent_with_the_tickets(default):
    ws, now = default.linear, default.now
    issues = {i["issue_id"]: i for i in ws.expected_issues(default.workspace_id)}
    by_issue: dict[str, list[dict]] = {}
    for row in ws.expected_history(default.workspace_id):
        by_issue.setdefault(row["issue_id"], []).append(row)
    assert by_issue.keys() == issues.keys()
    for issue_id, rows in by_issue.items():
        issue = issues[issue_id]
        assert rows[0]["from_state"] is None and rows[0]["changed_at"] == issue["created_at"]
        assert all(b["from_state_id"] == a["to_state_id"] for a, b in zip(rows, rows[1:]))
        assert all(a["changed_at"] < b["changed_at"] for a, b in zip(rows, rows[1:]))
        assert rows[-1]["to_state_id"] == issue["state_id"]
        assert issue["created_at"] <= issue["updated_at"] < now and rows[-1]["changed_at"] <= issue["updated_at"]
        assert (issue["completed_at"] is not None) == (issue["state_type"] == "completed")
        assert (issue["canceled_at"] is not None) == (issue["state_type"] == "canceled")
    comments = ws.expected_comments(default.workspace_id)
    assert all(c["issue_id"] in issues and c["created_at"] < now for c in comments)


def test_journey_hooks(tiny):
    histories = tiny.journey_histories()
    assert len(histories) == len(tiny.tickets)
    assert set(tiny.expected_linear_rows()) >= {"core.linear_issues", "core.linear_issue_history"}


def test_mutations_move_updated_at_forward(tiny):
    world = World.generate(7, "tiny")
    piece = next(i for i in world.linear.issues.values() if i.set_piece == "moved_back")
    before = world.linear.states[piece.state_id].name
    world.move_ticket(piece.identifier, back=True)
    assert (before, world.linear.states[piece.state_id].name) == ("Done", "In Review")
    assert piece.updated_at > world.now and piece.completed_at is None
    comment = world.linear.comments[piece.comment_ids[0]]
    updated = piece.updated_at
    world.edit_ticket_comment(comment.id, "edited")
    assert comment.body == "edited" and comment.edited_at == comment.updated_at > updated
    assert piece.updated_at == updated  # editing a comment does not touch its issue
    bad = world.add_linear_bad_records()
    assert Counter(r["stream"] for r in bad) == {"issues": 4, "comments": 2, "states": 1, "history": 1}
    assert len(world.linear.expected_issues(world.workspace_id)) == len(world.tickets)


# -- the GraphQL endpoint --------------------------------------------------------------------------


def test_a_query_runs_and_answers_with_rate_limit_headers(server, tiny):
    response = post(server, tiny, "query Org { organization { id urlKey } viewer { id } }", operation="Org")
    assert response.status_code == 200
    assert response.json()["data"]["organization"] == {"id": tiny.linear.organization.id, "urlKey": tiny.company.slug}
    assert int(response.headers["X-RateLimit-Requests-Remaining"]) < 5000
    assert int(response.headers["X-RateLimit-Requests-Reset"]) > time.time() * 1000
    assert server.stats()["requests"]["linear"]["Org"] >= 1


def test_queries_linear_would_refuse_are_refused(server, tiny):
    invalid = post(server, tiny, "{ issues { nodes { id stateName } } }")
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "stateName" in invalid.json()["errors"][0]["message"]
    broken = post(server, tiny, "{ issues { nodes { id }")
    assert broken.status_code == 400 and broken.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    wrong_arg = post(server, tiny, "{ issues(orderBy: title) { nodes { id } } }")
    assert wrong_arg.status_code == 400
    heavy = post(server, tiny, "{ issues(first: 100) { nodes { id history(first: 100) { nodes { id actor { id } } } } } }")
    assert heavy.status_code == 400 and "too complex" in heavy.json()["errors"][0]["message"]


def test_auth_takes_a_raw_key_or_bearer(server, tiny):
    query = "{ viewer { id } }"
    assert post(server, tiny, query, key=f"Bearer {tiny.linear_api_key}").status_code == 200
    for key in ("", "xoxb-not-linear"):
        refused = post(server, tiny, query, key=key)
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "AUTHENTICATION_ERROR"


def test_filters_order_pagination_and_archived(server, tiny):
    issues = tiny.linear.expected_issues(tiny.workspace_id)
    seen, after = [], None
    while True:
        body = post(server, tiny, ISSUES, {"first": 6, "after": after, "archived": True}).json()["data"]["issues"]
        seen += body["nodes"]
        if not body["pageInfo"]["hasNextPage"]:
            break
        after = body["pageInfo"]["endCursor"]
    assert sorted(n["id"] for n in seen) == sorted(i["issue_id"] for i in issues)
    assert [n["updatedAt"] for n in seen] == sorted(n["updatedAt"] for n in seen)
    hidden = post(server, tiny, ISSUES, {"first": 100}).json()["data"]["issues"]["nodes"]
    assert len(hidden) == len(issues) - sum(1 for i in issues if i["archived_at"])
    cut = seen[-5]["updatedAt"]
    recent = post(server, tiny, ISSUES, {"first": 100, "archived": True,
                                         "filter": {"updatedAt": {"gte": cut}}}).json()["data"]["issues"]["nodes"]
    assert [n["id"] for n in recent] == [n["id"] for n in seen[-5:]]
    unsupported = post(server, tiny, ISSUES, {"filter": {"title": {"eq": "x"}}}).json()
    assert "does not implement" in unsupported["errors"][0]["message"]


def test_users_hide_deactivated_unless_asked(server, tiny):
    query = "query U($all: Boolean) { users(first: 100, includeDisabled: $all) { nodes { id active } } }"
    everyone = post(server, tiny, query, {"all": True}).json()["data"]["users"]["nodes"]
    active = post(server, tiny, query, {"all": False}).json()["data"]["users"]["nodes"]
    assert len(everyone) == len(tiny.people) > len(active) == sum(1 for p in tiny.people if not p.deactivated)


def test_history_pages_by_position(server, tiny):
    long = max(tiny.linear.issues.values(), key=lambda i: len(i.history))
    query = """query H($id: String!, $after: String) { issue(id: $id) { history(first: 20, after: $after) {
      nodes { id fromState { name } toState { name } } pageInfo { hasNextPage endCursor } } } }"""
    ids, after = [], None
    while True:
        page = post(server, tiny, query, {"id": long.id, "after": after}).json()["data"]["issue"]["history"]
        ids += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert ids == [h.id for h in long.history]


def test_rate_limit_window_and_ratelimited_faults(tiny):
    service = LinearService(tiny, requests_limit=2, window_s=30)
    with SandboxServer(tiny, services=[service]) as limited:
        answers = [post(limited, tiny, "{ viewer { id } }") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 400]
        assert [a.headers["X-RateLimit-Requests-Remaining"] for a in answers] == ["1", "0", "0"]
        assert answers[2].json()["errors"][0]["extensions"]["code"] == "RATELIMITED"
    with SandboxServer(tiny, FaultPlan(kinds=("ratelimit",), **ALWAYS, retry_after_s=2)) as faulty:
        statuses = [post(faulty, tiny, f"query Q{i} {{ viewer {{ id }} }}", operation=f"Q{i}") for i in range(2)]
        assert sorted(a.status_code for a in statuses) == [400, 429]
        assert all(a.json()["errors"][0]["extensions"]["code"] == "RATELIMITED" for a in statuses)
        assert all(int(a.headers["X-RateLimit-Requests-Reset"]) > time.time() * 1000 for a in statuses)


@pytest.mark.parametrize("kind", ["empty_page", "duplicate_page", "repeat_cursor"])
def test_pagination_faults_hit_the_top_level_connection(tiny, kind):
    with SandboxServer(tiny, FaultPlan(kinds=(kind,), rate=1.0, endpoints=frozenset({"First"}))) as faulty:
        first = ISSUES.replace("query Page", "query First")
        body = post(faulty, tiny, first, {"first": 5, "archived": True}, operation="First").json()["data"]["issues"]
        assert body["pageInfo"]["hasNextPage"]
        if kind == "empty_page":
            assert body["nodes"] == []
        second = post(faulty, tiny, ISSUES.replace("query Page", "query Second"),
                      {"first": 5, "archived": True, "after": body["pageInfo"]["endCursor"]}, operation="Second")
        page = second.json()["data"]["issues"]
        if kind == "repeat_cursor":
            assert page["pageInfo"]["endCursor"] == body["pageInfo"]["endCursor"]
        if kind == "duplicate_page":
            assert [n["id"] for n in page["nodes"]] == [n["id"] for n in body["nodes"]]
        assert faulty.stats()["faults"] == {kind: 1}


def test_schema_is_built_once_per_process():
    assert linear_schema() is linear_schema()


def test_mutations_are_reachable_through_the_admin_route():
    world = World.generate(7, "tiny")
    piece = next(i for i in world.linear.issues.values() if i.set_piece == "reopened")
    with SandboxServer(world) as server:
        answer = httpx.post(f"{server.url}/_sandbox/world/move_ticket",
                            json={"identifier": piece.identifier, "back": True}, timeout=10)
        assert answer.status_code == 200 and answer.json()["ok"]
        assert world.linear.states[piece.state_id].name == "In Review"
        refused = httpx.post(f"{server.url}/_sandbox/world/move_ticket", json={"identifier": "NOPE-1", "back": True})
        assert refused.status_code == 400 and "NOPE-1" in refused.json()["error"]


def test_comment_and_issue_create_mutations(tiny):
    world = World.generate(7, "tiny")
    team = next(t for t in world.linear.teams.values() if t.key == "ENG")
    host = world.tickets[0].identifier
    create_comment = """mutation C($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id body } } }"""
    create_issue = """mutation I($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { id identifier state { type } } } }"""
    own_id = "5f0c7a8e-0000-4000-8000-000000000001"
    with SandboxServer(world) as server:
        made = post(server, world, create_comment, {"input": {"id": own_id, "issueId": host, "body": "linked"}})
        assert made.json()["data"]["commentCreate"] == {"success": True, "comment": {"id": own_id, "body": "linked"}}
        again = post(server, world, create_comment, {"input": {"id": own_id, "issueId": host, "body": "linked"}})
        assert "already exists" in again.json()["errors"][0]["message"]
        assert post(server, world, "query Q($id: String!) { comment(id: $id) { id } }",
                    {"id": own_id}).json()["data"]["comment"] == {"id": own_id}
        issue = post(server, world, create_issue, {"input": {"teamId": team.id, "title": "New work"}})
        created = issue.json()["data"]["issueCreate"]["issue"]
        assert created["identifier"].startswith("ENG-") and created["state"]["type"] == "triage"
    assert any(r["identifier"] == created["identifier"] for r in world.linear.expected_issues(world.workspace_id))
    assert any(c["comment_id"] == own_id for c in world.linear.expected_comments(world.workspace_id))
