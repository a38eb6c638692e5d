"""core.llm_usage rows for pmflow's own model calls, and the checks every usage row passes.

Other flows (matching, standups) record each model call they make:

    from pmflow.costs.usage import pipeline_usage_row

    response = client.chat.completions.create(model="gpt-4o-mini", messages=...)
    row = pipeline_usage_row(workspace_id, response, "gpt-4o-mini", flow_run_id,
                             ticket_id="ENG-12", agent="matcher", flow_name="match")
    # ... then write it with the task's own batch: Batch(..., upserts={"core.llm_usage": rows})

`response_usage` may be the whole response (its id becomes the idempotency key, its `usage` is read)
or just the usage object / dict, in any of the shapes OpenAI (chat completions, responses,
embeddings) or Anthropic return. Pass `call_id` (e.g. the response id) when giving a bare usage:
without it the key is a hash of the row's content and time.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pmflow.costs.pricing import PriceBook, load_overrides

USAGE_COLUMNS = (
    "workspace_id", "usage_id", "occurred_at", "usage_day", "source", "provider", "model",
    "input_tokens", "output_tokens", "cached_tokens", "requests", "cost_usd", "price_status",
    "project", "ticket_id", "agent", "flow_run_id", "flow_name", "endpoint", "batch",
)

SOURCE_PIPELINE = "pipeline"
SOURCE_OPENAI_USAGE = "openai_usage"
SOURCE_AGENT_TRACE = "agent_trace"


class InvalidUsage(ValueError):
    """A usage record that cannot be trusted (negative, absurd or inconsistent token counts)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def token_problem(input_tokens: Any, output_tokens: Any, cached_tokens: Any, *, max_tokens: int,
                  requests: Any = 1) -> str | None:
    """Why these counts must be quarantined, or None when they are plausible."""
    for name, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens),
                        ("cached_tokens", cached_tokens), ("requests", requests)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} is not an integer: {value!r}"
        if value < 0:
            return f"negative {name}: {value}"
        if value > max_tokens:
            return f"absurd {name}: {value} exceeds the plausible maximum {max_tokens}"
    if cached_tokens is not None and input_tokens is not None and cached_tokens > input_tokens:
        return f"cached_tokens {cached_tokens} exceed input_tokens {input_tokens}"
    return None


def as_int(value: Any) -> Any:
    """An integral float or numeric string becomes an int; anything else is returned for the checks."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return value
    return value


def utc_day(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


def usage_counts(usage: Any) -> tuple[Any, Any, Any]:
    """(input including cached, output, cached) from an OpenAI or Anthropic usage object or dict."""
    get = _getter(usage)
    if get("cache_read_input_tokens") is not None or get("cache_creation_input_tokens") is not None:
        # Anthropic: input_tokens excludes cache reads and writes.
        read = as_int(get("cache_read_input_tokens")) or 0
        write = as_int(get("cache_creation_input_tokens")) or 0
        base = as_int(get("input_tokens")) or 0
        total = base + read + write if all(isinstance(v, int) for v in (base, read, write)) else base
        return total, as_int(get("output_tokens")) or 0, read
    input_tokens = get("input_tokens")
    details = get("input_tokens_details")
    if input_tokens is None:
        input_tokens = get("prompt_tokens")
        details = get("prompt_tokens_details")
    output_tokens = get("output_tokens")
    if output_tokens is None:
        output_tokens = get("completion_tokens")
    cached = _getter(details)("cached_tokens") if details is not None else None
    return as_int(input_tokens) or 0, as_int(output_tokens) or 0, as_int(cached) or 0


_DEFAULT_BOOK: PriceBook | None = None


def default_price_book() -> PriceBook:
    """The catalogue plus the configured overrides (read once per process)."""
    global _DEFAULT_BOOK
    if _DEFAULT_BOOK is None:
        from pmflow.cost_settings import cost_settings

        settings = cost_settings()
        _DEFAULT_BOOK = PriceBook(load_overrides(settings.overrides_path()), batch_discount=settings.batch_discount)
    return _DEFAULT_BOOK


def pipeline_usage_row(
    workspace_id: str,
    response_usage: Any,
    model: str | None,
    flow_run_id: str | None,
    ticket_id: str | None = None,
    project: str | None = None,
    agent: str | None = None,
    *,
    call_id: str | None = None,
    occurred_at: datetime | None = None,
    provider: str = "openai",
    flow_name: str | None = None,
    endpoint: str | None = None,
    batch: bool = False,
    price_book: PriceBook | None = None,
    max_tokens: int = 10_000_000,
) -> dict:
    """A core.llm_usage row (source 'pipeline') for one model call pmflow made, priced.

    Raises InvalidUsage (with .reason) for negative, absurd or inconsistent counts: quarantine
    it with warehouse.Rejected(payload, exc.reason) rather than writing it."""
    response = response_usage
    usage = _getter(response)("usage")
    if usage is None:
        usage, response = response, None
    get_response = _getter(response)
    call_id = call_id or (get_response("id") if response is not None else None)
    model = model or (get_response("model") if response is not None else None)
    if occurred_at is None:
        created = get_response("created") if response is not None else None
        occurred_at = datetime.fromtimestamp(created, UTC) if isinstance(created, (int, float)) else datetime.now(UTC)
    elif occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    input_tokens, output_tokens, cached_tokens = usage_counts(usage)
    problem = token_problem(input_tokens, output_tokens, cached_tokens, max_tokens=max_tokens)
    if problem:
        raise InvalidUsage(problem)
    if call_id is None:
        basis = "|".join(map(str, (workspace_id, flow_run_id, model, occurred_at.isoformat(), input_tokens,
                                   output_tokens, cached_tokens, ticket_id, project, agent)))
        call_id = "h" + hashlib.sha1(basis.encode()).hexdigest()[:24]
    day = utc_day(occurred_at)
    rate = (price_book or default_price_book()).rate(workspace_id, provider, model, day, batch)
    return {
        "workspace_id": workspace_id,
        "usage_id": f"{SOURCE_PIPELINE}:{call_id}",
        "occurred_at": occurred_at,
        "usage_day": day,
        "source": SOURCE_PIPELINE,
        "provider": provider,
        "model": model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_tokens": cached_tokens,
        "requests": 1,
        "cost_usd": rate.cost(input_tokens, cached_tokens, output_tokens),
        "price_status": rate.status,
        "project": project,
        "ticket_id": ticket_id,
        "agent": agent,
        "flow_run_id": flow_run_id,
        "flow_name": flow_name,
        "endpoint": endpoint,
        "batch": batch,
    }


def _getter(obj: Any):
    if obj is None:
        return lambda key: None
    if isinstance(obj, Mapping):
        return obj.get
    return lambda key: getattr(obj, key, None)
