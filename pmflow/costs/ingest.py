"""Loading usage and billed costs into the warehouse: plain functions (no Prefect) that tasks wrap.

Every page (or trace chunk) is one Batch: raw payloads, typed rows (priced with `book`, the same
PriceBook the run's repricing uses), rejects and the new cursor in one transaction, so a crash anywhere resumes from the last committed page and the merge on natural
keys makes the re-run land where one clean run would.

Cursors (ops.sync_state, source 'openai'): stream 'usage' partitioned by endpoint, and stream
'costs', hold the end (unix seconds) of the last bucket that had closed when it was read. Each run
starts `rescan_days` before it (late or restated usage) and reads up to now, the still-open
current day included. Agent traces (source 'agent', stream 'events', partition 'usage:<file>')
hold a byte offset.
"""
from __future__ import annotations

import time
from pathlib import Path

from connectors.agent_traces import parse_lines, read_new_lines, trace_files
from connectors.openai_usage import (
    DAY_S,
    USAGE_ENDPOINTS,
    OpenAIUsageClient,
    complete_until,
    day_start,
    parse_cost_bucket,
    parse_usage_bucket,
)
from pmflow.costs.pricing import PriceBook, price_rows
from warehouse import Batch, LoadCounts, Rejected, Warehouse

OPENAI_SOURCE = "openai"
TRACE_SOURCE = "agent"
TRACE_STREAM = "events"


def _start(cursor: str | None, now: int, lookback_days: int, rescan_days: int) -> int:
    if cursor is None:
        return day_start(now - lookback_days * DAY_S)
    return day_start(int(cursor) - rescan_days * DAY_S)


def load_openai_usage(client: OpenAIUsageClient, wh: Warehouse, workspace_id: str, *, book: PriceBook,
                      now: float | None = None,
                      lookback_days: int = 90, rescan_days: int = 2, max_tokens: int = 10**12,
                      endpoints=USAGE_ENDPOINTS, run_id: str | None = None) -> LoadCounts:
    now = int(now if now is not None else time.time())
    counts = LoadCounts()
    for endpoint in endpoints:
        cursor = wh.cursor(workspace_id, OPENAI_SOURCE, "usage", endpoint)
        previous = int(cursor) if cursor else None
        start = _start(cursor, now, lookback_days, rescan_days)
        for page in client.usage_pages(endpoint, start):
            raw, rows, rejected = [], [], []
            for bucket in page.buckets:
                accepted, refused = parse_usage_bucket(bucket, endpoint=endpoint, workspace_id=workspace_id,
                                                       max_tokens=max_tokens)
                raw += [(key, payload) for key, payload, _ in accepted]
                rows += [row for _, _, row in accepted]
                rejected += [Rejected(payload, reason, key) for key, payload, reason in refused]
            new_cursor = complete_until(page.buckets, now, previous)
            counts += wh.write(Batch(
                workspace_id=workspace_id, source=OPENAI_SOURCE, stream="usage", partition_key=endpoint,
                raw=raw, upserts={"core.llm_usage": price_rows(rows, book)} if rows else {}, rejected=rejected,
                cursor=str(new_cursor) if new_cursor is not None and new_cursor != previous else None,
            ), run_id=run_id)
            previous = new_cursor
    return counts


def load_openai_costs(client: OpenAIUsageClient, wh: Warehouse, workspace_id: str, *, now: float | None = None,
                      lookback_days: int = 90, rescan_days: int = 2, run_id: str | None = None) -> LoadCounts:
    now = int(now if now is not None else time.time())
    counts = LoadCounts()
    cursor = wh.cursor(workspace_id, OPENAI_SOURCE, "costs")
    previous = int(cursor) if cursor else None
    for page in client.cost_pages(_start(cursor, now, lookback_days, rescan_days)):
        raw, rows, rejected = [], [], []
        for bucket in page.buckets:
            accepted, refused = parse_cost_bucket(bucket, workspace_id=workspace_id)
            raw += [(key, payload) for key, payload, _ in accepted]
            rows += [row for _, _, row in accepted]
            rejected += [Rejected(payload, reason, key) for key, payload, reason in refused]
        new_cursor = complete_until(page.buckets, now, previous)
        counts += wh.write(Batch(
            workspace_id=workspace_id, source=OPENAI_SOURCE, stream="costs",
            raw=raw, upserts={"core.openai_costs": rows} if rows else {}, rejected=rejected,
            cursor=str(new_cursor) if new_cursor is not None and new_cursor != previous else None,
        ), run_id=run_id)
        previous = new_cursor
    return counts


def load_agent_traces(path: str | Path, wh: Warehouse, default_workspace: str, *, book: PriceBook,
                      max_tokens: int = 10_000_000,
                      chunk_bytes: int = 16 * 1024 * 1024, run_id: str | None = None) -> LoadCounts:
    """Model-call usage from every trace file under `path`, incrementally by byte offset.

    Rows go to core.llm_usage (source agent_trace), rejects to ops.quarantine. Batches are per
    chunk and per workspace; the offset moves with the chunk's last batch."""
    counts = LoadCounts()
    for file in trace_files(path):
        partition = f"usage:{file.resolve()}"
        cursor_ws = default_workspace
        offset = int(wh.cursor(cursor_ws, TRACE_SOURCE, TRACE_STREAM, partition) or 0)
        while True:
            lines, new_offset = read_new_lines(file, offset, max_bytes=chunk_bytes)
            if new_offset == offset:
                break
            by_workspace: dict[str, dict[str, list]] = {}
            for outcome, key, payload, detail in parse_lines(lines, workspace_id=default_workspace,
                                                             max_tokens=max_tokens):
                workspace = detail["workspace_id"] if outcome == "ok" else default_workspace
                part = by_workspace.setdefault(workspace, {"raw": [], "rows": [], "rejected": []})
                if outcome == "ok":
                    part["raw"].append((key, payload))
                    part["rows"].append(detail)
                else:
                    part["rejected"].append(Rejected(payload, detail, key))
            by_workspace.setdefault(cursor_ws, {"raw": [], "rows": [], "rejected": []})
            # The cursor's workspace goes last, so the offset moves only once every batch is in.
            order = sorted(by_workspace, key=lambda w: w == cursor_ws)
            for workspace in order:
                part = by_workspace[workspace]
                counts += wh.write(Batch(
                    workspace_id=workspace, source=TRACE_SOURCE, stream=TRACE_STREAM, partition_key=partition,
                    raw=part["raw"], upserts={"core.llm_usage": price_rows(part["rows"], book)} if part["rows"] else {},
                    rejected=part["rejected"], cursor=str(new_offset) if workspace == cursor_ws else None,
                ), run_id=run_id)
            offset = new_offset
    return counts
