"""GitHubClient against scripted HTTP answers: pagination, conditional requests, rate limits,
retries and typed errors (httpx.MockTransport; no server, no real sleeping)."""
from __future__ import annotations

import time

import httpx
import pytest

from connectors.errors import PaginationError, PermanentError, TransientError
from connectors.github import CachedResponse, GitHubClient, MemoryCache

BASE = "https://api.example.test"
TOKEN = "ghp_secret_value_123"


class Script:
    """Answers requests in order from a list of (status, json, headers) or callables; records requests."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if callable(answer):
            return answer(request)
        status, body, headers = (answer + ({},))[:3] if len(answer) == 2 else answer
        if isinstance(body, (bytes, str)):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)


def client(script: Script, **kwargs) -> tuple[GitHubClient, list[float]]:
    sleeps: list[float] = []
    kwargs.setdefault("max_retries", 3)
    return GitHubClient(TOKEN, BASE, transport=httpx.MockTransport(script), sleep=sleeps.append, **kwargs), sleeps


def link(url: str, rel: str = "next") -> dict:
    return {"Link": f'<{url}>; rel="{rel}", <{BASE}/last>; rel="last"'}


def test_headers_and_link_pagination():
    page2 = f"{BASE}/repos/acme/api/issues?state=all&page=2"
    script = Script((200, [{"number": 1}], link(page2)), (200, [{"number": 2}], {}))
    c, _ = client(script)
    pages = list(c.issues("acme/api", since="2026-11-01T00:00:00Z"))
    assert [p.items for p in pages] == [[{"number": 1}], [{"number": 2}]]
    first = script.requests[0]
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert first.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert first.headers["Accept"] == "application/vnd.github+json"
    assert first.url.params["since"] == "2026-11-01T00:00:00Z"
    assert (first.url.params["sort"], first.url.params["direction"], first.url.params["per_page"]) == ("updated", "desc", "100")
    assert str(script.requests[1].url) == page2


def test_a_next_link_already_followed_stops_with_pagination_error():
    def same_page(request):
        return httpx.Response(200, json=[{"number": 1}], headers=link(str(request.url)))
    c, _ = client(Script(same_page, same_page))
    with pytest.raises(PaginationError, match="already read"):
        list(c.pulls("acme/api"))


def test_conditional_requests_reuse_the_stored_copy():
    cache = MemoryCache()
    script = Script((200, [{"number": 1}], {"ETag": 'W/"abc"', **link(f"{BASE}/p2")}), (200, [], {}),
                    (304, b"", {}), (200, [], {}))
    c, _ = client(script, cache=cache)
    assert [p.not_modified for p in c.pulls("acme/api")] == [False, False]
    again = list(c.pulls("acme/api"))
    assert script.requests[2].headers["If-None-Match"] == 'W/"abc"'
    assert again[0].not_modified and again[0].items == [{"number": 1}] and again[0].next_url == f"{BASE}/p2"
    assert c.stats.not_modified == 1


def test_a_cache_without_bodies_answers_304_with_an_empty_page():
    cache = MemoryCache()
    url = f"{BASE}/repos/acme/api/pulls/1/reviews?per_page=100"
    cache.put(url, CachedResponse('W/"x"', None, None))
    c, _ = client(Script((304, b"", {})), cache=cache)
    (page,) = list(c.reviews("acme/api", 1))
    assert page.not_modified and page.items == []


def test_server_errors_timeouts_and_truncated_bodies_are_retried_with_backoff():
    def timeout(request):
        raise httpx.ReadTimeout("slow", request=request)
    script = Script((503, b"Service Unavailable", {}), timeout, (200, b'[{"number": 1', {}), (200, [{"number": 1}], {}))
    c, sleeps = client(script)
    assert [p.items for p in c.pulls("acme/api")] == [[{"number": 1}]]
    assert len(sleeps) == 3 and all(0 < s <= 10 for s in sleeps)
    assert c.stats.retries == 3


def test_retries_exhausted_is_transient():
    c, _ = client(Script(*[(502, b"Bad Gateway", {})] * 4))
    with pytest.raises(TransientError, match="still failing"):
        list(c.pulls("acme/api"))


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_waits_retry_after(status):
    body = {"message": "You have exceeded a secondary rate limit.", "documentation_url": "https://docs.github.com"}
    c, sleeps = client(Script((status, body, {"Retry-After": "7"}), (200, [], {})))
    list(c.pulls("acme/api"))
    assert sleeps == [7.0]


def test_secondary_rate_limit_message_without_retry_after_waits_a_minute():
    body = {"message": "You have exceeded a secondary rate limit."}
    c, sleeps = client(Script((403, body, {}), (200, [], {})))
    list(c.pulls("acme/api"))
    assert sleeps == [60.0]


def test_primary_rate_limit_spent_waits_until_reset():
    reset = int(time.time()) + 30
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset), "X-RateLimit-Limit": "5000"}
    script = Script((200, [{"number": 1}], {**spent, **link(f"{BASE}/p2")}), (200, [], {}))
    c, sleeps = client(script)
    list(c.pulls("acme/api"))
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 32
    assert c.stats.rate_limit_waits == 1


def test_primary_rate_limit_403_waits_until_reset_or_gives_up():
    reset = int(time.time()) + 20
    limited = (403, {"message": "API rate limit exceeded"}, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    c, sleeps = client(Script(limited, (200, [], {})))
    list(c.pulls("acme/api"))
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 22
    far = (403, {"message": "API rate limit exceeded"},
           {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 7200)})
    c, _ = client(Script(far), max_rate_limit_wait_s=60)
    with pytest.raises(TransientError, match="rate limit spent"):
        list(c.pulls("acme/api"))


@pytest.mark.parametrize(("status", "message", "expected"), [
    (401, "Bad credentials", "refused the token"),
    (404, "Not Found", "Check GITHUB_REPOS"),
    (403, "Resource not accessible by integration", "HTTP 403"),
    (422, "Validation Failed", "HTTP 422"),
])
def test_errors_that_will_not_heal_fail_at_once_without_the_token(status, message, expected):
    script = Script((status, {"message": message, "documentation_url": "https://docs.github.com/rest"}, {}))
    c, sleeps = client(script)
    with pytest.raises(PermanentError, match=expected) as info:
        list(c.pulls("acme/api"))
    assert TOKEN not in str(info.value) and sleeps == [] and len(script.requests) == 1


def test_configuration_errors_are_permanent():
    with pytest.raises(PermanentError, match="GITHUB_TOKEN"):
        GitHubClient("", BASE)
    c, _ = client(Script())
    with pytest.raises(PermanentError, match="owner/name"):
        list(c.pulls("not-a-repo"))
