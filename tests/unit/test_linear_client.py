"""The Linear client against the sandbox and scripted transports: retries, rate limits, typed errors,
pagination guards, history follow-ups, and a key that never shows."""
from __future__ import annotations

import logging
import time

import httpx
import pytest

from connectors.errors import PaginationError, PermanentError, TransientError
from connectors.linear import LinearClient
from connectors.sandbox import FaultPlan, SandboxServer, World
from connectors.sandbox.linear_api import LinearService


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(7, "tiny")


def client(server, world, **options) -> LinearClient:
    options.setdefault("timeout_s", 30)
    return LinearClient(world.linear_api_key, server.linear_api_url, **options)


def test_ratelimited_answers_400_and_429_are_retried_after_the_reset(world):
    faults = FaultPlan(kinds=("ratelimit",), rate=1.0, max_consecutive=1, retry_after_s=1)
    with SandboxServer(world, faults) as server, client(server, world) as linear:
        started = time.monotonic()
        assert linear.organization().id == world.linear.organization.id
        assert linear.organization().url_key == world.company.slug
        assert linear.requests == 4  # each call limited once (one 400, one 429), then answered
        assert time.monotonic() - started >= 1.0
        assert server.stats()["faults"] == {"ratelimit": 2}


@pytest.mark.parametrize("kinds", [("server_error",), ("malformed_json",), ("reset",), ("timeout",)])
def test_transient_failures_are_retried(world, kinds):
    faults = FaultPlan(kinds=kinds, rate=1.0, max_consecutive=2, timeout_delay_s=1.0)
    with SandboxServer(world, faults) as server, client(server, world, timeout_s=0.5) as linear:
        assert linear.organization().id == world.linear.organization.id
        assert linear.requests == 3


def test_an_exhausted_window_is_waited_for_not_hit(world):
    service = LinearService(world, requests_limit=2, window_s=1.0)
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        time.sleep(seconds)

    with SandboxServer(world, services=[service]) as server, client(server, world, sleep=sleep) as linear:
        for _ in range(5):
            linear.organization()
        assert linear.requests == 5  # never refused, so never retried
        assert len(waits) >= 2 and all(0 < w <= 1.1 for w in waits)


def test_a_wait_longer_than_allowed_fails_transiently_at_once():
    reset_ms = str(int((time.time() + 3600) * 1000))

    def handler(request):
        return httpx.Response(200, json={"data": {"organization": {"id": "o", "name": "n", "urlKey": "k"}}},
                              headers={"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": reset_ms})

    linear = LinearClient("lin_api_x", transport=httpx.MockTransport(handler), sleep=lambda s: pytest.fail("slept"))
    linear.organization()
    with pytest.raises(TransientError, match="budget is spent"):
        linear.organization()


def test_5xx_that_never_heals_ends_as_transient_after_the_retries():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(503, text="Service Unavailable")

    linear = LinearClient("lin_api_x", transport=httpx.MockTransport(handler), max_retries=2, sleep=lambda s: None)
    with pytest.raises(TransientError, match="still failing after retries: HTTP 503"):
        linear.organization()
    assert len(calls) == 3


def test_an_invalid_query_is_permanent_with_linears_message(world):
    with SandboxServer(world) as server, client(server, world) as linear:
        with pytest.raises(PermanentError, match="GRAPHQL_VALIDATION_FAILED.*Cannot query field 'stateName'"):
            linear.execute("query Bad { issues { nodes { stateName } } }", operation="Bad")
        assert linear.requests == 1


def test_a_refused_key_is_permanent_and_the_key_never_shows(world, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "xoxb-" + "s3cr3t" * 6
    with SandboxServer(world) as server:
        with pytest.raises(PermanentError, match="refused the API key") as refused:
            LinearClient(secret, server.linear_api_url).organization()
        with client(server, world) as linear:
            linear.organization()
    assert secret not in str(refused.value) and secret not in caplog.text
    assert world.linear_api_key not in caplog.text
    with pytest.raises(PermanentError, match="LINEAR_API_KEY is not set"):
        LinearClient("")


def test_keys_are_sent_raw_and_oauth_tokens_as_bearer():
    seen = []

    def handler(request):
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"data": {"organization": {"id": "o", "name": "n", "urlKey": "k"}}})

    for key in ("lin_api_abc", "lin_oauth_abc"):
        LinearClient(key, transport=httpx.MockTransport(handler)).organization()
    assert seen == ["lin_api_abc", "Bearer lin_oauth_abc"]


def test_a_cursor_served_twice_stops_the_pagination(world):
    faults = FaultPlan(kinds=("repeat_cursor",), rate=1.0, endpoints=frozenset({"LinearIssues"}))
    with SandboxServer(world, faults) as server, client(server, world, issue_page_size=5) as linear:
        with pytest.raises(PaginationError, match="twice"):
            list(linear.issues(None))
        assert linear.requests == 2


def test_long_histories_are_finished_with_per_issue_queries(world):
    with SandboxServer(world) as server, client(server, world, history_page_size=5, page_size=10) as linear:
        issues = [issue for page in linear.issues(None) for issue in page]
        requests = server.stats()["requests"]["linear"]
    expected = {i.id: [h.id for h in i.history] for i in world.linear.issues.values()}
    assert {i["id"]: [h["id"] for h in i["history"]["nodes"]] for i in issues} == expected
    longer = sum(-(-(len(h) - 5) // 10) for h in expected.values() if len(h) > 5)  # follow-up pages needed
    assert requests["LinearIssueHistory"] == longer


def test_empty_and_duplicate_pages_still_read_everything(world):
    faults = FaultPlan(kinds=("empty_page", "duplicate_page"), rate=0.3, seed=5)
    with SandboxServer(world, faults) as server, client(server, world, page_size=7, issue_page_size=4) as linear:
        issues = {i["id"] for page in linear.issues(None) for i in page}
        comments = {c["id"] for page in linear.comments(None) for c in page}
        catalog = {}
        for stream, records in linear.catalog({}):
            catalog.setdefault(stream, set()).update(r["id"] for r in records)
        assert set(server.stats()["faults"]) == {"empty_page", "duplicate_page"}
    assert issues == set(world.linear.issues)
    assert comments == set(world.linear.comments)
    assert catalog["users"] == set(world.linear.users) and catalog["states"] == set(world.linear.states)
