"""Writes of ticket matching: decisions, fingerprints and model usage, in one transaction.

A unit is keyed by (workspace_id, source_id): a Slack message that gains replies turns from
slack_message into slack_thread, and its new decision replaces the old row rather than adding one.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import duckdb
import pyarrow as pa

from pmflow.matching.decide import Decision
from warehouse.warehouse import merge

PREVIEW_CHARS = 200

_LINK_SCHEMA = pa.schema([
    ("workspace_id", pa.string()), ("source_kind", pa.string()), ("source_id", pa.string()),
    ("ticket_id", pa.string()), ("decision", pa.string()), ("method", pa.string()), ("score", pa.float64()),
    ("reason", pa.string()), ("decided_at", pa.timestamp("us", tz="UTC")), ("issue_id", pa.string()),
    ("candidates", pa.string()), ("source_at", pa.timestamp("us", tz="UTC")), ("source_url", pa.string()),
    ("preview", pa.string()), ("fingerprint", pa.string()), ("flow_run_id", pa.string()),
])


def decision_rows(decisions: Sequence[Decision], decided_at: datetime, run_id: str | None) -> pa.Table:
    rows = [
        {
            "workspace_id": d.unit.workspace_id,
            "source_kind": d.unit.source_kind,
            "source_id": d.unit.source_id,
            "ticket_id": d.ticket.identifier if d.ticket else None,
            "decision": d.decision,
            "method": d.method,
            "score": float(d.score),
            "reason": d.reason,
            "decided_at": decided_at,
            "issue_id": d.ticket.issue_id if d.ticket else None,
            "candidates": json.dumps([{"ticket_id": t, "score": s} for t, s in d.candidates]),
            "source_at": d.unit.started_at,
            "source_url": d.unit.url,
            "preview": (d.unit.opener or d.unit.text or "")[:PREVIEW_CHARS],
            "fingerprint": d.unit.fingerprint,
            "flow_run_id": run_id,
        }
        for d in decisions
    ]
    return pa.Table.from_pylist(rows, schema=_LINK_SCHEMA)


def write_decisions(con: duckdb.DuckDBPyConnection, decisions: Sequence[Decision], *, decided_at: datetime,
                    run_id: str | None, usage_rows: Sequence[dict] = (),
                    seen_tickets: tuple[str, Sequence[str]] | None = None) -> None:
    """Replaces the decisions of these units and records their fingerprints (and any model usage,
    and the tickets the run ranked a workspace's units against for the first time, as
    (workspace_id, identifiers)) atomically: a crash leaves either all the old rows or all the new."""
    if not decisions and not usage_rows and not (seen_tickets and seen_tickets[1]):
        return
    table = decision_rows(decisions, decided_at, run_id)
    con.execute("BEGIN TRANSACTION")
    try:
        if table.num_rows:
            con.register("_match_batch", table)
            try:
                keys = "SELECT workspace_id, source_id FROM _match_batch"
                con.execute(f"DELETE FROM marts.ticket_links WHERE (workspace_id, source_id) IN ({keys})")
                con.execute(
                    f"INSERT INTO marts.ticket_links ({', '.join(table.column_names)}) "
                    f"SELECT {', '.join(_cast(c) for c in table.column_names)} FROM _match_batch"
                )
                con.execute(f"DELETE FROM ops.match_fingerprints WHERE (workspace_id, source_id) IN ({keys})")
                con.execute(
                    "INSERT INTO ops.match_fingerprints "
                    "SELECT workspace_id, source_kind, source_id, fingerprint, decided_at FROM _match_batch"
                )
            finally:
                con.unregister("_match_batch")
        if usage_rows:
            merge(con, "core.llm_usage", list(usage_rows))
        if seen_tickets and seen_tickets[1]:
            workspace_id, identifiers = seen_tickets
            con.register("_seen_tickets", pa.table({"identifier": list(identifiers)}))
            try:
                con.execute("INSERT OR IGNORE INTO ops.match_seen_tickets SELECT ?, identifier, ? FROM _seen_tickets",
                            [workspace_id, decided_at])
            finally:
                con.unregister("_seen_tickets")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _cast(column: str) -> str:
    return "candidates::JSON" if column == "candidates" else column
