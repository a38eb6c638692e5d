"""AI agent events from JSONL traces in OpenTelemetry GenAI style -> core.agent_events.

The same files as the cost tracking reads (PMFLOW_AGENT_TRACES; connectors/agent_traces.py takes the
model-call usage out of them): one JSON object per line, a flat span or event, or an OTLP/JSON span
(attributes as a key/value list), or an OTLP/JSON export line {"resourceSpans": [...]} (each span,
with the resource attributes). Attributes, at the top level or under "attributes":

    gen_ai.agent.name (required)           gen_ai.operation.name (invoke_agent, chat, execute_tool...)
    pmflow.event_kind: task | decision | escalation | handoff   (absent: a plain `call`, which needs
                                                                 gen_ai.operation.name)
    pmflow.ticket (or pmflow.ticket_id)    pmflow.project      pmflow.outcome (or outcome)
    gen_ai.request.model / gen_ai.response.model     gen_ai.usage.input_tokens / output_tokens
    pmflow.workspace_id (else the default workspace, PMFLOW_WORKSPACE_ID)

Times: end_time / timestamp (when the event happened) and start_time (when a span began); ISO 8601
(a naive time is UTC) or Unix s/ms/us/ns. Outcomes are normalised: success, failure (also when the
span status is ERROR), or the given word in lower case.

A line that cannot become a valid event is rejected with its reason (to ops.quarantine), never
dropped. Reading is incremental per file by byte offset, like the usage reader. No Prefect here.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.agent_traces import attributes, parse_time, read_new_lines, trace_files
from warehouse import Batch, LoadCounts, Rejected, Warehouse

SOURCE, STREAM = "agent", "events"
KINDS = ("task", "decision", "escalation", "handoff")
CALL = "call"
_SUCCESS = {"success", "succeeded", "successful", "ok", "completed", "done", "resolved", "passed"}
_FAILURE = {"failure", "failed", "fail", "error", "errored", "timeout", "aborted", "rejected"}
_ID_KEYS = ("pmflow.event_id", "event_id", "span_id", "spanId", "id", "event.id")


@dataclass
class ParsedEvents:
    rows: list[dict[str, Any]] = field(default_factory=list)
    raw: list[tuple[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class EventRejected(ValueError):
    pass


def parse_lines(lines: Iterable[str], *, default_workspace: str) -> ParsedEvents:
    """core.agent_events rows (with their raw payloads) and rejects for JSONL lines."""
    parsed = ParsedEvents()
    for text in lines:
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
            if not isinstance(obj, Mapping):
                raise EventRejected(f"line is {type(obj).__name__}, expected an object")
            spans = list(_spans(obj))
        except (ValueError, TypeError, AttributeError) as exc:
            reason = f"not valid JSON: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else f"malformed line: {exc}"
            parsed.rejected.append(Rejected({"line": text[:2000]}, reason, None))
            continue
        for span in spans:
            try:
                row = parse_event(span, default_workspace=default_workspace)
            except EventRejected as exc:
                parsed.rejected.append(Rejected(span, str(exc), _event_id(attributes(span), None)))
                continue
            parsed.rows.append(row)
            parsed.raw.append((row["event_id"], span))
    return parsed


def parse_event(span: Mapping[str, Any], *, default_workspace: str) -> dict[str, Any]:
    """One span or event -> a core.agent_events row; EventRejected(reason) when it cannot be one."""
    attrs = attributes(span)
    agent = _text(attrs.get("gen_ai.agent.name"))
    if agent is None:
        raise EventRejected("no gen_ai.agent.name")
    operation = _text(attrs.get("gen_ai.operation.name"))
    kind = (_text(attrs.get("pmflow.event_kind")) or "").lower() or None
    if kind is None:
        if operation is None:
            raise EventRejected("neither pmflow.event_kind nor gen_ai.operation.name")
        kind = CALL
    elif kind not in KINDS:
        raise EventRejected(f"unknown pmflow.event_kind {kind!r} (expected {', '.join(KINDS)})")
    started = _time(attrs, ("start_time", "startTime", "start_time_unix_nano", "startTimeUnixNano"), "start time")
    ended = _time(attrs, ("end_time", "endTime", "end_time_unix_nano", "endTimeUnixNano", "timestamp", "time",
                          "occurred_at", "time_unix_nano", "timeUnixNano"), "end time")
    occurred = ended or started
    if occurred is None:
        raise EventRejected("no timestamp (end_time, timestamp or start_time)")
    if started is not None and started > occurred:
        raise EventRejected("starts after it ends")
    trace_id = _text(attrs.get("trace_id") or attrs.get("traceId"))
    span_id = _text(attrs.get("span_id") or attrs.get("spanId"))
    return {
        "workspace_id": _text(attrs.get("pmflow.workspace_id")) or default_workspace,
        "event_id": _event_id(attrs, span),
        "occurred_at": occurred,
        "started_at": started if started is not None and started != occurred else None,
        "agent": agent,
        "kind": kind,
        "operation": operation,
        "outcome": _outcome(attrs),
        "ticket_id": _text(attrs.get("pmflow.ticket") or attrs.get("pmflow.ticket_id")),
        "project": _text(attrs.get("pmflow.project")),
        "model": _text(attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")),
        "input_tokens": _tokens(attrs, "gen_ai.usage.input_tokens"),
        "output_tokens": _tokens(attrs, "gen_ai.usage.output_tokens"),
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": _text(attrs.get("parent_span_id") or attrs.get("parentSpanId")),
        "payload": json.dumps(span, sort_keys=True, default=str),
    }


def load_agent_events(path: str | Path, wh: Warehouse, default_workspace: str, *,
                      chunk_bytes: int = 16 * 1024 * 1024, run_id: str | None = None) -> LoadCounts:
    """Agent events of every trace file under `path` into core.agent_events, incrementally by byte
    offset (partition `events:<file>`). One batch per chunk and workspace; the offset moves with the
    chunk's last batch, so a crash re-reads the chunk and the merge on event_id makes that harmless."""
    counts = LoadCounts()
    for file in trace_files(path):
        partition = f"events:{file.resolve()}"
        offset = int(wh.cursor(default_workspace, SOURCE, STREAM, partition) or 0)
        while True:
            lines, new_offset = read_new_lines(file, offset, max_bytes=chunk_bytes)
            if new_offset == offset:
                break
            parsed = parse_lines(lines, default_workspace=default_workspace)
            by_workspace: dict[str, ParsedEvents] = {default_workspace: ParsedEvents(rejected=parsed.rejected)}
            for row, raw in zip(parsed.rows, parsed.raw):
                part = by_workspace.setdefault(row["workspace_id"], ParsedEvents())
                part.rows.append(row)
                part.raw.append(raw)
            for workspace in sorted(by_workspace, key=lambda w: w == default_workspace):
                part = by_workspace[workspace]
                counts += wh.write(Batch(
                    workspace_id=workspace, source=SOURCE, stream=STREAM, partition_key=partition, raw=part.raw,
                    upserts={"core.agent_events": part.rows} if part.rows else {}, rejected=part.rejected,
                    cursor=str(new_offset) if workspace == default_workspace else None,
                ), run_id=run_id)
            offset = new_offset
    return counts


