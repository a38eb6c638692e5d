"""AI usage fault matrix (the OpenAI organization Usage and Costs APIs; Slack's is
test_slack_fault_matrix.py, Linear's and GitHub's test_fault_matrix_linear_github.py): one fault kind
at a time, the load of usage (completions, embeddings, moderations) and billed costs either
completes with the warehouse equal to the ground truth, or fails with a clear message while the
warehouse and every cursor stay exactly as they were.

The runs call the costs flow's two loading tasks (tasks/costs.py: settings, client, task retries)
against the sandbox's OpenAI service, whose pagination faults are in connectors/sandbox/openai_api.py.
Small pages (OPENAI_PAGE_LIMIT=5 daily buckets: 13 pages per stream, about 50 requests a run) give
each kind room to strike several times.

Pages are `page` / `next_page` / `has_more`, and `next_page` is an opaque token, as Slack's and
Linear's cursors are. So:
- an empty page that carries a `next_page` is followed, and the run completes;
- a page served twice is completed too, when it comes back under a fresh `next_page` (what the
  sandbox's `duplicate_page` does): the client cannot tell that page from any other, and need not,
  since the merge on natural keys (usage_id, cost_id) makes reading it twice harmless;
- a `next_page` the client has already followed is a loop whatever caused it, and stops the
  pagination at once (connectors.errors.CursorGuard, the guard Slack and Linear use). That is the
  `repeat_cursor` case. A page served twice under the very token that led to it looks exactly
  like the first step of that loop, so it, too, would stop the run cleanly rather than complete:
  no client can tell the two apart from one response, and this one does not try (a loop costs
  one repeated request, never more).
The loaders write a stream's pages only once its pagination has ended (up to BATCH_ROWS rows
buffered, pmflow/costs/ingest.py), which is what leaves the warehouse untouched when a loop is stopped.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.errors import PaginationError
from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.openai_data import ADMIN_KEY, org_for
from connectors.sandbox.world import World
from tasks.costs import load_openai_costs, load_openai_usage
from tests.support.openai_truth import openai_differences
from tests.support.slack_truth import warehouse_snapshot
from warehouse import Warehouse

pytestmark = [pytest.mark.usefixtures("prefect_api_url"),
              # the tasks run on their own (no flow run), so their logs stay local: said once per log line
              pytest.mark.filterwarnings("ignore:Logger 'prefect.task_runs' attempted to send logs")]

SURVIVABLE = ["ratelimit", "server_error", "timeout", "reset", "malformed_json", "slow", "empty_page",
              "duplicate_page"]
ENDPOINTS = frozenset({"v1/organization/usage/completions", "v1/organization/usage/embeddings",
                       "v1/organization/usage/moderations", "v1/organization/costs"})
# Each fault the client retries costs its backoff (0.25 s, doubling), a timeout also the client's
# timeout (1 s): rates that strike each kind several times in about 50 requests, and no more.
RATE = {"timeout": 0.1}


def plan(kind: str, **options) -> FaultPlan:
    return FaultPlan(rate=RATE.get(kind, 0.15), kinds=(kind,), seed=options.pop("seed", 9), retry_after_s=0,
                     timeout_delay_s=1.3, slow_delay_s=0.05, endpoints=ENDPOINTS, **options)


@pytest.fixture
def ai_usage(sandbox, monkeypatch):
    """Starts the sandbox for a world and points the costs tasks at its OpenAI organization."""

    def start(world: World, faults: FaultPlan | None = None):
        server = sandbox(world, faults=faults)
        for name, value in {"OPENAI_ADMIN_KEY": ADMIN_KEY, "OPENAI_BASE_URL": server.openai_base_url,
                            "OPENAI_PAGE_LIMIT": "5", "OPENAI_TIMEOUT_S": "1",
                            "PMFLOW_WORKSPACE_ID": world.workspace_id, "PMFLOW_COST_LOOKBACK_DAYS": "60"}.items():
            monkeypatch.setenv(name, value)
        return server

    return start


def ingest_ai_usage(world: World) -> None:
    now = org_for(world).now.timestamp()
    load_openai_usage(world.workspace_id, now)
    load_openai_costs(world.workspace_id, now)


@pytest.mark.parametrize("kind", SURVIVABLE)
def test_ai_usage_run_completes_at_ground_truth_despite(kind, ai_usage, warehouse_path):
    world = World.generate(seed=51, size="tiny")
    server = ai_usage(world, faults=plan(kind))
    ingest_ai_usage(world)
    assert server.stats()["faults"].get(kind, 0) >= 2, f"{kind} was injected less than twice: {server.stats()}"
    assert openai_differences(org_for(world), Warehouse(warehouse_path)) == []


def test_ai_usage_cursor_that_repeats_forever_stops_the_run_and_changes_nothing(ai_usage, warehouse_path):
    world = World.generate(seed=52, size="tiny")
    org = org_for(world)
    server = ai_usage(world)
    ingest_ai_usage(world)
    wh = Warehouse(warehouse_path)
    # A day passes: the day that was open closes (every cursor wants to move) with late usage on it,
    # and the new day has usage of its own; a looping run must load none of it.
    closing = org.now.date()
    org.now += timedelta(days=1)
    org.add_usage(closing, "proj_platform", "gpt-4.1", input_tokens=1_000, output_tokens=100, requests=2)
    org.add_usage(org.now.date(), "proj_platform", "gpt-4.1", input_tokens=2_000, output_tokens=50, requests=1)
    org.add_usage(org.now.date(), "proj_platform", "text-embedding-3-small", input_tokens=500, output_tokens=0,
                  endpoint="embeddings")
    before = warehouse_snapshot(wh)
    assert openai_differences(org, wh)  # there is something to load

    server.reset_stats()
    server.faults = FaultPlan(rate=1.0, kinds=("repeat_cursor",), endpoints=ENDPOINTS)
    for load in (load_openai_usage, load_openai_costs):
        with pytest.raises(PaginationError, match=r"OpenAI GET /organization/.* served the cursor .* twice; stopped"):
            load(world.workspace_id, org.now.timestamp())
    stats = server.stats()
    assert stats["faults"].get("repeat_cursor", 0) == 2  # the first page of completions and of costs
    # Detected on the first repeat: the first page, then its looping token once, and nothing more
    # (3 should one of them time out on a busy machine and be retried); no other stream is asked.
    requests = stats["requests"]["openai"]
    assert set(requests) == {"v1/organization/usage/completions", "v1/organization/costs"}
    assert all(2 <= n <= 3 for n in requests.values()), requests
    assert warehouse_snapshot(wh) == before

    server.faults = None  # the API heals: the next run picks everything up
    ingest_ai_usage(world)
    assert openai_differences(org, wh) == []
