"""Matching with OpenAI configured, against the sandbox's OpenAI endpoint (official wire format):
embeddings batched and cached by text hash (a second run sends no embedding request), 429/5xx
retried by the openai client, every call's usage in core.llm_usage, at most 15% of units
adjudicated by the LLM."""
from __future__ import annotations

import math
import shutil

import pytest
from openai import OpenAI

from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from pmflow.matching.calibration import sandbox_warehouse
from pmflow.matching.engine import match_workspace
from pmflow.matching_settings import MatchSettings
from warehouse import Warehouse

OPENAI = "openai"


@pytest.fixture(scope="module")
def world():
    return World.generate(7, "tiny")


@pytest.fixture(scope="module")
def loaded(world, tmp_path_factory):
    path = tmp_path_factory.mktemp("truth") / "warehouse.duckdb"
    sandbox_warehouse(world, path)
    return path


@pytest.fixture
def wh(loaded, tmp_path):
    shutil.copy(loaded, tmp_path / "warehouse.duckdb")
    return Warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def server(world):
    with SandboxServer(world) as running:
        yield running


def client(server, retries: int = 4) -> OpenAI:
    return OpenAI(api_key="sk-test-matching", base_url=server.openai_base_url, max_retries=retries, timeout=10)


def requests(server) -> dict:
    return server.stats()["requests"].get(OPENAI, {})


def embedding_calls(world) -> list[dict]:
    from connectors.sandbox.openai_data import org_for

    return [c for c in org_for(world).model_calls if c["endpoint"] == "embeddings"]


def test_embeddings_are_batched_cached_and_their_usage_recorded(world, wh, server):
    settings = MatchSettings(embedding_batch=8, embedding_dimensions=32)
    already = len(embedding_calls(world))
    first, _ = match_workspace(wh, world.workspace_id, settings, openai_client=client(server))
    texts = wh.query("SELECT count(*) FROM ops.embedding_cache")[0][0]
    calls = embedding_calls(world)[already:]
    assert first.embedding_requests == requests(server)["v1/embeddings"] == len(calls) >= math.ceil(texts / 8)
    assert all(1 <= c["inputs"] <= 8 for c in calls) and sum(c["inputs"] for c in calls) == texts
    assert len([c for c in calls if c["inputs"] < 8]) <= 2  # full batches: the tickets', then the units' texts
    assert set(m for (m,) in wh.query("SELECT DISTINCT method FROM marts.ticket_links")) & {"fused", "reference"}

    usage = wh.query("SELECT count(*), sum(input_tokens) FROM core.llm_usage "
                     "WHERE source = 'pipeline' AND endpoint = 'embeddings'")[0]
    assert usage == (len(calls), sum(c["usage"]["prompt_tokens"] for c in calls))

    server.reset_stats()
    second, _ = match_workspace(wh, world.workspace_id, settings, openai_client=client(server))
    assert second.units == 0 and requests(server).get("v1/embeddings", 0) == 0

    server.reset_stats()
    again, _ = match_workspace(wh, world.workspace_id, settings, openai_client=client(server), all_units=True)
    assert again.units == first.units and again.embedding_requests == 0
    assert requests(server).get("v1/embeddings", 0) == 0, "unchanged text is never embedded twice"


def test_rate_limits_and_server_errors_are_retried(world, wh, server):
    server.faults = FaultPlan(rate=0.3, kinds=("ratelimit", "server_error"), seed=3, retry_after_s=0,
                              endpoints={"openai:v1/embeddings", "openai:v1/chat/completions"})
    report, decisions = match_workspace(wh, world.workspace_id, MatchSettings(embedding_batch=20, embedding_dimensions=32),
                                        openai_client=client(server, retries=6))
    assert server.stats()["faults"], "faults were injected"
    assert report.units == len(decisions) > 0
    assert wh.query("SELECT count(*) FROM ops.embedding_cache")[0][0] > 0


def test_the_llm_sees_at_most_15_percent_of_units_and_its_usage_is_recorded(world, wh, server):
    everything_ambiguous = MatchSettings(link_probability=1.01, suggest_probability=0.0, not_work_max_score=0.0,
                                         embedding_weight=0.0)
    report, decisions = match_workspace(wh, world.workspace_id, everything_ambiguous, openai_client=client(server))
    assert report.llm_eligible > report.llm_calls > 0
    assert report.llm_calls == math.floor(0.15 * report.units)
    assert requests(server)["v1/chat/completions"] == report.llm_calls
    assert requests(server).get("v1/embeddings", 0) == 0
    rows = wh.query("SELECT count(*), min(input_tokens) FROM core.llm_usage WHERE source = 'pipeline' "
                    "AND endpoint = 'chat.completions'")[0]
    assert rows[0] == report.llm_calls and rows[1] > 0
    # the sandbox model answers the first enum value, "unsure": the decisions stay suggestions
    assert all(d.method != "llm" for d in decisions)
    assert sum("llm unsure" in d.reason for d in decisions) == report.llm_calls