# -- helpers -----------------------------------------------------------------------------------


def _spans(obj: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if "resourceSpans" not in obj:
        yield obj
        return
    for resource_spans in obj["resourceSpans"]:
        resource = attributes({"attributes": (resource_spans.get("resource") or {}).get("attributes")})
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for span in scope_spans.get("spans") or []:
                own = attributes({"attributes": span.get("attributes")})
                yield {**span, "attributes": {**resource, **own}}


def _event_id(attrs: Mapping[str, Any], span: Mapping[str, Any] | None) -> str | None:
    for key in _ID_KEYS:
        if attrs.get(key) not in (None, ""):
            return str(attrs[key])
    if span is None:
        return None
    return "h" + hashlib.sha1(json.dumps(span, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _text(value: Any) -> str | None:
    text = None if value is None else str(value).strip()
    return text or None


def _time(attrs: Mapping[str, Any], keys: tuple[str, ...], what: str):
    for key in keys:
        if attrs.get(key) not in (None, ""):
            moment = parse_time(attrs[key])
            if moment is None:
                raise EventRejected(f"{what} {attrs[key]!r} is not a time")
            return moment
    return None


def _tokens(attrs: Mapping[str, Any], key: str) -> int | None:
    value = attrs.get(key)
    if value is None:
        return None
    try:
        tokens = int(value)
        exact = tokens == float(value)
    except (TypeError, ValueError):
        raise EventRejected(f"{key} is not an integer: {value!r}") from None
    if tokens < 0 or not exact or isinstance(value, bool):
        raise EventRejected(f"{key} must be a non-negative integer, got {value!r}")
    return tokens


def _outcome(attrs: Mapping[str, Any]) -> str | None:
    outcome = _text(attrs.get("pmflow.outcome") or attrs.get("outcome"))
    if outcome:
        word = outcome.lower()
        return "success" if word in _SUCCESS else "failure" if word in _FAILURE else word
    status = attrs.get("status")
    code = status.get("code") if isinstance(status, Mapping) else None
    return "failure" if code in ("ERROR", "STATUS_CODE_ERROR", 2) else None
