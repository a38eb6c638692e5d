"""Linear ingestion tasks: workspace, the small streams (teams, states, users, projects, cycles,
labels), issues with their state history, and comments.

Every stream is incremental: its cursor in ops.sync_state is the newest ``updatedAt`` it has
loaded, and each run reads what was updated since the cursor minus an overlap
(LINEAR_OVERLAP_MINUTES), oldest change first. Issues come with their whole history, so the
history of an issue is re-read exactly when the issue changed (a state change always changes the
issue's updatedAt); comments are a stream of their own (an edited comment does not touch its
issue). Rows are written in batches and a stream's cursor moves only in its last transaction, so
a crash re-reads from the old cursor and the idempotent merge lands where one clean run would.

Bad records are quarantined with their reason and the rest loads. A record that refers to a user
the warehouse does not know first triggers one re-read of the users (the user may be newer than
this run's users read); only a user Linear does not list at all makes it bad.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prefect import task

from connectors.linear import (
    CATALOG_STREAMS,
    LinearClient,
    cursor_minus,
    format_datetime,
    is_state_change,
    parse_comment,
    parse_cycle,
    parse_history,
    parse_issue,
    parse_label,
    parse_project,
    parse_state,
    parse_team,
    parse_user,
    user_refs,
)
from connectors.records import Parsed, ParseError, parse_page, parse_timestamp
from pmflow.settings import LinearSettings, linear_settings
from tasks.common import TRANSIENT_RETRIES, current_run_id, warehouse
from warehouse import Batch, LoadCounts, Rejected, Warehouse

SOURCE = "linear"


@dataclass(frozen=True)
class _Table:
    table: str
    parse: Callable[..., dict]
    key: str


CATALOG_TABLES = {
    "teams": _Table("core.linear_teams", parse_team, "team_id"),
    "states": _Table("core.linear_states", parse_state, "state_id"),
    "users": _Table("core.linear_users", parse_user, "user_id"),
    "projects": _Table("core.linear_projects", parse_project, "project_id"),
    "cycles": _Table("core.linear_cycles", parse_cycle, "cycle_id"),
    "labels": _Table("core.linear_labels", parse_label, "label_id"),
}
assert set(CATALOG_TABLES) == {s.name for s in CATALOG_STREAMS}


def linear_client(settings: LinearSettings | None = None) -> LinearClient:
    settings = settings or linear_settings()
    return LinearClient(
        settings.api_key.get_secret_value() if settings.api_key else "",
        settings.api_url,
        page_size=settings.page_size,
        issue_page_size=settings.issue_page_size,
        history_page_size=settings.history_page_size,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        max_rate_limit_wait_s=settings.max_rate_limit_wait_s,
    )


def linear_configured() -> bool:
    """Whether LINEAR_API_KEY is set (the pipeline skips Linear otherwise)."""
    return linear_settings().configured


def _overlap(settings: LinearSettings) -> timedelta:
    return timedelta(minutes=settings.overlap_minutes)


# -- Prefect tasks -----------------------------------------------------------------------------


@task(**TRANSIENT_RETRIES, tags=["linear-api"])
def identify_linear_workspace() -> str:
    """LINEAR_WORKSPACE_ID if set, else the Linear organization id: the workspace_id of every row."""
    settings = linear_settings()
    if settings.workspace_id:
        return settings.workspace_id
    with linear_client(settings) as client:
        return client.organization().id


@task(**TRANSIENT_RETRIES, tags=["linear-api"])
def sync_linear_catalog(workspace_id: str) -> dict[str, LoadCounts]:
    settings = linear_settings()
    with linear_client(settings) as client:
        return sync_catalog(client, warehouse(), workspace_id, overlap=_overlap(settings), run_id=current_run_id())


@task(**TRANSIENT_RETRIES, tags=["linear-api"])
def sync_linear_issues(workspace_id: str) -> dict[str, LoadCounts]:
    settings = linear_settings()
    with linear_client(settings) as client:
        return sync_issues(client, warehouse(), workspace_id, overlap=_overlap(settings),
                           batch_rows=settings.batch_rows, run_id=current_run_id())


@task(**TRANSIENT_RETRIES, tags=["linear-api"])
def sync_linear_comments(workspace_id: str) -> LoadCounts:
    settings = linear_settings()
    with linear_client(settings) as client:
        return sync_comments(client, warehouse(), workspace_id, overlap=_overlap(settings),
                             batch_rows=settings.batch_rows, run_id=current_run_id())


# -- the incremental syncs (plain functions, testable and benchmarkable without Prefect) ----------


def sync_catalog(client: LinearClient, wh: Warehouse, workspace_id: str, *, overlap: timedelta,
                 run_id: str | None = None) -> dict[str, LoadCounts]:
    """Teams, workflow states, users, projects, cycles and labels changed since their cursors."""
    cursors = {name: wh.cursor(workspace_id, SOURCE, name) for name in CATALOG_TABLES}
    since = {name: cursor_minus(cursor, overlap) for name, cursor in cursors.items()}
    pending = {name: Parsed() for name in CATALOG_TABLES}
    for name, records in client.catalog(since):
        spec = CATALOG_TABLES[name]
        _extend(pending[name], parse_page(records, spec.parse, lambda r, k=spec.key: r[k], workspace_id=workspace_id))
    counts = {}
    for name, parsed in pending.items():
        spec = CATALOG_TABLES[name]
        newest = _newest(cursors[name], (payload.get("updatedAt") for _, payload in parsed.raw))
        counts[f"{SOURCE}.{name}"] = wh.write(
            Batch(workspace_id, SOURCE, name, raw=parsed.raw, upserts={spec.table: parsed.rows},
                  rejected=parsed.rejected, cursor=newest if newest != cursors[name] else None),
            run_id=run_id,
        )
    return counts


def sync_issues(client: LinearClient, wh: Warehouse, workspace_id: str, *, overlap: timedelta,
                batch_rows: int = 5000, run_id: str | None = None) -> dict[str, LoadCounts]:
    """Issues changed since the cursor, each with its whole state history."""
    cursor = wh.cursor(workspace_id, SOURCE, "issues")
    known = _KnownUsers(client, wh, workspace_id, run_id)
    writer = _IssueWriter(wh, workspace_id, batch_rows, run_id)
    newest = cursor
    for page in client.issues(cursor_minus(cursor, overlap)):
        known.cover(set().union(*(user_refs(issue) for issue in page)) if page else set())
        histories = {issue["id"]: issue.get("history") for issue in page
                     if isinstance(issue, dict) and isinstance(issue.get("id"), str)}
        issues = parse_page([_without_history(issue) for issue in page], parse_issue, lambda r: r["issue_id"],
                            workspace_id=workspace_id, known_users=known.ids)
        full = {issue["id"]: issue for issue in page if isinstance(issue, dict) and isinstance(issue.get("id"), str)}
        issues.rejected = [Rejected(full.get(r.record_key, r.payload), r.reason, r.record_key) for r in issues.rejected]
        history = Parsed()
        for row in issues.rows:
            entries = [e for e in _history_nodes(histories.get(row["issue_id"])) if is_state_change(e)]
            _extend(history, parse_page(entries, parse_history, lambda r: r["history_id"], workspace_id=workspace_id,
                                        issue_id=row["issue_id"], known_users=known.ids))
        newest = _newest(newest, (format_datetime(row["updated_at"]) for row in issues.rows))
        writer.add(issues, history)
    return writer.finish(cursor=newest if newest != cursor else None)


def sync_comments(client: LinearClient, wh: Warehouse, workspace_id: str, *, overlap: timedelta,
                  batch_rows: int = 5000, run_id: str | None = None) -> LoadCounts:
    """Comments on issues created or edited since the cursor (comments on projects and documents,
    which have no issue, are not issue comments and are skipped)."""
    cursor = wh.cursor(workspace_id, SOURCE, "comments")
    known = _KnownUsers(client, wh, workspace_id, run_id)
    pending, counts, newest = Parsed(), LoadCounts(), cursor
    for page in client.comments(cursor_minus(cursor, overlap)):
        page = [c for c in page if not (isinstance(c, dict) and "issue" in c and c["issue"] is None)]
        known.cover(set().union(*(user_refs(c) for c in page)) if page else set())
        parsed = parse_page(page, parse_comment, lambda r: r["comment_id"], workspace_id=workspace_id,
                            known_users=known.ids)
        newest = _newest(newest, (format_datetime(r["updated_at"] or r["created_at"]) for r in parsed.rows))
        _extend(pending, parsed)
        if len(pending.rows) >= batch_rows:
            counts += _write_comments(wh, workspace_id, pending, None, run_id)
            pending = Parsed()
    return counts + _write_comments(wh, workspace_id, pending, newest if newest != cursor else None, run_id)


def sync_linear(client: LinearClient, wh: Warehouse, workspace_id: str, *, overlap: timedelta = timedelta(minutes=10),
                batch_rows: int = 5000, run_id: str | None = None) -> dict[str, LoadCounts]:
    """Every Linear stream, one after the other (what the flow does, without Prefect)."""
    counts = sync_catalog(client, wh, workspace_id, overlap=overlap, run_id=run_id)
    counts.update(sync_issues(client, wh, workspace_id, overlap=overlap, batch_rows=batch_rows, run_id=run_id))
    counts[f"{SOURCE}.comments"] = sync_comments(client, wh, workspace_id, overlap=overlap, batch_rows=batch_rows,
                                                 run_id=run_id)
    return counts


def run_linear_sync(api_url: str, api_key: str, warehouse_path: str, *, workspace_id: str | None = None,
                    overlap_minutes: float = 10.0, **client_options: Any) -> dict:
    """One Linear sync against ``api_url`` into the warehouse at ``warehouse_path``, without Prefect,
    for benchmarks: the first call on a fresh warehouse is a full sync, the next ones incremental.

    Returns {"seconds", "requests" (HTTP requests the client sent, retries included),
    "workspace_id", "streams": {stream: LoadCounts fields}, "rows": {core table: rows}}."""
    wh = Warehouse(warehouse_path)
    started = time.perf_counter()
    with LinearClient(api_key, api_url, **client_options) as client:
        workspace_id = workspace_id or client.organization().id
        counts = sync_linear(client, wh, workspace_id, overlap=timedelta(minutes=overlap_minutes))
        requests = client.requests
    seconds = time.perf_counter() - started
    rows = {spec.table: wh.query(f"SELECT count(*) FROM {spec.table} WHERE workspace_id = ?", [workspace_id])[0][0]
            for spec in (*CATALOG_TABLES.values(), _Table("core.linear_issues", parse_issue, ""),
                         _Table("core.linear_issue_history", parse_history, ""),
                         _Table("core.linear_comments", parse_comment, ""))}
    return {"seconds": round(seconds, 3), "requests": requests, "workspace_id": workspace_id,
            "streams": {name: vars(c) for name, c in counts.items()}, "rows": rows}


# -- helpers -----------------------------------------------------------------------------------


class _KnownUsers:
    """The user ids the warehouse holds for the workspace; re-reads Linear's users once per run when
    a record refers to one it does not know."""

    def __init__(self, client: LinearClient, wh: Warehouse, workspace_id: str, run_id: str | None):
        self.client, self.wh, self.workspace_id, self.run_id = client, wh, workspace_id, run_id
        self.ids = {r[0] for r in wh.query("SELECT user_id FROM core.linear_users WHERE workspace_id = ?",
                                           [workspace_id])}
        self.refreshed = False

    def cover(self, refs: set[str]) -> None:
        if self.refreshed or refs <= self.ids:
            return
        self.refreshed = True
        spec = CATALOG_TABLES["users"]
        for records in self.client.users():
            parsed = parse_page(records, spec.parse, lambda r: r["user_id"], workspace_id=self.workspace_id)
            self.wh.write(Batch(self.workspace_id, SOURCE, "users", raw=parsed.raw, upserts={spec.table: parsed.rows},
                                rejected=parsed.rejected), run_id=self.run_id)
            self.ids |= {row["user_id"] for row in parsed.rows}


class _IssueWriter:
    """Buffers parsed issue pages and writes them ``batch_rows`` issues at a time: each flush writes
    the history rows, then the issues; the last one moves the issues cursor."""

    def __init__(self, wh: Warehouse, workspace_id: str, batch_rows: int, run_id: str | None):
        self.wh, self.workspace_id, self.batch_rows, self.run_id = wh, workspace_id, batch_rows, run_id
        self.issues, self.history = Parsed(), Parsed()
        self.counts = {f"{SOURCE}.issues": LoadCounts(), f"{SOURCE}.history": LoadCounts()}

    def add(self, issues: Parsed, history: Parsed) -> None:
        _extend(self.issues, issues)
        _extend(self.history, history)
        if len(self.issues.rows) + len(self.issues.rejected) >= self.batch_rows:
            self._flush(None)

    def finish(self, cursor: str | None) -> dict[str, LoadCounts]:
        self._flush(cursor)
        return self.counts

    def _flush(self, cursor: str | None) -> None:
        ws, h, i = self.workspace_id, self.history, self.issues
        self.counts[f"{SOURCE}.history"] += self.wh.write(
            Batch(ws, SOURCE, "history", raw=h.raw, upserts={"core.linear_issue_history": h.rows}, rejected=h.rejected),
            run_id=self.run_id)
        self.counts[f"{SOURCE}.issues"] += self.wh.write(
            Batch(ws, SOURCE, "issues", raw=i.raw, upserts={"core.linear_issues": i.rows}, rejected=i.rejected,
                  cursor=cursor),
            run_id=self.run_id)
        self.issues, self.history = Parsed(), Parsed()


def _write_comments(wh: Warehouse, workspace_id: str, parsed: Parsed, cursor: str | None,
                    run_id: str | None) -> LoadCounts:
    return wh.write(Batch(workspace_id, SOURCE, "comments", raw=parsed.raw,
                          upserts={"core.linear_comments": parsed.rows}, rejected=parsed.rejected, cursor=cursor),
                    run_id=run_id)


def _extend(into: Parsed, parsed: Parsed) -> None:
    into.rows += parsed.rows
    into.raw += parsed.raw
    into.rejected += parsed.rejected


def _without_history(issue: Any) -> Any:
    """The issue as stored in raw.linear_issues: its history entries go to raw.linear_history."""
    return {k: v for k, v in issue.items() if k != "history"} if isinstance(issue, dict) else issue


def _history_nodes(history: Any) -> list:
    nodes = history.get("nodes") if isinstance(history, dict) else None
    return nodes if isinstance(nodes, list) else []


def _newest(cursor: str | None, stamps: Iterable[Any]) -> str | None:
    """The later of the cursor and every valid timestamp in ``stamps``, as Linear's DateTime text."""
    best: datetime | None = parse_timestamp(cursor, "cursor") if cursor else None
    for stamp in stamps:
        try:
            moment = parse_timestamp(stamp, "updatedAt")
        except ParseError:
            continue
        if moment is not None and (best is None or moment > best):
            best = moment
    return format_datetime(best) if best is not None else None
