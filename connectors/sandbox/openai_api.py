"""The sandbox's OpenAI service, in OpenAI's wire format, mounted under /openai (so clients use
OPENAI_BASE_URL=http://<host>:<port>/openai/v1).

    GET  /openai/v1/organization/usage/{completions,embeddings,moderations,images,audio_speeches,
                                        audio_transcriptions,vector_stores,code_interpreter_sessions}
    GET  /openai/v1/organization/costs
    POST /openai/v1/chat/completions     (deterministic answer; response_format json_schema honoured)
    POST /openai/v1/embeddings           (deterministic bag-of-words hash vectors; float or base64)

Organization endpoints need an admin key (Bearer sk-admin-...; the sandbox's is
openai_data.ADMIN_KEY) and answer 403 to other keys, as OpenAI does; model endpoints take any
Bearer key. Usage and costs come from the world's OpenAIOrg (openai_data.py): daily buckets
(bucket_width=1d; 1h and 1m are refused with a 400 here), `limit` buckets per page (usage default
7, max 31; costs default 7, max 180), `page` / `next_page` / `has_more`, `group_by` (also as
`group_by[]`), `models`, `project_ids` and `batch` filters. `end_time` defaults to the world's now,
so the current day is an open, partial bucket.

Pagination faults (connectors/sandbox/faults.py) reach the usage and costs endpoints through the
server's `x-sandbox-fault` header (server.AsgiService) and are applied to any non-empty page:
`empty_page` serves no buckets with a fresh `next_page` that starts where this page started;
`duplicate_page` serves the page with a fresh `next_page` that leads to this very page again;
`repeat_cursor` serves it with a `next_page` that, once followed, is answered with itself forever.
`next_page` tokens are opaque to clients (base64 of the page's first day and the fault's mark).

Every model call is appended to `org.model_calls` (ground truth for the code that makes them);
those calls are not added to the organization usage.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.sandbox.openai_data import DAY_S, OpenAIOrg
from connectors.sandbox.server import FAULT_APPLIED_HEADER, FAULT_HEADER

PREFIX = "/openai"
USAGE_ENDPOINTS = ("completions", "embeddings", "moderations", "images", "audio_speeches",
                   "audio_transcriptions", "vector_stores", "code_interpreter_sessions")
USAGE_GROUP_BY = {"project_id", "user_id", "api_key_id", "model", "batch", "service_tier"}
COSTS_GROUP_BY = {"project_id", "line_item"}
EMBEDDING_DIMS = {"text-embedding-3-large": 3072}
DEFAULT_EMBEDDING_DIMS = 1536


class OpenAIError(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}},
            status_code=self.status,
        )


def build_router(org: OpenAIOrg) -> APIRouter:
    """The OpenAI routes (relative to /openai) over one organization."""
    router = APIRouter()

    @router.get("/v1/organization/usage/{endpoint}")
    def usage(endpoint: str, request: Request):
        try:
            _require_admin(request)
            if endpoint not in USAGE_ENDPOINTS:
                raise OpenAIError(404, f"Invalid URL (GET /v1/organization/usage/{endpoint})")
            q = request.query_params
            group_by = set(_list(q, "group_by"))
            unknown = group_by - USAGE_GROUP_BY
            if unknown:
                raise OpenAIError(400, f"Invalid group_by value(s): {sorted(unknown)}", param="group_by")
            days, has_more, next_page, fault = _window(q, org, default_limit=7, max_limit=31,
                                                       fault=request.headers.get(FAULT_HEADER))
            batch = q.get("batch")
            batch_filter = None if batch is None else batch.lower() == "true"
            data = [
                _bucket(day_start, org.usage_results(endpoint, _day(day_start), group_by, models=_list(q, "models"),
                                                     project_ids=_list(q, "project_ids"), batch=batch_filter)
                        if endpoint in ("completions", "embeddings") else [])
                for day_start in days
            ]
            return _page(data, has_more, next_page, fault)
        except OpenAIError as exc:
            return exc.response()

    @router.get("/v1/organization/costs")
    def costs(request: Request):
        try:
            _require_admin(request)
            q = request.query_params
            group_by = set(_list(q, "group_by"))
            unknown = group_by - COSTS_GROUP_BY
            if unknown:
                raise OpenAIError(400, f"Invalid group_by value(s): {sorted(unknown)}", param="group_by")
            days, has_more, next_page, fault = _window(q, org, default_limit=7, max_limit=180,
                                                       fault=request.headers.get(FAULT_HEADER))
            data = [_bucket(d, org.cost_results(_day(d), group_by, project_ids=_list(q, "project_ids"))) for d in days]
            return _page(data, has_more, next_page, fault)
        except OpenAIError as exc:
            return exc.response()

    @router.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        try:
            _require_key(request)
            body = await _json_body(request)
            model, messages = body.get("model"), body.get("messages")
            if not isinstance(model, str) or not model:
                raise OpenAIError(400, "you must provide a model parameter", param="model")
            if not isinstance(messages, list) or not messages:
                raise OpenAIError(400, "'messages' must be a non-empty array", param="messages")
            return chat_completion(org, model, messages, body.get("response_format"))
        except OpenAIError as exc:
            return exc.response()

    @router.post("/v1/embeddings")
    async def embeddings(request: Request):
        try:
            _require_key(request)
            body = await _json_body(request)
            return embedding_response(org, body)
        except OpenAIError as exc:
            return exc.response()

    return router


def create_app(org: OpenAIOrg) -> FastAPI:
    """A standalone app serving only the OpenAI routes under /openai (tests, or mounting elsewhere)."""
    app = FastAPI(title="pmflow sandbox: OpenAI")
    app.include_router(build_router(org), prefix=PREFIX)
    return app


# -- organization endpoints ------------------------------------------------------------------------


def _require_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        raise OpenAIError(401, "You didn't provide an API key. You need to provide your API key in an Authorization "
                               "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
    return header[7:].strip()


def _require_admin(request: Request) -> None:
    key = _require_key(request)
    if not key.startswith("sk-admin"):
        raise OpenAIError(403, "You have insufficient permissions for this operation. Missing scopes: "
                               "api.usage.read. Use an admin key.", code="insufficient_permissions")


def _list(q, name: str) -> list[str]:
    return q.getlist(name) + q.getlist(f"{name}[]")


def _int(q, name: str, default: int | None = None) -> int | None:
    value = q.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise OpenAIError(400, f"Invalid value for '{name}': expected an integer.", param=name) from None


def _window(q, org: OpenAIOrg, *, default_limit: int, max_limit: int,
            fault: str | None = None) -> tuple[list[int], bool, str | None, str | None]:
    """The day starts of this page, has_more, the next page token, and the pagination fault applied."""
    start = _int(q, "start_time")
    if start is None:
        raise OpenAIError(400, "Missing required parameter: 'start_time'.", param="start_time")
    width = q.get("bucket_width", "1d")
    if width not in ("1m", "1h", "1d"):
        raise OpenAIError(400, f"Invalid bucket_width {width!r}: expected 1m, 1h or 1d.", param="bucket_width")
    if width != "1d":
        raise OpenAIError(400, "The sandbox serves bucket_width=1d only.", param="bucket_width")
    end = _int(q, "end_time", int(org.now.timestamp()))
    limit = _int(q, "limit", default_limit)
    if not 1 <= limit <= max_limit:
        raise OpenAIError(400, f"Invalid limit {limit}: must be between 1 and {max_limit}.", param="limit")
    first, mark = start // DAY_S * DAY_S, ""
    page = q.get("page")
    if page:
        first, mark = _decode_page(page)
    starts = list(range(first, end, DAY_S))
    page_days = starts[:limit]
    if mark == "loop":  # a repeat_cursor fault sticks to its token
        return page_days, True, page, None
    if fault and page_days:
        again = int(mark.rpartition(":")[2]) + 1 if mark.startswith(("empty:", "dup:")) else 1
        if fault == "empty_page":
            return [], True, _encode_page(first, f"empty:{again}"), fault
        if fault == "duplicate_page":
            return page_days, True, _encode_page(first, f"dup:{again}"), fault
        if fault == "repeat_cursor":
            return page_days, True, _encode_page(first, "loop"), fault
    has_more = len(starts) > limit
    return page_days, has_more, _encode_page(starts[limit]) if has_more else None, None


def _encode_page(first_day: int, mark: str = "") -> str:
    return base64.urlsafe_b64encode(f"d:{first_day}{':' + mark if mark else ''}".encode()).decode()


def _decode_page(page: str) -> tuple[int, str]:
    """(first day, fault mark) of a page token."""
    try:
        kind, _, rest = base64.urlsafe_b64decode(page.encode()).decode().partition(":")
        value, _, mark = rest.partition(":")
        if kind != "d":
            raise ValueError
        return int(value), mark
    except (ValueError, UnicodeDecodeError):
        raise OpenAIError(400, f"Invalid page cursor {page!r}.", param="page") from None


def _page(data: list, has_more: bool, next_page: str | None, fault: str | None) -> JSONResponse:
    body = {"object": "page", "data": data, "has_more": has_more, "next_page": next_page}
    return JSONResponse(body, headers={FAULT_APPLIED_HEADER: fault} if fault else None)


def _bucket(day_start: int, results: list[dict]) -> dict:
    return {"object": "bucket", "start_time": day_start, "end_time": day_start + DAY_S, "results": results}


def _day(day_start: int):
    return datetime.fromtimestamp(day_start, UTC).date()


async def _json_body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise OpenAIError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise OpenAIError(400, "The request body must be a JSON object.")
    return body


# -- model endpoints -------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """About four characters a token, at least one for non-empty text."""
    return 0 if not text else max(1, (len(text) + 3) // 4)


def _message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def chat_completion(org: OpenAIOrg, model: str, messages: list, response_format: Any = None) -> dict:
    prompt = "\n".join(_message_text(m) for m in messages)
    prompt_tokens = sum(count_tokens(_message_text(m)) + 4 for m in messages) + 3
    last_user = next((_message_text(m) for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), "")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        content = json.dumps(schema_instance(schema, seed=last_user), ensure_ascii=False)
    elif isinstance(response_format, dict) and response_format.get("type") == "json_object":
        content = json.dumps({"answer": f"Sandbox answer about: {last_user[:80]}"}, ensure_ascii=False)
    else:
        content = f"Sandbox answer about: {last_user[:80]}".strip()
    completion_tokens = count_tokens(content)
    with org.lock:
        sequence = len(org.model_calls)
        prompt_hash = hashlib.sha1(prompt.encode()).hexdigest()
        seen = any(c.get("prompt_hash") == prompt_hash for c in org.model_calls)
        cached = (prompt_tokens // 128) * 128 if seen and prompt_tokens >= 1024 else 0
        call_id = "chatcmpl-" + hashlib.sha1(f"{org.seed}:{sequence}:{model}:{prompt_hash}".encode()).hexdigest()[:24]
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        org.model_calls.append({"endpoint": "chat.completions", "id": call_id, "model": model,
                                "prompt_hash": prompt_hash, "usage": usage})
    return {
        "id": call_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None,
                                             "annotations": []},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_sandbox",
    }


def schema_instance(schema: Any, *, seed: str = "", depth: int = 0, root: Any = None) -> Any:
    """A minimal value valid against a (structured-output subset of) JSON schema, $refs included."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 20:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return schema_instance(target, seed=seed, depth=depth + 1, root=root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf"):
        if schema.get(combinator):
            return schema_instance(schema[combinator][0], seed=seed, depth=depth + 1, root=root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: schema_instance(sub, seed=seed, depth=depth + 1, root=root) for name, sub in props.items()}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [schema_instance(schema.get("items") or {}, seed=seed, depth=depth + 1, root=root) for _ in range(count)]
    if kind == "string":
        return f"sandbox: {seed[:60]}".strip() if seed else "sandbox"
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None


