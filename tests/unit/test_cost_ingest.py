"""Loading the sandbox organization: the warehouse equals the ground truth, re-runs change nothing,
the open day is re-read, a crash mid-run resumes cleanly, traces load incrementally and bad trace
lines are quarantined with their reason, and transient faults at the sandbox change nothing."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from connectors.openai_usage import OpenAIUsageClient
from connectors.sandbox.openai_api import create_app
from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.openai_data import ADMIN_KEY, from_world, org_for
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World
from pmflow.costs import ingest
from pmflow.costs.marts import rebuild_cost_marts
from pmflow.costs.pricing import PriceBook
from pmflow.costs.reprice import reprice
from tests.support.openai_truth import openai_differences, stored_usage, truth_usage
from warehouse import LoadCounts, Warehouse

BOOK = PriceBook()


@pytest.fixture
def org():
    return from_world(World.generate(3, "tiny"))  # a fresh organization per test (tests mutate it)


@pytest.fixture
def wh(tmp_path):
    return Warehouse(tmp_path / "w.duckdb")


class Recorder:
    """The sandbox app behind a TestClient, remembering the start_time of every request."""

    def __init__(self, org, fail_after: int | None = None):
        self.http = TestClient(create_app(org))
        self.starts: list[tuple[str, int]] = []
        self.fail_after = fail_after

    def client(self):
        recorder = self

        class Http:
            def get(self, url, params=None, headers=None):
                if recorder.fail_after is not None and len(recorder.starts) >= recorder.fail_after:
                    raise KeyboardInterrupt("simulated crash")
                recorder.starts.append((url.rsplit("/", 1)[-1], dict(params)["start_time"]))
                return recorder.http.get(url, params=params, headers=headers)

        return OpenAIUsageClient(ADMIN_KEY, "http://testserver/openai/v1", http=Http(), sleep=lambda s: None)


def run(org, wh, *, recorder=None, traces=None, now=None):
    recorder = recorder or Recorder(org)
    now = (now or org.now).timestamp()
    counts = {
        "usage": ingest.load_openai_usage(recorder.client(), wh, "T1", book=BOOK, now=now, lookback_days=60),
        "costs": ingest.load_openai_costs(recorder.client(), wh, "T1", now=now, lookback_days=60),
    }
    if traces is not None:
        counts["traces"] = ingest.load_agent_traces(traces, wh, "T1", book=BOOK)
    return counts


def snapshot(wh):
    return {
        "usage": wh.query("SELECT * EXCLUDE (occurred_at) FROM core.llm_usage ORDER BY usage_id"),
        "costs": wh.query("SELECT * FROM core.openai_costs ORDER BY cost_id"),
        "raw": wh.query("SELECT count(*) FROM raw.openai_usage UNION ALL SELECT count(*) FROM raw.openai_costs "
                        "UNION ALL SELECT count(*) FROM raw.agent_events"),
        "quarantine": wh.query("SELECT reason, record_key FROM ops.quarantine ORDER BY ALL"),
        "cursors": wh.query("SELECT source, stream, partition_key, cursor FROM ops.sync_state ORDER BY ALL"),
    }


def test_the_warehouse_equals_the_sandbox_ground_truth(org, wh, tmp_path):
    traces = tmp_path / "traces.jsonl"
    org.write_agent_traces(traces)
    counts = run(org, wh, traces=traces)
    assert openai_differences(org, wh) == []
    stored_traces = wh.query("""SELECT usage_id, occurred_at, agent, provider, model, project, ticket_id, input_tokens,
                                       cached_tokens, output_tokens FROM core.llm_usage WHERE source = 'agent_trace'
                                ORDER BY usage_id""")
    expected_traces = sorted(tuple(r.values()) for r in org.expected_trace_usage())
    assert [tuple(row) for row in stored_traces] == expected_traces
    reasons = sorted(r[0] for r in wh.query("SELECT reason FROM ops.quarantine"))
    assert len(reasons) == len(org.bad_trace_lines) == counts["traces"].quarantined
    for (_, why), reason in zip(sorted(org.bad_trace_lines, key=lambda b: b[1]), sorted(reasons)):
        assert reason.startswith(why)


def test_a_second_run_changes_nothing(org, wh, tmp_path):
    traces = tmp_path / "traces.jsonl"
    org.write_agent_traces(traces)
    run(org, wh, traces=traces)
    with wh.connect() as con:
        first = reprice(con, BOOK)
        rebuild_cost_marts(con)
    # Loaders price rows as they write them, with the SQL repricing's arithmetic: nothing left to do.
    assert first["rows_repriced"] == 0
    with wh.connect() as con:
        assert reprice(con, BOOK, full=True)["rows_repriced"] == 0
    before = snapshot(wh)
    marts_before = wh.query("SELECT * FROM marts.cost_daily ORDER BY ALL")
    counts = run(org, wh, traces=traces)
    assert all(c.inserted == 0 and c.updated == 0 for c in counts.values()), counts
    with wh.connect() as con:
        assert reprice(con, BOOK)["rows_repriced"] == 0
        rebuild_cost_marts(con)
    assert snapshot(wh) == before
    assert wh.query("SELECT * FROM marts.cost_daily ORDER BY ALL") == marts_before


def test_the_open_day_is_read_again_until_it_closes(org, wh):
    run(org, wh)
    today, cursor_day = org.now.date(), wh.cursor("T1", "openai", "usage", "completions")
    assert datetime.fromtimestamp(int(cursor_day), UTC).date() == today  # the end of yesterday's bucket
    org.add_usage(today, "proj_platform", "gpt-4.1", input_tokens=1_000, output_tokens=100, requests=2)
    recorder = Recorder(org)
    counts = run(org, wh, recorder=recorder)
    assert counts["usage"].updated == 1 and counts["usage"].inserted == 0
    assert stored_usage(wh) == truth_usage(org)
    # incremental: the second run starts rescan_days (2) before the cursor, not at the lookback
    assert {start for _, start in recorder.starts} == {int(cursor_day) - 2 * 86_400}


def test_a_crash_mid_run_resumes_where_one_clean_run_would_land(org, wh, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run(org, wh, recorder=Recorder(org, fail_after=2))
    partial = stored_usage(wh)
    assert 0 < len(partial) < len(truth_usage(org))
    run(org, wh)
    clean = Warehouse(tmp_path / "clean.duckdb")
    run(org, clean)
    assert stored_usage(wh) == stored_usage(clean) == truth_usage(org)


def test_traces_load_incrementally_and_a_rewritten_file_is_read_again(org, wh, tmp_path):
    path = tmp_path / "agent.jsonl"
    lines = org.agent_trace_lines(include_bad=False)
    half = len(lines) // 2
    path.write_text("\n".join(lines[:half]) + "\n" + lines[half][:20])  # a line still being written
    first = ingest.load_agent_traces(path, wh, "T1", book=BOOK)
    with path.open("a") as handle:
        handle.write(lines[half][20:] + "\n" + "\n".join(lines[half + 1:]) + "\n")
    second = ingest.load_agent_traces(path, wh, "T1", book=BOOK)
    calls = len(org.agent_calls)
    assert first.inserted + second.inserted == calls
    assert wh.query("SELECT count(*) FROM core.llm_usage WHERE source = 'agent_trace'")[0][0] == calls
    assert ingest.load_agent_traces(path, wh, "T1", book=BOOK) == LoadCounts()  # nothing new: no batch at all
    path.write_text("\n".join(lines[:3]) + "\n")  # rotated: shorter than the cursor
    again = ingest.load_agent_traces(path, wh, "T1", book=BOOK)
    assert again.read >= 1 and again.inserted == 0


def test_a_trace_naming_its_workspace_stays_in_it_and_otlp_exports_are_read(wh, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"event_id": "e1", "timestamp": "2026-11-02T10:00:00Z", "attributes": {"gen_ai.request.model": "gpt-4.1",'
        ' "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2, "pmflow.workspace_id": "T2"}}\n'
        '{"event_id": "e2", "timestamp": 1793620800000000000, "attributes": [{"key": "gen_ai.request.model",'
        ' "value": {"stringValue": "gpt-4.1"}}, {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "7"}},'
        ' {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 1}}]}\n'
        '{"resourceSpans": [{"resource": {"attributes": [{"key": "pmflow.workspace_id", "value": {"stringValue": "T3"}}]},'
        ' "scopeSpans": [{"spans": [{"spanId": "s1", "endTimeUnixNano": "1793620800000000000", "attributes": ['
        '{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4.1"}},'
        ' {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "5"}}]},'
        ' {"spanId": "s2", "attributes": [{"key": "gen_ai.agent.name", "value": {"stringValue": "bot"}}]}]}]}]}\n')
    ingest.load_agent_traces(path, wh, "T1", book=BOOK)
    assert wh.query("SELECT workspace_id, usage_id, input_tokens FROM core.llm_usage ORDER BY 1") == [
        ("T1", "agent_trace:e2", 7), ("T2", "agent_trace:e1", 10), ("T3", "agent_trace:s1", 5)]


def test_transient_faults_at_the_sandbox_do_not_change_the_result(tmp_path):
    world = World.generate(5, "tiny")
    org = org_for(world)
    faults = FaultPlan(rate=0.3, kinds=("ratelimit", "server_error", "malformed_json", "reset"), seed=3)
    wh = Warehouse(tmp_path / "w.duckdb")
    with SandboxServer(world, faults=faults) as server:
        client = OpenAIUsageClient(ADMIN_KEY, server.openai_base_url, sleep=lambda s: None, max_retries=8)
        ingest.load_openai_usage(client, wh, "T1", book=BOOK, now=org.now.timestamp(), lookback_days=60)
        ingest.load_openai_costs(client, wh, "T1", now=org.now.timestamp(), lookback_days=60)
        injected = server.stats()["faults"]
    assert sum(injected.values()) > 0
    assert openai_differences(org, wh) == []


def test_the_cursor_moves_only_once_a_stream_has_been_read_to_its_end(org, wh):
    with pytest.raises(KeyboardInterrupt):  # batches of one row: the first page is written, then a crash
        ingest.load_openai_usage(Recorder(org, fail_after=1).client(), wh, "T1", book=BOOK, now=org.now.timestamp(),
                                 lookback_days=60, batch_rows=1)
    assert stored_usage(wh) and wh.query("SELECT count(*) FROM ops.sync_state")[0][0] == 0
    run(org, wh)
    assert openai_differences(org, wh) == []
