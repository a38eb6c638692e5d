"""OpenAI organization Usage and Costs APIs: an httpx client and pure parse functions. No Prefect.

    GET {base}/organization/usage/{completions,embeddings,moderations}
    GET {base}/organization/costs
        ?start_time=<unix s>&end_time=<unix s>&bucket_width=1d&group_by=model&group_by=project_id
         &limit=<buckets per page>&page=<next_page of the previous page>
    -> {"object": "page", "data": [{"object": "bucket", "start_time", "end_time", "results": [...]}],
        "has_more": bool, "next_page": str | null}

Auth is an admin key (OPENAI_ADMIN_KEY) as a Bearer token. Retries: 429, 5xx, timeouts and
connection errors, honouring Retry-After, with exponential backoff and jitter; 4xx fail at once
(PermanentError) with OpenAI's own message. `next_page` is an opaque token: a fresh one is
followed (an empty page that carries one included), and one already followed stops the pagination
with PaginationError (connectors.errors.CursorGuard) rather than loop.

Incremental reading is by bucket: a bucket that ended before `now` is complete and moves the cursor;
the still-open current day is read (and its rows updated) on every run until it closes.
"""
from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from connectors.errors import CursorGuard, PermanentError, TransientError
from pmflow.costs.usage import as_int, token_problem

USAGE_ENDPOINTS = ("completions", "embeddings", "moderations")
"""Token-based usage endpoints priced per token (images, audio and vector stores are not)."""

USAGE_GROUP_BY = {
    "completions": ("model", "project_id", "batch"),
    "embeddings": ("model", "project_id"),
    "moderations": ("model", "project_id"),
}
COSTS_GROUP_BY = ("project_id", "line_item")
DAY_S = 86_400


@dataclass(frozen=True)
class Page:
    buckets: list[dict]
    has_more: bool
    next_page: str | None


class OpenAIUsageClient:
    """Reads usage and cost buckets page by page. One instance per task (not thread-safe)."""

    def __init__(
        self,
        admin_key: str,
        base_url: str = "https://api.openai.com/v1",
        *,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_backoff_s: float = 60.0,
        page_limit: int = 31,
    ):
        if not admin_key:
            raise PermanentError("OPENAI_ADMIN_KEY is not set: the organization Usage and Costs APIs need an admin key.")
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {admin_key}", "Accept": "application/json"}
        self._http = http or httpx.Client(timeout=timeout_s)
        self._owns_http = http is None
        self.max_retries = max_retries
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self.page_limit = page_limit  # buckets per page when a call names no limit
        self.calls = 0

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> OpenAIUsageClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def usage_pages(self, endpoint: str, start_time: int, end_time: int | None = None, *,
                    limit: int | None = None, group_by: Sequence[str] | None = None) -> Iterator[Page]:
        if endpoint not in USAGE_GROUP_BY:
            raise ValueError(f"unsupported usage endpoint {endpoint!r}; one of {sorted(USAGE_GROUP_BY)}")
        limit = min(limit or self.page_limit, 31)
        yield from self._pages(f"organization/usage/{endpoint}", start_time, end_time, limit=limit,
                               group_by=USAGE_GROUP_BY[endpoint] if group_by is None else group_by)

    def cost_pages(self, start_time: int, end_time: int | None = None, *, limit: int | None = None,
                   group_by: Sequence[str] = COSTS_GROUP_BY) -> Iterator[Page]:
        yield from self._pages("organization/costs", start_time, end_time, limit=min(limit or self.page_limit, 180),
                               group_by=group_by)

    def _pages(self, path: str, start_time: int, end_time: int | None, *, limit: int,
               group_by: Sequence[str]) -> Iterator[Page]:
        params: list[tuple[str, Any]] = [("start_time", int(start_time)), ("bucket_width", "1d"), ("limit", limit)]
        if end_time is not None:
            params.append(("end_time", int(end_time)))
        params += [("group_by", g) for g in group_by]
        guard = CursorGuard(f"OpenAI GET /{path}")
        page_token: str | None = None
        while True:
            body = self._get(path, params + ([("page", page_token)] if page_token else []))
            page = parse_page(body, path)
            yield page
            if not page.has_more or not page.next_page:
                return
            page_token = guard.follow(page.next_page)

    # -- HTTP ------------------------------------------------------------------------------------

    def _get(self, path: str, params: list[tuple[str, Any]]) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._get_once, path, params)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.max_backoff_s)
        return min(self.max_backoff_s, 0.5 * 2 ** (state.attempt_number - 1)) * (0.5 + random.random() / 2)

    def _get_once(self, path: str, params: list[tuple[str, Any]]) -> Any:
        self.calls += 1
        url = f"{self.base_url}/{path}"
        try:
            response = self._http.get(url, params=params, headers=self._headers)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise TransientError(f"GET /{path}: {type(exc).__name__} talking to {self.base_url}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            error = TransientError(f"GET /{path}: HTTP {status} {_error_message(response)}".strip())
            error.retry_after = _retry_after(response.headers.get("retry-after"))
            raise error
        if status in (401, 403):
            raise PermanentError(
                f"GET /{path}: HTTP {status} - OPENAI_ADMIN_KEY was refused ({_error_message(response)}). "
                "The Usage and Costs APIs need an organization admin key (sk-admin-...), not a project key."
            )
        if status >= 400:
            raise PermanentError(f"GET /{path}: HTTP {status} {_error_message(response)}")
        try:
            return response.json()
        except ValueError:
            raise TransientError(f"GET /{path}: truncated or non-JSON body (HTTP {status})") from None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            moment = datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
        except ValueError:
            return None
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, Mapping):
            return str(error.get("message") or error.get("code") or "")
        return str(error or "")
    except (ValueError, AttributeError):
        return response.text[:200]


