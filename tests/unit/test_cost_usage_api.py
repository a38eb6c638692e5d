"""The OpenAI Usage/Costs client against the sandbox's wire format, and its failure handling:
pagination, Retry-After, 5xx/timeouts retried, 4xx failing at once, cursor loops; the sandbox's
model endpoints through the official openai client."""
from __future__ import annotations

import base64
import json

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI
from pydantic import BaseModel

from connectors.errors import PaginationError, PermanentError, TransientError
from connectors.openai_usage import OpenAIUsageClient, complete_until, parse_cost_bucket, parse_usage_bucket
from connectors.sandbox.openai_api import create_app
from connectors.sandbox.openai_data import ADMIN_KEY, API_KEY, DAY_S, org_for
from connectors.sandbox.world import World
from pmflow.costs.pricing import PriceBook
from pmflow.costs.usage import pipeline_usage_row


@pytest.fixture(scope="module")
def world():
    return World.generate(11, "tiny")


@pytest.fixture(scope="module")
def org(world):
    return org_for(world)


@pytest.fixture(scope="module")
def http(org):
    return TestClient(create_app(org))


def sandbox_client(http, key=ADMIN_KEY, **kwargs):
    return OpenAIUsageClient(key, "http://testserver/openai/v1", http=http, sleep=lambda s: None, **kwargs)


def test_pages_cover_every_daily_bucket_once(org, http):
    client = sandbox_client(http)
    start = int(org.now.timestamp()) // DAY_S * DAY_S - 9 * DAY_S
    pages = list(client.usage_pages("completions", start, limit=3))
    starts = [b["start_time"] for p in pages for b in p.buckets]
    assert len(pages) == 4 and starts == [start + i * DAY_S for i in range(10)]
    assert [p.has_more for p in pages] == [True, True, True, False] and pages[-1].next_page is None
    results = pages[0].buckets[0]["results"]
    assert results and {r["object"] for r in results} == {"organization.usage.completions.result"}
    assert {"model", "project_id", "batch", "input_cached_tokens", "num_model_requests"} <= set(results[0])
    costs = list(client.cost_pages(start, limit=31))
    assert len(costs) == 1 and costs[0].buckets[0]["results"][0]["amount"]["currency"] == "usd"


def test_the_sandbox_refuses_a_project_key_and_the_client_says_why(http):
    with pytest.raises(PermanentError, match="admin key") as error:
        list(sandbox_client(http, key=API_KEY).usage_pages("completions", 1_790_000_000))
    assert API_KEY not in str(error.value)


def test_the_sandbox_answers_invalid_parameters_with_openai_errors(http):
    response = http.get("/openai/v1/organization/usage/completions", params={"start_time": 1, "limit": 99},
                        headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 400 and "limit" in response.json()["error"]["message"]
    with pytest.raises(PermanentError, match="HTTP 400"):
        list(sandbox_client(http).usage_pages("completions", 1, group_by=["colour"]))


def mock_client(handler, **kwargs):
    sleeps = []
    client = OpenAIUsageClient("sk-admin-test", "https://api.example/v1", http=httpx.Client(transport=httpx.MockTransport(handler)),
                               sleep=sleeps.append, **kwargs)
    return client, sleeps


def page(data=(), *, has_more=False, next_page=None):
    return httpx.Response(200, json={"object": "page", "data": list(data), "has_more": has_more, "next_page": next_page})


def test_rate_limits_are_retried_after_the_time_retry_after_asks():
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"message": "slow down"}}), page()])
    client, sleeps = mock_client(lambda request: next(answers))
    assert list(client.usage_pages("completions", 0))[0].buckets == []
    assert sleeps == [7.0] and client.calls == 2


def test_server_errors_and_timeouts_are_retried_then_surface_as_transient():
    answers = iter([httpx.Response(503, text="busy"), httpx.ConnectTimeout("slow"), page()])

    def handler(request):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client, sleeps = mock_client(handler)
    assert len(list(client.cost_pages(0))) == 1 and len(sleeps) == 2
    always, _ = mock_client(lambda request: httpx.Response(500, text="down"), max_retries=2)
    with pytest.raises(TransientError, match="HTTP 500"):
        list(always.cost_pages(0))
    assert always.calls == 3


def test_a_client_error_fails_at_once():
    client, sleeps = mock_client(lambda request: httpx.Response(401, json={"error": {"message": "Incorrect API key"}}))
    with pytest.raises(PermanentError, match="Incorrect API key"):
        list(client.usage_pages("embeddings", 0))
    assert client.calls == 1 and sleeps == []


def test_a_page_cursor_served_twice_stops_the_loop():
    client, _ = mock_client(lambda request: page(has_more=True, next_page="same"))
    with pytest.raises(PaginationError):
        list(client.usage_pages("completions", 0))
    assert client.calls == 2


