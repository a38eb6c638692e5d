"""Data-quality suites (great-expectations on pandas frames), without Prefect: corrupted rows are
found, copied to ops.quarantine with the reason (and kept in core), results kept in ops."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone

import pytest

from warehouse import Batch, Warehouse
from warehouse.quality import CHECKS, core_tables, tables_of_source, validate_table, validate_tables
from warehouse.tables import NATURAL_KEYS

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
WS = "T1"


def channel(i: int) -> dict:
    return {"workspace_id": WS, "channel_id": f"C{i}", "name": f"chan-{i}", "is_private": False,
            "is_archived": False, "created_at": NOW - timedelta(days=100)}


def message(i: int, channel_id: str = "C0", **overrides) -> dict:
    row = {"workspace_id": WS, "channel_id": channel_id, "ts": f"{1763000000 + i}.000100", "thread_ts": None,
           "user_id": "U1", "text": f"message {i}", "posted_at": NOW - timedelta(hours=i + 1), "edited_at": None,
           "is_deleted": False, "reply_count": 0, "latest_reply": None}
    row.update(overrides)
    return row


@pytest.fixture
def wh(tmp_path) -> Warehouse:
    wh = Warehouse(tmp_path / "wh.duckdb")
    wh.write(Batch(WS, "slack", "channels", upserts={"core.slack_channels": [channel(0), channel(1)]}))
    wh.write(Batch(WS, "slack", "messages", upserts={"core.slack_messages": [message(i, f"C{i % 2}") for i in range(40)]}))
    return wh


def failed(report) -> dict[str, int]:
    return {c.check_name: c.unexpected_count for c in report.failed}


def test_importing_the_suites_does_not_import_great_expectations():
    code = "import warehouse.quality, tasks.quality, sys; print('great_expectations' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_every_core_table_with_a_natural_key_is_covered():
    covered = set(core_tables())
    assert {t for t in NATURAL_KEYS if t.startswith("core.")} <= covered
    assert set(CHECKS) <= covered
    assert tables_of_source("slack") == ["core.slack_channels", "core.slack_messages", "core.slack_users"]
    assert {"core.llm_usage", "core.agent_events"} <= set(tables_of_source("openai"))


def test_clean_tables_pass_and_empty_ones_are_skipped(wh):
    reports = {r.table: r for r in validate_tables(wh, tables_of_source("slack"), workspace_id=WS, now=NOW)}
    assert reports["core.slack_messages"].failed == [] and reports["core.slack_messages"].rows == 40
    assert reports["core.slack_channels"].failed == []
    assert reports["core.slack_users"].skipped == "no rows"
    names = {c.check_name for c in reports["core.slack_messages"].checks}
    assert {"key_unique", "not_null:ts", "timestamp_sane:posted_at", "non_negative:reply_count",
            "reference:channel_id", "ordered:posted_at<=edited_at"} <= names
    assert wh.query("SELECT count(*) FROM ops.quarantine") == [(0,)]
    stored = wh.query("SELECT count(*), bool_and(success) FROM ops.quality_results WHERE table_name = 'core.slack_messages'")
    assert stored == [(len(reports["core.slack_messages"].checks), True)]


def test_corrupted_rows_are_reported_quarantined_with_reason_and_kept_in_core(wh):
    wh.write(Batch(WS, "slack", "messages", upserts={"core.slack_messages": [
        message(100, posted_at=NOW + timedelta(days=2)),                         # in the future
        message(101, posted_at=datetime(1999, 12, 31, tzinfo=timezone.utc)),      # before 2000
        message(102, reply_count=-3),                                           # negative count
        message(103, channel_id="CGONE"),                                       # dangling reference
        message(104, edited_at=NOW - timedelta(days=30)),                       # edited before posted
    ]}))
    wh.run_sql("INSERT INTO core.slack_messages SELECT * FROM core.slack_messages WHERE ts = ?", [message(5)["ts"]])

    report = validate_table(wh, "core.slack_messages", workspace_id=WS, run_id="run-1", now=NOW)
    assert failed(report) == {
        "timestamp_sane:posted_at": 2,
        "non_negative:reply_count": 1,
        "reference:channel_id": 1,
        "ordered:posted_at<=edited_at": 1,
        "key_unique": 2,
    }
    quarantined = wh.query(
        "SELECT record_key, reason, run_id FROM ops.quarantine WHERE source = 'quality' AND stream = 'core.slack_messages' "
        "ORDER BY record_key, reason")
    keys = {(key, check) for key, reason, _ in quarantined for check in failed(report)
            if reason.startswith(f"quality {check}: ")}
    assert (f"C0/{message(100)['ts']}", "timestamp_sane:posted_at") in keys
    assert (f"C0/{message(102)['ts']}", "non_negative:reply_count") in keys
    assert (f"CGONE/{message(103)['ts']}", "reference:channel_id") in keys
    assert (f"C1/{message(5)['ts']}", "key_unique") in keys  # two identical copies: one quarantined row
    assert len(quarantined) == 6 and {r[2] for r in quarantined} == {"run-1"}
    payload = json.loads(wh.query(
        "SELECT payload FROM ops.quarantine WHERE reason LIKE 'quality non_negative%'")[0][0])
    assert payload["reply_count"] == -3 and payload["text"] == "message 102"
    # Flagged, not removed: core keeps every row.
    assert wh.query("SELECT count(*) FROM core.slack_messages") == [(46,)]
    results = wh.query("SELECT check_name, success, unexpected_count, quarantined, details FROM ops.quality_results "
                       "WHERE run_id = 'run-1' AND NOT success ORDER BY check_name")
    assert [(r[0], r[2]) for r in results] == sorted(failed(report).items())
    assert all(r[4] for r in results), "each failing check explains itself"


def test_revalidating_adds_results_but_no_second_quarantine_copy(wh):
    wh.write(Batch(WS, "slack", "messages", upserts={"core.slack_messages": [message(100, reply_count=-1)]}))
    first = validate_table(wh, "core.slack_messages", workspace_id=WS, run_id="a", now=NOW)
    second = validate_table(wh, "core.slack_messages", workspace_id=WS, run_id="b", now=NOW)
    assert first.quarantined == 1 and second.quarantined == 0
    assert failed(second) == {"non_negative:reply_count": 1}
    assert wh.query("SELECT count(*) FROM ops.quarantine") == [(1,)]
    assert wh.query("SELECT count(DISTINCT validation_id) FROM ops.quality_results") == [(2,)]


def test_validation_is_scoped_to_the_workspace_and_references_stay_within_it(wh):
    # Workspace T2 has a message in a channel id that exists only in T1: broken reference in T2.
    wh.write(Batch("T2", "slack", "channels", upserts={"core.slack_channels": [dict(channel(7), workspace_id="T2")]}))
    wh.write(Batch("T2", "slack", "messages", upserts={"core.slack_messages": [dict(message(1, "C0"), workspace_id="T2")]}))
    assert failed(validate_table(wh, "core.slack_messages", workspace_id=WS, now=NOW)) == {}
    assert failed(validate_table(wh, "core.slack_messages", workspace_id="T2", now=NOW)) == {"reference:channel_id": 1}
    assert failed(validate_table(wh, "core.slack_messages", now=NOW)) == {"reference:channel_id": 1}
    assert wh.query("SELECT DISTINCT workspace_id FROM ops.quarantine") == [("T2",)]


def test_linear_states_unknown_and_costs_negative_are_flagged(tmp_path):
    wh = Warehouse(tmp_path / "wh.duckdb")
    base = {"workspace_id": WS, "identifier": "ENG-1", "title": "t", "team_id": "team1", "parent_id": None,
            "created_at": NOW - timedelta(days=3), "updated_at": NOW - timedelta(days=1)}
    wh.write(Batch(WS, "linear", "teams", upserts={"core.linear_teams": [{"workspace_id": WS, "team_id": "team1", "key": "ENG"}]}))
    wh.write(Batch(WS, "linear", "issues", upserts={"core.linear_issues": [
        dict(base, issue_id="i1", state_type="started", priority=2, estimate=3.0),
        dict(base, issue_id="i2", identifier="ENG-2", state_type="in_limbo", priority=9, estimate=-1.0),
        dict(base, issue_id="i3", identifier="ENG-3", state_type="completed", parent_id="nope",
             updated_at=NOW - timedelta(days=5)),
    ]}))
    usage = {"workspace_id": WS, "occurred_at": NOW - timedelta(hours=1), "source": "pipeline", "provider": "openai",
             "model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 5, "price_status": "priced"}
    wh.write(Batch(WS, "openai", "usage", upserts={"core.llm_usage": [
        dict(usage, usage_id="u1", cost_usd=0.01),
        dict(usage, usage_id="u2", cost_usd=-0.5, output_tokens=-2),
        dict(usage, usage_id="u3", cost_usd=None, price_status="unknown_model"),
    ]}))
    issues = validate_table(wh, "core.linear_issues", workspace_id=WS, now=NOW)
    assert failed(issues) == {"known_values:state_type": 1, "known_values:priority": 1, "non_negative:estimate": 1,
                              "reference:parent_id": 1, "ordered:created_at<=updated_at": 1}
    usage_report = validate_table(wh, "core.llm_usage", workspace_id=WS, now=NOW)
    assert failed(usage_report) == {"non_negative:cost_usd": 1, "non_negative:output_tokens": 1}
    reasons = {r[0] for r in wh.query("SELECT reason FROM ops.quarantine WHERE stream = 'core.llm_usage'")}
    assert reasons == {"quality non_negative:cost_usd: cost_usd is negative",
                       "quality non_negative:output_tokens: output_tokens is negative"}


def test_a_missing_table_is_skipped(tmp_path):
    wh = Warehouse(tmp_path / "wh.duckdb")
    assert validate_table(wh, "core.not_a_table", now=NOW).skipped == "table does not exist"