# -- pure parsing --------------------------------------------------------------------------------


def parse_page(body: Any, path: str = "") -> Page:
    if not isinstance(body, Mapping) or body.get("object") != "page" or not isinstance(body.get("data"), list):
        raise TransientError(f"GET /{path}: unexpected body, not a page of buckets")
    return Page(buckets=body["data"], has_more=bool(body.get("has_more")), next_page=body.get("next_page"))


def complete_until(buckets: Sequence[Mapping], now: int, previous: int | None) -> int | None:
    """The new cursor: the end of the last bucket that closed before `now` (never moves back)."""
    ends = [int(b["end_time"]) for b in buckets
            if isinstance(b, Mapping) and isinstance(b.get("end_time"), int) and b["end_time"] <= now]
    best = max(ends, default=None)
    if previous is not None and (best is None or best < previous):
        return previous
    return best


def usage_id(endpoint: str, bucket_start: int, result: Mapping) -> str:
    """Stable key of one usage result: the bucket and every grouping field it carries."""
    parts = [endpoint, str(bucket_start)] + [
        f"{k}={result.get(k)}" for k in ("project_id", "model", "batch", "service_tier", "api_key_id", "user_id")
        if result.get(k) is not None
    ]
    return "openai_usage:" + ":".join(parts)


def parse_usage_bucket(bucket: Mapping, *, endpoint: str, workspace_id: str, max_tokens: int):
    """Rows for core.llm_usage (source 'openai_usage') from one bucket, plus rejects.

    Returns (accepted [(record_key, payload, row)], rejected [(record_key, payload, reason)])."""
    accepted, rejected = [], []
    problem = bucket_problem(bucket)
    if problem:
        return [], [(None, bucket if isinstance(bucket, Mapping) else {"bucket": bucket}, problem)]
    start, end = bucket["start_time"], bucket["end_time"]
    occurred_at = datetime.fromtimestamp(start, UTC)
    for result in bucket.get("results") or []:
        if not isinstance(result, Mapping):
            payload = {"endpoint": endpoint, "bucket_start": start, "bucket_end": end, "result": result}
            rejected.append((None, payload, "result is not an object"))
            continue
        payload = {"endpoint": endpoint, "bucket_start": start, "bucket_end": end, **result}
        key = usage_id(endpoint, start, result)
        wrong = _not_text(result, ("model", "project_id"))
        if wrong:
            rejected.append((key, payload, wrong))
            continue
        input_tokens = as_int(result.get("input_tokens", 0))
        output_tokens = as_int(result.get("output_tokens", 0) or 0)
        cached = as_int(result.get("input_cached_tokens", 0) or 0)
        requests = as_int(result.get("num_model_requests", 0) or 0)
        problem = token_problem(input_tokens, output_tokens, cached, max_tokens=max_tokens, requests=requests)
        if problem:
            rejected.append((key, payload, problem))
            continue
        accepted.append((key, payload, {
            "workspace_id": workspace_id,
            "usage_id": key,
            "occurred_at": occurred_at,
            "usage_day": occurred_at.date(),
            "source": "openai_usage",
            "provider": "openai",
            "model": result.get("model"),
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cached_tokens": cached,
            "requests": requests,
            "project": result.get("project_id"),
            "ticket_id": None,
            "agent": None,
            "flow_run_id": None,
            "flow_name": None,
            "endpoint": endpoint,
            "batch": bool(result.get("batch")) if result.get("batch") is not None else False,
        }))
    return accepted, rejected


