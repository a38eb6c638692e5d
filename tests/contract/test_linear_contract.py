"""Every GraphQL document the Linear connector sends validates against Linear's official schema
(../shared/contracts/linear/schema.graphql), and stays under Linear's complexity limit."""
from __future__ import annotations

import pytest
from graphql import parse, validate

from connectors.linear import DOCUMENTS
from connectors.sandbox.linear_api import MAX_COMPLEXITY, complexity, linear_schema, schema_path
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from pmflow.settings import LinearSettings
from tasks.linear import run_linear_sync

@pytest.fixture(scope="module")
def schema():
    return linear_schema(schema_path())


def errors(schema, document: str) -> list[str]:
    return [e.message for e in validate(schema, parse(document))]


@pytest.mark.parametrize("operation", sorted(DOCUMENTS))
def test_every_document_the_client_can_send_validates(schema, operation):
    document = DOCUMENTS[operation]
    assert errors(schema, document) == []
    assert f"query {operation}" in document  # named, so the sandbox counts and faults it by name


def test_every_document_sent_during_full_and_incremental_syncs_validates(schema, tmp_path):
    world = World.generate(seed=3, size="tiny")
    with SandboxServer(world) as server:
        options = dict(workspace_id=world.workspace_id, page_size=6, issue_page_size=8, history_page_size=5)
        run_linear_sync(server.linear_api_url, world.linear_api_key, str(tmp_path / "w.duckdb"), **options)
        world.move_ticket(next(i for i in world.linear.issues.values() if i.set_piece == "moved_back").identifier,
                          back=True)
        run_linear_sync(server.linear_api_url, world.linear_api_key, str(tmp_path / "w.duckdb"), **options)
        received = server.service("linear").documents
        per_operation = server.stats()["requests"]["linear"]
    assert received, "the sandbox received no document"
    for document in received:
        assert errors(schema, document) == [], document
    assert set(received) <= set(DOCUMENTS.values())
    # Full and incremental syncs with small pages exercise the follow-up documents too.
    assert {"LinearCatalog", "LinearIssues", "LinearIssueHistory", "LinearComments", "LinearUsers"} <= set(per_operation)


def test_default_page_sizes_stay_under_linears_complexity_limit(schema):
    settings = LinearSettings()
    variables = {"first": settings.page_size, "historyFirst": settings.history_page_size}
    points = {}
    for operation, document in DOCUMENTS.items():
        first = settings.issue_page_size if operation == "LinearIssues" else settings.page_size
        points[operation] = complexity(schema, parse(document), operation, {**variables, "first": first})
    assert max(points.values()) <= MAX_COMPLEXITY, points
    assert points["LinearIssues"] > 1000  # the estimate does count the nested history
