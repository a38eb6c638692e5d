"""Loading usage and billed costs into the warehouse: plain functions (no Prefect) that tasks wrap.

Usage and costs: a stream's pages are buffered and written `batch_rows` rows at a time (raw
payloads, typed rows priced with `book`, the same PriceBook the run's repricing uses, and
rejects); the cursor moves only in the stream's last transaction, once its pagination has ended.
So a crash anywhere re-reads from the old cursor, the merge on natural keys makes the re-run land
where one clean run would, and a pagination stopped as a loop (PaginationError) before the first
`batch_rows` rows leaves the warehouse and the cursor exactly as they were. Each trace chunk is
one Batch with its byte offset.

Cursors (ops.sync_state, source 'openai'): stream 'usage' partitioned by endpoint, and stream
'costs', hold the end (unix seconds) of the last bucket that had closed when it was read. Each run
starts `rescan_days` before it (late or restated usage) and reads up to now, the still-open
current day included. Agent traces (source 'agent', stream 'events', partition 'usage:<file>')
hold a byte offset.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from connectors.agent_traces import parse_lines, read_new_lines, trace_files
from connectors.openai_usage import (
    DAY_S,
    USAGE_ENDPOINTS,
    OpenAIUsageClient,
    Page,
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
BATCH_ROWS = 5_000
"""Usage or cost rows buffered before a transaction (a 90-day window of a small organization fits one)."""


def _start(cursor: str | None, now: int, lookback_days: int, rescan_days: int) -> int:
    if cursor is None:
        return day_start(now - lookback_days * DAY_S)
    return day_start(int(cursor) - rescan_days * DAY_S)


def load_openai_usage(client: OpenAIUsageClient, wh: Warehouse, workspace_id: str, *, book: PriceBook,
                      now: float | None = None,
                      lookback_days: int = 90, rescan_days: int = 2, max_tokens: int = 10**12,
                      endpoints=USAGE_ENDPOINTS, run_id: str | None = None, batch_rows: int = BATCH_ROWS) -> LoadCounts:
    now = int(now if now is not None else time.time())
    counts = LoadCounts()
    for endpoint in endpoints:
        cursor = wh.cursor(workspace_id, OPENAI_SOURCE, "usage", endpoint)
        pages = client.usage_pages(endpoint, _start(cursor, now, lookback_days, rescan_days))
        counts += _load_pages(
            wh, Batch(workspace_id, OPENAI_SOURCE, "usage", endpoint), pages, cursor, now=now,
            parse=lambda bucket: parse_usage_bucket(bucket, endpoint=endpoint, workspace_id=workspace_id,
                                                    max_tokens=max_tokens),
            upserts=lambda rows: {"core.llm_usage": price_rows(rows, book)}, batch_rows=batch_rows, run_id=run_id)
    return counts


def load_openai_costs(client: OpenAIUsageClient, wh: Warehouse, workspace_id: str, *, now: float | None = None,
                      lookback_days: int = 90, rescan_days: int = 2, run_id: str | None = None,
                      batch_rows: int = BATCH_ROWS) -> LoadCounts:
    now = int(now if now is not None else time.time())
    cursor = wh.cursor(workspace_id, OPENAI_SOURCE, "costs")
    pages = client.cost_pages(_start(cursor, now, lookback_days, rescan_days))
    return _load_pages(wh, Batch(workspace_id, OPENAI_SOURCE, "costs"), pages, cursor, now=now,
                       parse=lambda bucket: parse_cost_bucket(bucket, workspace_id=workspace_id),
                       upserts=lambda rows: {"core.openai_costs": rows}, batch_rows=batch_rows, run_id=run_id)


def _load_pages(wh: Warehouse, stream: Batch, pages: Iterable[Page], cursor: str | None, *, now: int,
                parse: Callable, upserts: Callable[[list], dict], batch_rows: int, run_id: str | None) -> LoadCounts:
    """Every bucket of `pages` into `stream` (a Batch naming workspace, source, stream and partition),
    `batch_rows` rows a transaction; the cursor moves in the last one, after the pagination ended."""
    previous = int(cursor) if cursor else None
    newest, counts = previous, LoadCounts()
    raw, rows, rejected = [], [], []

    def flush(new_cursor: int | None) -> None:
        nonlocal counts, raw, rows, rejected
        counts += wh.write(replace(stream, raw=raw, upserts=upserts(rows) if rows else {}, rejected=rejected,
                                   cursor=str(new_cursor) if new_cursor is not None else None), run_id=run_id)
        raw, rows, rejected = [], [], []

    for page in pages:
        for bucket in page.buckets:
            accepted, refused = parse(bucket)
            raw += [(key, payload) for key, payload, _ in accepted]
            rows += [row for _, _, row in accepted]
            rejected += [Rejected(payload, reason, key) for key, payload, reason in refused]
        newest = complete_until(page.buckets, now, newest)
        if len(rows) + len(rejected) >= batch_rows:
            flush(None)
    flush(newest if newest != previous else None)
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