def cost_id(bucket_start: int, result: Mapping) -> str:
    basis = f"{bucket_start}|{result.get('project_id')}|{result.get('line_item')}"
    return f"{bucket_start}:{hashlib.md5(basis.encode()).hexdigest()[:16]}"


def parse_cost_bucket(bucket: Mapping, *, workspace_id: str):
    """Rows for core.openai_costs from one Costs API bucket, plus rejects (same shape as usage)."""
    accepted, rejected = [], []
    problem = bucket_problem(bucket)
    if problem:
        return [], [(None, bucket if isinstance(bucket, Mapping) else {"bucket": bucket}, problem)]
    start, end = bucket["start_time"], bucket["end_time"]
    for result in bucket.get("results") or []:
        if not isinstance(result, Mapping):
            rejected.append((None, {"bucket_start": start, "bucket_end": end, "result": result},
                             "result is not an object"))
            continue
        payload = {"bucket_start": start, "bucket_end": end, **result}
        key = cost_id(start, result)
        amount = result.get("amount") or {}
        wrong = ("amount is not an object" if not isinstance(amount, Mapping)
                 else _not_text(result, ("project_id", "line_item")) or _not_text(amount, ("currency",)))
        if wrong:
            rejected.append((key, payload, wrong))
            continue
        value = amount.get("value")
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            rejected.append((key, payload, f"amount.value is not a number: {value!r}"))
            continue
        accepted.append((key, payload, {
            "workspace_id": workspace_id,
            "cost_id": key,
            "usage_day": datetime.fromtimestamp(start, UTC).date(),
            "bucket_start": datetime.fromtimestamp(start, UTC),
            "bucket_end": datetime.fromtimestamp(end, UTC),
            "project_id": result.get("project_id"),
            "line_item": result.get("line_item"),
            "amount": float(value),
            "currency": str(amount.get("currency") or "usd").lower(),
        }))
    return accepted, rejected


def bucket_problem(bucket: Any) -> str | None:
    """Why a bucket cannot be read at all (its results then go to quarantine with it), or None."""
    if not isinstance(bucket, Mapping):
        return f"bucket is {type(bucket).__name__}, expected an object"
    start, end = bucket.get("start_time"), bucket.get("end_time")
    if not isinstance(start, int) or isinstance(start, bool) or not isinstance(end, int) or isinstance(end, bool):
        return "bucket without integer start_time/end_time"
    try:
        datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    except (OverflowError, OSError, ValueError):
        return f"start_time {start} or end_time {end} is not a plausible time"
    if not isinstance(bucket.get("results") or [], list):
        return "bucket results is not a list"
    return None


def _not_text(obj: Mapping, names: Sequence[str]) -> str | None:
    """A reason when one of these fields is present but not a string (a grouping value must be)."""
    for name in names:
        if obj.get(name) is not None and not isinstance(obj.get(name), str):
            return f"{name} is not a string: {obj.get(name)!r}"[:200]
    return None


def day_start(ts: float) -> int:
    return int(ts) // DAY_S * DAY_S
