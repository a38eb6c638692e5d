"""Agent traces as JSONL: model-call usage (OpenTelemetry GenAI attributes) -> core.llm_usage rows.

One JSON object per line. Attributes may sit at the top level or under "attributes" (the latter
win), with OpenTelemetry GenAI names:

    {"event_id": "evt-1", "timestamp": "2026-11-02T10:00:00Z",
     "attributes": {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4.1",
                    "gen_ai.response.model": "gpt-4.1-2025-04-14",       (optional, preferred)
                    "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 300,
                    "gen_ai.usage.cache_read.input_tokens": 800,          (optional)
                    "gen_ai.agent.name": "triage-bot", "pmflow.project": "proj_eng",
                    "pmflow.ticket_id": "ENG-12", "pmflow.workspace_id": "T0001"}}   (optional)

A line may also be an OTLP/JSON export ({"resourceSpans": [...]}): each span is read, with its
resource attributes. Times: end_time / timestamp, else start_time (ISO 8601 or Unix s/ms/us/ns).
Only lines carrying gen_ai.usage.* are model calls; other agent events (tasks, decisions,
handoffs) are skipped here (their parsing into core.agent_events belongs to journeys). A usage line
that cannot be trusted is rejected with its reason: invalid JSON, no timestamp, no model, negative,
absurd or inconsistent token counts.

Reading is incremental per file: the cursor is the byte offset after the last complete line, and a
file that shrank (rotated or rewritten) is read again from the start. Keys are the event ids, so
re-reading is idempotent. No Prefect here.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pmflow.costs.usage import as_int, token_problem

SKIP = None

_ID_KEYS = ("pmflow.event_id", "event_id", "span_id", "spanId", "id", "event.id")
# When the call happened: its end (as journeys' agent events), else its start.
_TIME_KEYS = ("end_time", "endTime", "end_time_unix_nano", "endTimeUnixNano", "timestamp", "time", "occurred_at",
              "time_unix_nano", "timeUnixNano", "start_time", "startTime", "start_time_unix_nano", "startTimeUnixNano")
_INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
_OUTPUT_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
_CACHED_KEYS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
                "gen_ai.usage.cached_tokens", "gen_ai.usage.input_tokens.cached")


def trace_files(path: str | Path) -> list[Path]:
    """A JSONL file, or every *.jsonl file under a directory, in name order."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*.jsonl") if p.is_file())
    return [path] if path.exists() else []


def read_new_lines(path: Path, offset: int = 0, *, max_bytes: int | None = None) -> tuple[list[str], int]:
    """The complete lines after byte `offset` (about `max_bytes` of them at most) and the offset
    after the last of them.

    A trailing line without a newline is left for the next read (it may still be being written).
    A file shorter than `offset` was rotated or rewritten: it is read from the start."""
    size = path.stat().st_size
    if size < offset:
        offset = 0
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read() if max_bytes is None else handle.read(max_bytes)
        if max_bytes is not None and b"\n" not in data and len(data) == max_bytes:
            data += handle.readline()  # one line longer than max_bytes
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    chunk = data[: end + 1]
    lines = [line.decode("utf-8", errors="replace") for line in chunk.split(b"\n")]
    return [line for line in lines if line.strip()], offset + end + 1


def attributes(obj: Mapping) -> dict:
    merged = {k: v for k, v in obj.items() if k != "attributes"}
    attrs = obj.get("attributes")
    if isinstance(attrs, Mapping):
        merged.update(attrs)
    elif isinstance(attrs, list):  # OTLP JSON: [{"key": ..., "value": {"intValue": ...}}]
        for item in attrs:
            if isinstance(item, Mapping) and "key" in item:
                value = item.get("value")
                if isinstance(value, Mapping) and value:
                    value = next(iter(value.values()))
                merged[item["key"]] = value
    return merged


def is_usage(attrs: Mapping) -> bool:
    return any(k in attrs for k in _INPUT_KEYS + _OUTPUT_KEYS)


def parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, (int, float)):
        seconds = float(value)
        for threshold, scale in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):  # ns, us, ms
            if abs(seconds) > threshold:
                seconds /= scale
                break
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _first(attrs: Mapping, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if attrs.get(key) is not None:
            return attrs[key]
    return None


def spans(obj: Mapping) -> Iterator[Mapping]:
    """The spans of one line: the line itself, or each span of an OTLP/JSON export line
    ({"resourceSpans": [...]}) with its resource attributes merged in."""
    if "resourceSpans" not in obj:
        yield obj
        return
    for resource_spans in obj.get("resourceSpans") or []:
        resource = attributes({"attributes": (resource_spans.get("resource") or {}).get("attributes")})
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for span in scope_spans.get("spans") or []:
                own = attributes({"attributes": span.get("attributes")})
                yield {**span, "attributes": {**resource, **own}}


def parse_usage_line(text: str, *, workspace_id: str, max_tokens: int = 10_000_000):
    """One JSONL line -> (record_key, payload, row) for a model call, SKIP (None) for another
    event, or raises TraceRejected(record_key, payload, reason). An OTLP export line with several
    spans: use parse_lines."""
    results = list(_parse_line(text, workspace_id=workspace_id, max_tokens=max_tokens))
    for result in results:
        if isinstance(result, TraceRejected):
            raise result
    calls = [r for r in results if r is not SKIP]
    return calls[0] if calls else SKIP


def _parse_line(text: str, *, workspace_id: str, max_tokens: int):
    try:
        obj = json.loads(text)
    except ValueError as exc:
        yield TraceRejected(None, {"line": text[:2000]}, f"not valid JSON: {exc.msg}")
        return
    if not isinstance(obj, Mapping):
        yield TraceRejected(None, {"line": text[:2000]}, f"line is {type(obj).__name__}, expected an object")
        return
    try:
        items = list(spans(obj))
    except (AttributeError, TypeError) as exc:
        yield TraceRejected(None, {"line": text[:2000]}, f"malformed line: {exc}")
        return
    for span in items:
        try:
            yield parse_usage_span(span, workspace_id=workspace_id, max_tokens=max_tokens)
        except TraceRejected as exc:
            yield exc


def parse_usage_span(obj: Mapping, *, workspace_id: str, max_tokens: int = 10_000_000):
    """One span or event -> (record_key, payload, row), SKIP, or raises TraceRejected."""
    attrs = attributes(obj)
    if not is_usage(attrs):
        return SKIP
    event_id = _first(attrs, _ID_KEYS)
    # Without an id, the same hash of the span as journeys' agent events uses.
    key = str(event_id) if event_id is not None else (
        "h" + hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:24])
    moment = parse_time(_first(attrs, _TIME_KEYS))
    if moment is None:
        raise TraceRejected(key, obj, "no parsable timestamp")
    model = _first(attrs, ("gen_ai.response.model", "gen_ai.request.model", "model"))
    if not isinstance(model, str) or not model.strip():
        raise TraceRejected(key, obj, "no gen_ai.request.model")
    input_tokens = as_int(_first(attrs, _INPUT_KEYS) or 0)
    output_tokens = as_int(_first(attrs, _OUTPUT_KEYS) or 0)
    cached = as_int(_first(attrs, _CACHED_KEYS) or 0)
    problem = token_problem(input_tokens, output_tokens, cached, max_tokens=max_tokens)
    if problem:
        raise TraceRejected(key, obj, problem)
    workspace = _first(attrs, ("pmflow.workspace_id", "workspace_id")) or workspace_id
    return key, obj, {
        "workspace_id": str(workspace),
        "usage_id": f"agent_trace:{key}",
        "occurred_at": moment,
        "usage_day": moment.astimezone(UTC).date(),
        "source": "agent_trace",
        "provider": _first(attrs, ("gen_ai.provider.name", "gen_ai.system", "provider")),
        "model": model.strip(),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_tokens": cached,
        "requests": 1,
        "project": _str(_first(attrs, ("pmflow.project", "project", "project_id"))),
        "ticket_id": _str(_first(attrs, ("pmflow.ticket_id", "pmflow.ticket", "ticket_id", "ticket"))),
        "agent": _str(_first(attrs, ("gen_ai.agent.name", "agent", "agent_name"))),
        "flow_run_id": None,
        "flow_name": None,
        "endpoint": _str(_first(attrs, ("gen_ai.operation.name",))),
        "batch": False,
    }


class TraceRejected(ValueError):
    def __init__(self, record_key: str | None, payload: Any, reason: str):
        super().__init__(reason)
        self.record_key, self.payload, self.reason = record_key, payload, reason


def parse_lines(lines: list[str], *, workspace_id: str, max_tokens: int = 10_000_000) -> Iterator[tuple]:
    """("ok", key, payload, row) or ("rejected", key, payload, reason) for each model call."""
    for text in lines:
        for parsed in _parse_line(text, workspace_id=workspace_id, max_tokens=max_tokens):
            if isinstance(parsed, TraceRejected):
                yield "rejected", parsed.record_key, parsed.payload, parsed.reason
            elif parsed is not SKIP:
                yield ("ok", *parsed)


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