_WORD = re.compile(r"[\w']+", re.UNICODE)


@lru_cache(maxsize=200_000)
def _word_vector(word: str, dims: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dims).astype(np.float32)


def embed_text(text: str, dims: int) -> np.ndarray:
    """Deterministic unit vector: the normalised sum of hashed word vectors, so texts that share
    words point in similar directions (a crude but stable stand-in for semantics)."""
    words = [w.lower() for w in _WORD.findall(text)] or [""]
    vector = np.zeros(dims, dtype=np.float32)
    for word in words:
        vector += _word_vector(word, dims)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def embedding_response(org: OpenAIOrg, body: dict) -> dict:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise OpenAIError(400, "you must provide a model parameter", param="model")
    raw = body.get("input")
    if isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
        inputs = [" ".join(f"t{x}" for x in raw)]
    elif isinstance(raw, list) and raw and all(isinstance(x, str) for x in raw):
        inputs = raw
    elif isinstance(raw, list) and raw and all(isinstance(x, list) for x in raw):
        inputs = [" ".join(f"t{t}" for t in x) for x in raw]
    else:
        raise OpenAIError(400, "'input' must be a non-empty string or array", param="input")
    if any(isinstance(x, str) and x == "" for x in inputs):
        raise OpenAIError(400, "'input' cannot contain an empty string", param="input")
    dims = body.get("dimensions") or EMBEDDING_DIMS.get(model, DEFAULT_EMBEDDING_DIMS)
    if not isinstance(dims, int) or dims < 1:
        raise OpenAIError(400, "'dimensions' must be a positive integer", param="dimensions")
    encoding = body.get("encoding_format", "float")
    data = []
    for index, text in enumerate(inputs):
        vector = embed_text(text, dims)
        embedding: Any = (base64.b64encode(vector.astype("<f4").tobytes()).decode()
                          if encoding == "base64" else [float(x) for x in vector])
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(count_tokens(t) for t in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    with org.lock:
        org.model_calls.append({"endpoint": "embeddings", "model": model, "inputs": len(inputs), "usage": usage})
    return {"object": "list", "data": data, "model": model, "usage": usage}