def test_a_cut_body_is_transient():
    client, _ = mock_client(lambda request: httpx.Response(200, content=b'{"object": "pa'), max_retries=1)
    with pytest.raises(TransientError, match="non-JSON"):
        list(client.usage_pages("completions", 0))


def test_the_cursor_moves_to_the_last_closed_bucket_only():
    buckets = [{"start_time": 0, "end_time": 100}, {"start_time": 100, "end_time": 200}]
    assert complete_until(buckets, now=150, previous=None) == 100  # the second is still open
    assert complete_until(buckets, now=250, previous=None) == 200
    assert complete_until(buckets[:1], now=250, previous=300) == 300  # never moves back


def test_parsers_quarantine_negative_and_absurd_counts_with_a_reason():
    bucket = {"start_time": 86400, "end_time": 172800, "results": [
        {"object": "organization.usage.completions.result", "model": "gpt-4o", "project_id": "p", "batch": False,
         "input_tokens": 10, "output_tokens": 5, "input_cached_tokens": 2, "num_model_requests": 1},
        {"model": "gpt-4o", "project_id": "q", "input_tokens": -3, "output_tokens": 5, "num_model_requests": 1},
        {"model": "gpt-4o", "project_id": "r", "input_tokens": 10**15, "output_tokens": 5, "num_model_requests": 1},
        {"model": "gpt-4o", "project_id": "s", "input_tokens": "many", "output_tokens": 5, "num_model_requests": 1},
    ]}
    accepted, rejected = parse_usage_bucket(bucket, endpoint="completions", workspace_id="T1", max_tokens=10**12)
    assert [row["project"] for _, _, row in accepted] == ["p"]
    assert [reason.split(":")[0] for _, _, reason in rejected] == [
        "negative input_tokens", "absurd input_tokens", "input_tokens is not an integer"]
    costs = {"start_time": 0, "end_time": 86400, "results": [
        {"amount": {"value": 1.5, "currency": "usd"}, "line_item": "gpt-4o, input", "project_id": "p"},
        {"amount": {"value": None, "currency": "usd"}, "line_item": "x", "project_id": "p"},
    ]}
    accepted, rejected = parse_cost_bucket(costs, workspace_id="T1")
    assert len(accepted) == 1 and rejected[0][2].startswith("amount.value is not a number")


def test_sandbox_model_endpoints_speak_the_official_client(org, http):
    client = OpenAI(api_key=API_KEY, base_url="http://testserver/openai/v1", http_client=http)
    before = len(org.model_calls)
    chat = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Is ENG-12 done?"}])
    assert chat.usage.prompt_tokens > 0 and chat.usage.completion_tokens > 0 and chat.choices[0].message.content

    class Link(BaseModel):
        ticket: str
        confidence: float
        reasons: list[str]

    parsed = client.chat.completions.parse(model="gpt-4o-mini", messages=[{"role": "user", "content": "link"}],
                                           response_format=Link)
    assert isinstance(parsed.choices[0].message.parsed, Link) and parsed.usage.total_tokens > 0
    texts = ["the login page is broken", "login page broken again", "quarterly billing export"]
    embedded = client.embeddings.create(model="text-embedding-3-small", input=texts)  # base64 on the wire
    vectors = np.array([d.embedding for d in embedded.data])
    assert vectors.shape == (3, 1536) and embedded.usage.prompt_tokens > 0
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # shared words, similar vectors
    again = client.embeddings.create(model="text-embedding-3-small", input=texts[0], encoding_format="float")
    assert np.allclose(again.data[0].embedding, vectors[0], atol=1e-6)
    assert len(org.model_calls) == before + 4
    row = pipeline_usage_row("T1", chat, None, "run-1", ticket_id="ENG-12", price_book=PriceBook())
    assert row["usage_id"] == f"pipeline:{chat.id}" and row["model"] == "gpt-4o-mini" and row["cost_usd"] > 0


def test_sandbox_embeddings_wire_format(http):
    response = http.post("/openai/v1/embeddings", json={"model": "text-embedding-3-large", "input": ["a b"],
                                                         "encoding_format": "base64"},
                         headers={"Authorization": f"Bearer {API_KEY}"})
    body = response.json()
    vector = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
    assert body["object"] == "list" and vector.shape == (3072,) and body["usage"] == {"prompt_tokens": 1, "total_tokens": 1}
    missing = http.post("/openai/v1/embeddings", json={"model": "m"}, headers={"Authorization": f"Bearer {API_KEY}"})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "input"
    schema = {"type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": {
        "type": "object", "properties": {"kind": {"type": "string", "enum": ["bug", "feature"]}, "n": {"type": "integer"}},
        "required": ["kind", "n"], "additionalProperties": False}}}
    chat = http.post("/openai/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
                                                          "response_format": schema},
                     headers={"Authorization": f"Bearer {API_KEY}"}).json()
    assert json.loads(chat["choices"][0]["message"]["content"]) == {"kind": "bug", "n": 0}
    assert set(chat["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details"}
