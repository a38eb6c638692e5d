"""Agent events from OpenTelemetry GenAI style JSONL: parsing, quarantine, incremental idempotent loads."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from pmflow.journeys.agent_events import load_agent_events, parse_lines
from warehouse import Warehouse


def flat(**attrs) -> dict:
    base = {"trace_id": "tr1", "span_id": "sp1", "start_time": "2026-11-02T10:00:00Z", "end_time": "2026-11-02T10:00:30Z",
            "attributes": {"gen_ai.agent.name": "planner", "gen_ai.operation.name": "invoke_agent",
                           "pmflow.event_kind": "task", "pmflow.ticket": "ENG-12", "pmflow.project": "proj",
                           "gen_ai.request.model": "gpt-4.1", "gen_ai.usage.input_tokens": 1200,
                           "gen_ai.usage.output_tokens": 300, "pmflow.outcome": "Succeeded"}}
    base["attributes"].update(attrs)
    return base


def lines(*objs) -> list[str]:
    return [o if isinstance(o, str) else json.dumps(o) for o in objs]


def test_a_flat_span_becomes_one_typed_row():
    parsed = parse_lines(lines(flat()), default_workspace="ws")
    assert parsed.rejected == []
    row = parsed.rows[0]
    assert {k: row[k] for k in ("workspace_id", "event_id", "agent", "kind", "operation", "outcome", "ticket_id",
                                "project", "model", "input_tokens", "output_tokens", "trace_id", "span_id")} == {
        "workspace_id": "ws", "event_id": "sp1", "agent": "planner", "kind": "task", "operation": "invoke_agent",
        "outcome": "success", "ticket_id": "ENG-12", "project": "proj", "model": "gpt-4.1", "input_tokens": 1200,
        "output_tokens": 300, "trace_id": "tr1", "span_id": "sp1"}
    assert row["started_at"] == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert row["occurred_at"] == datetime(2026, 11, 2, 10, 0, 30, tzinfo=UTC)
    assert parsed.raw == [("sp1", flat())]


def test_otlp_spans_with_key_value_attributes_and_resource_attributes():
    span = {"traceId": "ab", "spanId": "cd", "parentSpanId": "ef", "startTimeUnixNano": "1762077600000000000",
            "endTimeUnixNano": "1762077660000000000", "status": {"code": "ERROR"},
            "attributes": [{"key": "gen_ai.agent.name", "value": {"stringValue": "coder"}},
                           {"key": "pmflow.event_kind", "value": {"stringValue": "decision"}},
                           {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "42"}}]}
    export = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "pmflow.workspace_id", "value": {"stringValue": "T9"}}]},
        "scopeSpans": [{"spans": [span]}]}]}
    parsed = parse_lines(lines(span, export), default_workspace="ws")
    assert parsed.rejected == []
    plain, exported = parsed.rows
    assert (plain["workspace_id"], exported["workspace_id"]) == ("ws", "T9")
    assert (plain["agent"], plain["kind"], plain["input_tokens"], plain["outcome"]) == ("coder", "decision", 42, "failure")
    assert (plain["event_id"], plain["parent_span_id"]) == ("cd", "ef")
    # 1762077600 s = 2025-11-02 10:00:00 UTC; the span lasted 60 s
    assert plain["started_at"] == datetime(2025, 11, 2, 10, 0, tzinfo=UTC)
    assert plain["occurred_at"] == datetime(2025, 11, 2, 10, 1, tzinfo=UTC)


def test_a_plain_model_call_is_a_call_and_naive_times_are_utc():
    call = {"timestamp": "2026-11-02T10:00:00", "gen_ai.agent.name": "coder", "gen_ai.operation.name": "chat"}
    parsed = parse_lines(lines(call), default_workspace="ws")
    row = parsed.rows[0]
    assert (row["kind"], row["started_at"], row["occurred_at"]) == ("call", None, datetime(2026, 11, 2, 10, tzinfo=UTC))
    assert row["event_id"].startswith("h")  # no id in the line: a stable hash of it


def test_bad_lines_are_rejected_with_their_reason():
    bad = lines(
        "{not json",
        "[1, 2]",
        flat(**{"gen_ai.agent.name": None}),
        flat(**{"pmflow.event_kind": "meeting"}),
        flat(**{"gen_ai.usage.input_tokens": -5}),
        flat(**{"gen_ai.usage.output_tokens": "many"}),
        {"attributes": {"gen_ai.agent.name": "a", "pmflow.event_kind": "task"}},
        {"end_time": "yesterday", "attributes": {"gen_ai.agent.name": "a", "pmflow.event_kind": "task"}},
        {"start_time": "2026-11-02T11:00:00Z", "end_time": "2026-11-02T10:00:00Z",
         "attributes": {"gen_ai.agent.name": "a", "pmflow.event_kind": "task"}},
        {"timestamp": "2026-11-02T10:00:00Z", "attributes": {"gen_ai.agent.name": "a"}},
        "",
    )
    parsed = parse_lines(bad, default_workspace="ws")
    assert parsed.rows == []
    reasons = [r.reason for r in parsed.rejected]
    assert len(reasons) == 10
    for expected, reason in zip([
        "not valid JSON", "expected an object", "no gen_ai.agent.name", "unknown pmflow.event_kind 'meeting'",
        "must be a non-negative integer", "is not an integer", "no timestamp", "'yesterday' is not a time",
        "starts after it ends", "neither pmflow.event_kind nor gen_ai.operation.name"], reasons):
        assert expected in reason


def test_load_is_incremental_idempotent_and_quarantines(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    traces = tmp_path / "traces"
    traces.mkdir()
    file = traces / "agents.jsonl"
    other_ws = flat(**{"pmflow.workspace_id": "T9"})
    other_ws["span_id"] = "sp2"
    file.write_text("\n".join(lines(flat(), other_ws, "{broken")) + "\n")
    first = load_agent_events(traces, wh, "ws")
    assert (first.inserted, first.quarantined) == (2, 1)
    assert wh.query("SELECT workspace_id, event_id, kind, outcome FROM core.agent_events ORDER BY 1") == [
        ("T9", "sp2", "task", "success"), ("ws", "sp1", "task", "success")]
    assert wh.query("SELECT reason FROM ops.quarantine WHERE source = 'agent'")[0][0].startswith("not valid JSON")
    assert wh.query("SELECT count(*) FROM raw.agent_events") == [(2,)]

    again = load_agent_events(traces, wh, "ws")  # nothing new after the byte offset
    assert (again.read, again.inserted, again.updated) == (0, 0, 0)

    decision = flat(**{"pmflow.event_kind": "decision"})
    decision["span_id"] = "sp3"
    with file.open("a") as handle:
        handle.write(json.dumps(decision) + "\n" + json.dumps(flat()))  # the last line is still being written
    more = load_agent_events(traces, wh, "ws")
    assert (more.inserted, more.updated) == (1, 0)
    assert wh.query("SELECT count(*) FROM core.agent_events") == [(3,)]
    cursor = int(wh.cursor("ws", "agent", "events", f"events:{file.resolve()}"))
    assert cursor == len(file.read_bytes()) - len(json.dumps(flat()))  # the partial line is left for later
