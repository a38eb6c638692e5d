"""Fault injection: each kind is observable on the wire, deterministic, targetable and survivable."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from connectors.sandbox import ALL_KINDS, TRANSIENT_KINDS, FaultPlan, SandboxServer, World
from connectors.sandbox.faults import GENERIC_KINDS

ALWAYS = dict(rate=1.0, max_consecutive=1)


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(7, "tiny")


@pytest.fixture(scope="module")
def busiest(world) -> str:
    """A channel with several pages of history at limit=3."""
    return max(world.slack.channels.values(), key=lambda c: len(c.history)).id


def history(server: SandboxServer, world: World, channel: str, cursor: str | None = None, **kwargs) -> httpx.Response:
    params = {"channel": channel, "limit": 3, **({"cursor": cursor} if cursor else {})}
    return httpx.post(server.slack_api_url + "conversations.history", json=params, timeout=kwargs.get("timeout", 5),
                      headers={"Authorization": f"Bearer {world.slack_bot_token}"})


def messages(response: httpx.Response) -> list[str]:
    return [m["ts"] for m in response.json()["messages"]]


def next_cursor(response: httpx.Response) -> str:
    return response.json()["response_metadata"]["next_cursor"]


# ---- the plan ----------------------------------------------------------------------------------

def test_transient_kinds_are_the_default_and_the_rest_is_opt_in():
    assert FaultPlan().kinds == TRANSIENT_KINDS
    assert set(ALL_KINDS) - set(TRANSIENT_KINDS) == {"reset", "empty_page", "duplicate_page", "repeat_cursor"}
    with pytest.raises(ValueError):
        FaultPlan(kinds=("gremlins",))


def test_draws_are_deterministic_in_the_seed():
    def sequence(seed: int) -> list:
        plan = FaultPlan(rate=0.5, kinds=ALL_KINDS, seed=seed)
        return [plan.draw("slack", "conversations.history", frozenset(ALL_KINDS), i) for i in range(200)]

    assert sequence(1) == sequence(1) != sequence(2)
    drawn = [f.kind for f in sequence(1) if f]
    assert 60 < len(drawn) < 140 and set(drawn) == set(ALL_KINDS)


def test_only_applicable_and_targeted_endpoints_are_faulted():
    plan = FaultPlan(rate=1.0, kinds=("duplicate_page",), endpoints={"conversations.history"}, max_consecutive=99)
    assert plan.draw("slack", "conversations.history", frozenset(ALL_KINDS), 1).kind == "duplicate_page"
    assert plan.draw("slack", "chat.postMessage", frozenset(ALL_KINDS), 2) is None
    assert plan.draw("slack", "conversations.history", GENERIC_KINDS, 3) is None
    qualified = FaultPlan(rate=1.0, kinds=("ratelimit",), endpoints={"slack:auth.test"})
    assert qualified.draw("slack", "auth.test", GENERIC_KINDS, 1)
    assert qualified.draw("github", "auth.test", GENERIC_KINDS, 2) is None


def test_an_identical_request_is_faulted_at_most_max_consecutive_times_in_a_row():
    plan = FaultPlan(rate=1.0, max_consecutive=3)
    draws = [plan.draw("slack", "auth.test", GENERIC_KINDS, "same") for _ in range(8)]
    assert [d is not None for d in draws] == [True, True, True, False, True, True, True, False]


def test_plan_round_trips_through_json():
    plan = FaultPlan(rate=0.3, kinds=("slow", "reset"), seed=4, endpoints={"users.list"}, timeout_then="drop")
    assert FaultPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


# ---- each kind on the wire ---------------------------------------------------------------------------

def test_ratelimit_is_429_with_retry_after(world, busiest):
    with SandboxServer(world, FaultPlan(kinds=("ratelimit",), retry_after_s=7, **ALWAYS)) as server:
        response = history(server, world, busiest)
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json() == {"ok": False, "error": "ratelimited"}


def test_server_error_is_500_or_503(world, busiest):
    with SandboxServer(world, FaultPlan(kinds=("server_error",), rate=1.0, max_consecutive=99)) as server:
        statuses = {history(server, world, busiest).status_code for _ in range(12)}
    assert statuses == {500, 503}


def test_ok_false_is_http_200(world, busiest):
    with SandboxServer(world, FaultPlan(kinds=("ok_false",), **ALWAYS)) as server:
        response = history(server, world, busiest)
    assert response.status_code == 200 and response.json() == {"ok": False, "error": "internal_error"}


def test_malformed_json_is_a_truncated_200(world, busiest):
    with SandboxServer(world, FaultPlan(kinds=("malformed_json",), **ALWAYS)) as server:
        response = history(server, world, busiest)
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()
        assert history(server, world, busiest).json()["ok"]  # the retry succeeds


def test_slow_answers_correctly_after_a_delay(world, busiest):
    with SandboxServer(world, FaultPlan(kinds=("slow",), slow_delay_s=0.3, **ALWAYS)) as server:
        started = time.perf_counter()
        response = history(server, world, busiest)
    assert time.perf_counter() - started >= 0.3 and response.json()["ok"]


@pytest.mark.parametrize("then, error", [("answer", httpx.ReadTimeout), ("drop", httpx.ReadTimeout)])
def test_timeout_outlasts_the_client(world, busiest, then, error):
    plan = FaultPlan(kinds=("timeout",), timeout_delay_s=0.5, timeout_then=then, **ALWAYS)
    with SandboxServer(world, plan) as server:
        with pytest.raises(error):
            history(server, world, busiest, timeout=0.2)
        assert history(server, world, busiest).json()["ok"]


def test_timeout_then_drop_closes_without_an_answer(world, busiest):
    plan = FaultPlan(kinds=("timeout",), timeout_delay_s=0.1, timeout_then="drop", **ALWAYS)
    with SandboxServer(world, plan) as server, pytest.raises(httpx.RemoteProtocolError):
        history(server, world, busiest, timeout=5)


def test_reset_breaks_the_connection_mid_body(world, busiest):
    with SandboxServer(world, FaultPlan(kinds=("reset",), **ALWAYS)) as server:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            history(server, world, busiest)
        assert server.stats()["faults"] == {"reset": 1}


def test_a_write_takes_effect_even_when_its_answer_is_lost():
    world = World.generate(7, "tiny")
    with SandboxServer(world, FaultPlan(kinds=("reset",), **ALWAYS)) as server, \
            pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(server.slack_api_url + "chat.postMessage", json={"channel": "#general", "text": "standup"},
                   headers={"Authorization": f"Bearer {world.slack_bot_token}"})
    assert any(r["text"] == "standup" for r in world.expected_slack_messages())


def test_empty_page_keeps_a_cursor_that_continues_correctly(world, busiest):
    with SandboxServer(world) as server:
        clean = history(server, world, busiest)
    with SandboxServer(world, FaultPlan(kinds=("empty_page",), **ALWAYS)) as server:
        empty = history(server, world, busiest)
        assert empty.json()["messages"] == [] and empty.json()["has_more"]
        server.faults = None
        resumed = history(server, world, busiest, next_cursor(empty))
    assert messages(resumed) == messages(clean) and next_cursor(resumed) == next_cursor(clean)


def test_duplicate_page_serves_the_same_page_twice_under_a_new_cursor(world, busiest):
    with SandboxServer(world, FaultPlan(kinds=("duplicate_page",), **ALWAYS)) as server:
        first = history(server, world, busiest)
        server.faults = None
        again = history(server, world, busiest, next_cursor(first))
        after = history(server, world, busiest, next_cursor(again))
    assert messages(again) == messages(first) and next_cursor(first) != next_cursor(again)
    assert after.json()["ok"] and not set(messages(after)) & set(messages(first))


def test_repeat_cursor_repeats_forever(world, busiest):
    with SandboxServer(world, FaultPlan(kinds=("repeat_cursor",), **ALWAYS)) as server:
        cursor = next_cursor(history(server, world, busiest))
        pages = [history(server, world, busiest, cursor) for _ in range(4)]
    assert all(next_cursor(page) == cursor and page.json()["has_more"] for page in pages)
    assert len({tuple(messages(page)) for page in pages}) == 1


def test_admin_routes_are_never_faulted(world):
    with SandboxServer(world, FaultPlan(rate=1.0, kinds=ALL_KINDS, max_consecutive=99)) as server:
        responses = [httpx.get(server.url + "/_sandbox/stats") for _ in range(10)]
    assert all(r.status_code == 200 for r in responses) and responses[-1].json()["total"] == 0


# ---- survivable ---------------------------------------------------------------------------------------

def test_slack_sdk_rate_limit_handler_recovers_from_429(world):
    with SandboxServer(world, FaultPlan(kinds=("ratelimit",), retry_after_s=1, **ALWAYS)) as server:
        web = WebClient(token=world.slack_bot_token, base_url=server.slack_api_url,
                        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
        assert web.auth_test()["ok"]
        assert server.stats()["requests"]["slack"]["auth.test"] == 2 and server.stats()["faults"] == {"ratelimit": 1}


def test_a_retrying_client_gets_everything_despite_transient_faults(world):
    plan = FaultPlan(rate=0.5, seed=5, retry_after_s=0, slow_delay_s=0.01, timeout_delay_s=0.3)
    with SandboxServer(world, plan) as server, httpx.Client(timeout=0.15) as http:
        def call(method: str, **params) -> dict:
            for _ in range(20):
                try:
                    response = http.post(server.slack_api_url + method, data=params,
                                         headers={"Authorization": f"Bearer {world.slack_bot_token}"})
                    body = response.json()
                except (httpx.TransportError, ValueError):
                    continue
                if response.status_code == 200 and body["ok"]:
                    return body
            raise AssertionError(f"{method} never succeeded")

        seen = set()
        for channel in world.slack.channels:
            cursor = ""
            while True:
                page = call("conversations.history", channel=channel, limit=1, cursor=cursor)
                seen.update((channel, m["ts"]) for m in page["messages"])
                cursor = page["response_metadata"]["next_cursor"]
                if not cursor:
                    break
        faults = server.stats()["faults"]
    expected = {(c.id, m["ts"]) for c in world.slack.channels.values()
                for m in [{"ts": f"{ts // 1_000_000}.{ts % 1_000_000:06d}"} for ts in c.history]}
    assert seen == expected
    assert set(faults) == set(TRANSIENT_KINDS)
