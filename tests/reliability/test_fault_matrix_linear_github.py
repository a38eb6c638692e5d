"""Linear and GitHub fault matrix (Slack's is test_slack_fault_matrix.py): one fault kind at a time,
the run either completes with the warehouse equal to the ground truth, or fails with a clear message
while the warehouse and every cursor stay exactly as they were.

What each kind does is in connectors/sandbox/faults.py. Linear paginates with opaque cursors, so a
page served twice (a fresh cursor leading to the same page) and an empty page that carries a cursor
are followed and end at the ground truth, while a cursor that repeats forever is detected and stops
the run. GitHub paginates with page-number links: a page served twice is a `next` link pointing at
the page just read, which no client can tell from a loop, so both that and a repeating cursor stop
the run cleanly (the sandbox's GitHub serves no empty pages with a `next` link).

The kinds marked slow run with `python3 dev.py test -m slow tests/reliability/test_fault_matrix_linear_github.py`;
`-m ""` runs every kind.
"""
from __future__ import annotations

import pytest

from connectors.errors import PaginationError
from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.linear_api import schema_path
from connectors.sandbox.world import World
from flows.ingest import ingest_github, ingest_linear
from tests.support.github_truth import github_differences
from tests.support.linear_truth import linear_differences
from tests.support.slack_truth import warehouse_snapshot
from warehouse import Warehouse

pytestmark = pytest.mark.usefixtures("prefect_api_url")
needs_linear_schema = pytest.mark.skipif(not schema_path().exists(), reason=f"Linear schema not at {schema_path()}")

slow = pytest.mark.slow
# The default run covers here what no other default test does: Linear's pagination faults (an empty
# page with a cursor, a page served twice, a repeating cursor), a reset mid-body, and GitHub's link
# back to a page already read. 429, 5xx, timeouts, slow answers and cut JSON, one kind at a time, are
# slow; in the default run the 10% mixed-fault tests of tests/flows/test_ingest_linear.py and
# tests/flows/test_ingest_github.py cover them together.
LINEAR_SURVIVABLE = [pytest.param("ratelimit", marks=slow), pytest.param("server_error", marks=slow),
                     pytest.param("timeout", marks=slow), "reset", pytest.param("malformed_json", marks=slow),
                     pytest.param("slow", marks=slow), "empty_page", "duplicate_page"]
GITHUB_SURVIVABLE = [pytest.param(kind, marks=slow)
                     for kind in ("ratelimit", "server_error", "timeout", "reset", "malformed_json", "slow")]


def plan(kind: str, **options) -> FaultPlan:
    return FaultPlan(rate=options.pop("rate", 0.3), kinds=(kind,), seed=options.pop("seed", 5), retry_after_s=0,
                     timeout_delay_s=1.3, slow_delay_s=0.05, **options)


@pytest.fixture
def linear_small_pages(monkeypatch):
    # Many small pages (about 25 requests for a tiny workspace), so each kind is injected several times.
    monkeypatch.setenv("LINEAR_ISSUE_PAGE_SIZE", "4")
    monkeypatch.setenv("LINEAR_PAGE_SIZE", "8")
    monkeypatch.setenv("LINEAR_HISTORY_PAGE_SIZE", "3")
    monkeypatch.setenv("LINEAR_TIMEOUT_S", "1")


@pytest.fixture
def github_small_pages(monkeypatch):
    monkeypatch.setenv("GITHUB_PER_PAGE", "5")
    monkeypatch.setenv("GITHUB_TIMEOUT_S", "1")
    monkeypatch.setenv("GITHUB_CONCURRENCY", "4")


@needs_linear_schema
@pytest.mark.parametrize("kind", LINEAR_SURVIVABLE)
def test_linear_run_completes_at_ground_truth_despite(kind, sandbox, warehouse_path, linear_small_pages):
    world = World.generate(seed=41, size="tiny")
    server = sandbox(world, faults=plan(kind))
    ingest_linear()
    assert server.stats()["faults"].get(kind, 0) > 0, f"no {kind} fault was injected: {server.stats()}"
    assert linear_differences(world, Warehouse(warehouse_path)) == []


@needs_linear_schema
def test_linear_cursor_that_repeats_forever_stops_the_run_and_changes_nothing(sandbox, warehouse_path,
                                                                             linear_small_pages):
    world = World.generate(seed=42, size="tiny")
    server = sandbox(world)
    ingest_linear()
    wh = Warehouse(warehouse_path)
    # Changes a looping run must not half-load: issues moved and edited, comments added.
    for ticket in world.tickets[:6]:
        world.update_ticket(ticket.identifier, title=f"{ticket.title} (edited)")
        world.add_ticket_comment(ticket.identifier, "a comment the looping run must not load")
    before = warehouse_snapshot(wh)

    server.faults = FaultPlan(rate=1.0, kinds=("repeat_cursor",), endpoints={"LinearIssues", "LinearComments"})
    with pytest.raises(PaginationError, match="served the cursor .* twice; stopped"):
        ingest_linear()
    assert server.stats()["faults"].get("repeat_cursor", 0) > 0
    assert warehouse_snapshot(wh) == before

    server.faults = None  # the API heals: the next run picks everything up
    ingest_linear()
    assert linear_differences(world, wh) == []


@pytest.mark.parametrize("kind", GITHUB_SURVIVABLE)
def test_github_run_completes_at_ground_truth_despite(kind, sandbox, warehouse_path, github_small_pages):
    world = World.generate(seed=43, size="tiny")
    server = sandbox(world, faults=plan(kind, rate=0.2))
    ingest_github()
    assert server.stats()["faults"].get(kind, 0) > 0, f"no {kind} fault was injected: {server.stats()}"
    assert github_differences(world, Warehouse(warehouse_path)) == []


@pytest.mark.parametrize("kind", [pytest.param("repeat_cursor", marks=slow), "duplicate_page"])
def test_github_link_back_to_a_page_already_read_stops_the_run_and_changes_nothing(kind, sandbox, warehouse_path,
                                                                                  monkeypatch, github_small_pages):
    monkeypatch.setenv("GITHUB_PER_PAGE", "2")  # the changed PRs below span several pages
    world = World.generate(seed=44, size="tiny")
    server = sandbox(world)
    ingest_github()
    wh = Warehouse(warehouse_path)
    repo = world.github_repos[0]
    for _, pull in list(world.github.pulls(repo))[:5]:
        world.github_update_pr(repo, pull.number, title=f"{pull.title} (renamed)")
    before = warehouse_snapshot(wh)

    server.faults = FaultPlan(rate=1.0, kinds=(kind,), endpoints={"/repos/{owner}/{repo}/issues"})
    with pytest.raises(PaginationError, match="linked to a page already read; stopped"):
        ingest_github()
    assert server.stats()["faults"].get(kind, 0) > 0
    assert warehouse_snapshot(wh) == before

    server.faults = None
    ingest_github()
    assert github_differences(world, wh) == []
