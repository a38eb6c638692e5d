"""Slack ingestion tasks: workspace, users, channels, and messages per channel.

A channel is synced incrementally from its cursor (the newest top-level ts seen). Each run re-reads
a re-scan window before the cursor, which is how a pull connector sees edits, deletions and new
replies: a thread is re-fetched when its latest_reply changed or falls inside the window, and a
message stored in the window that the API no longer lists is marked is_deleted. Rows are written in
batches; the cursor moves only in the channel's last transaction, so a crash anywhere re-reads from
the old cursor and the idempotent merge makes the re-run land exactly where one clean run would.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from prefect import task

from connectors.records import Parsed, parse_page
from connectors.slack import (
    SlackClient,
    Workspace,
    message_key,
    parse_channel,
    parse_message,
    parse_user,
    ts_minus_seconds,
)
from pmflow.settings import SlackSettings, slack_settings
from tasks.common import TRANSIENT_RETRIES, current_run_id, warehouse
from warehouse import Batch, LoadCounts, Warehouse

SOURCE = "slack"


def slack_client(settings: SlackSettings | None = None) -> SlackClient:
    settings = settings or slack_settings()
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    return SlackClient(
        token,
        settings.api_url,
        page_size=settings.page_size,
        calls_per_minute=settings.calls_per_minute,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
    )


@task(**TRANSIENT_RETRIES)
def identify_slack_workspace() -> Workspace:
    """auth.test: the workspace id that keys every Slack row."""
    return slack_client().workspace()


@task(**TRANSIENT_RETRIES)
def sync_slack_users(workspace_id: str) -> LoadCounts:
    client, wh = slack_client(), warehouse()
    counts = LoadCounts()
    for page in client.users():
        parsed = parse_page(page, parse_user, lambda r: r["user_id"], workspace_id=workspace_id)
        counts += wh.write(_batch(workspace_id, "users", parsed, "core.slack_users"), run_id=current_run_id())
    return counts


@task(**TRANSIENT_RETRIES)
def sync_slack_channels(workspace_id: str) -> tuple[list[str], LoadCounts]:
    """Loads every channel the token can read; returns the ids to ingest (SLACK_CHANNELS narrows)."""
    client, wh, wanted = slack_client(), warehouse(), slack_settings().channel_filter
    counts, channel_ids = LoadCounts(), []
    for page in client.channels():
        parsed = parse_page(page, parse_channel, lambda r: r["channel_id"], workspace_id=workspace_id)
        counts += wh.write(_batch(workspace_id, "channels", parsed, "core.slack_channels"), run_id=current_run_id())
        channel_ids += [r["channel_id"] for r in parsed.rows if not wanted or {r["channel_id"], r["name"]} & wanted]
    return channel_ids, counts


@task(**TRANSIENT_RETRIES, tags=["slack-history", "slack-api"])
def sync_slack_channel(workspace_id: str, channel_id: str) -> LoadCounts:
    settings = slack_settings()
    return sync_channel_messages(
        slack_client(settings),
        warehouse(),
        workspace_id,
        channel_id,
        rescan_s=settings.rescan_days * 86400,
        batch_rows=settings.batch_rows,
        run_id=current_run_id(),
    )


# -- the incremental channel sync (plain functions, testable without Prefect) -------------------


def sync_channel_messages(
    client: SlackClient,
    wh: Warehouse,
    workspace_id: str,
    channel_id: str,
    *,
    rescan_s: float,
    batch_rows: int = 5000,
    run_id: str | None = None,
) -> LoadCounts:
    cursor = wh.cursor(workspace_id, SOURCE, "messages", channel_id)
    oldest = ts_minus_seconds(cursor, rescan_s) if cursor else None
    stored = _stored_window(wh, workspace_id, channel_id, oldest) if cursor else _StoredWindow()
    writer = _MessageWriter(wh, workspace_id, channel_id, batch_rows, run_id)

    newest, listed, threads = cursor, set(), []
    for page in client.history(channel_id, oldest):
        parsed = writer.add(page)
        for row in parsed.rows:
            listed.add(row["ts"])
            newest = max(newest or row["ts"], row["ts"], key=float)
            if row["reply_count"] and _thread_needs_fetch(row, stored, oldest):
                threads.append(row["ts"])

    for thread_ts in threads:
        replies = set()
        for page in client.replies(channel_id, thread_ts):
            page = [m for m in page if not (isinstance(m, dict) and m.get("ts") == thread_ts)]  # the parent, again
            replies |= {row["ts"] for row in writer.add(page).rows}
        writer.mark_deleted(stored.replies.get(thread_ts, set()) - replies)

    writer.mark_deleted(stored.top_level - listed)
    return writer.finish(cursor=newest if newest != cursor else None)


def _thread_needs_fetch(parent: dict, stored: _StoredWindow, oldest: str | None) -> bool:
    latest = parent["latest_reply"]
    return (
        oldest is None
        or parent["ts"] not in stored.latest_reply
        or stored.latest_reply[parent["ts"]] != latest
        or (latest is not None and float(latest) >= float(oldest))
    )


@dataclass
class _StoredWindow:
    """What the warehouse holds for a channel inside the re-scan window (not yet deleted)."""

    top_level: set[str] = field(default_factory=set)
    latest_reply: dict[str, str | None] = field(default_factory=dict)
    replies: dict[str, set[str]] = field(default_factory=dict)


def _stored_window(wh: Warehouse, workspace_id: str, channel_id: str, oldest: str) -> _StoredWindow:
    rows = wh.query(
        """
        WITH parents AS (
            SELECT ts, thread_ts, latest_reply FROM core.slack_messages
            WHERE workspace_id = ? AND channel_id = ? AND NOT is_deleted
              AND (thread_ts IS NULL OR thread_ts = ts) AND CAST(ts AS DOUBLE) >= ?
        )
        SELECT 'parent', ts, latest_reply, NULL FROM parents
        UNION ALL
        SELECT 'reply', m.ts, NULL, m.thread_ts FROM core.slack_messages m JOIN parents p ON m.thread_ts = p.ts
        WHERE m.workspace_id = ? AND m.channel_id = ? AND NOT m.is_deleted AND m.ts <> m.thread_ts
        """,
        [workspace_id, channel_id, float(oldest), workspace_id, channel_id],
    )
    stored = _StoredWindow()
    for kind, ts, latest_reply, thread_ts in rows:
        if kind == "parent":
            stored.top_level.add(ts)
            stored.latest_reply[ts] = latest_reply
        else:
            stored.replies.setdefault(thread_ts, set()).add(ts)
    return stored


class _MessageWriter:
    """Buffers parsed pages and writes them `batch_rows` at a time; the last write moves the cursor."""

    def __init__(self, wh: Warehouse, workspace_id: str, channel_id: str, batch_rows: int, run_id: str | None):
        self.wh, self.workspace_id, self.channel_id = wh, workspace_id, channel_id
        self.batch_rows, self.run_id = batch_rows, run_id
        self.pending, self.deleted = Parsed(), []
        self.counts = LoadCounts()

    def add(self, page: list) -> Parsed:
        parsed = parse_page(page, parse_message, message_key, workspace_id=self.workspace_id, channel_id=self.channel_id)
        self.pending.rows += parsed.rows
        self.pending.raw += parsed.raw
        self.pending.rejected += parsed.rejected
        if len(self.pending.rows) >= self.batch_rows:
            self._flush(cursor=None)
        return parsed

    def mark_deleted(self, ts_values: set[str]) -> None:
        self.deleted += [
            {"workspace_id": self.workspace_id, "channel_id": self.channel_id, "ts": ts, "is_deleted": True}
            for ts in sorted(ts_values)
        ]

    def finish(self, cursor: str | None) -> LoadCounts:
        self._flush(cursor)
        return self.counts

    def _flush(self, cursor: str | None) -> None:
        upserts = [("core.slack_messages", rows) for rows in (self.pending.rows, self.deleted) if rows]
        batch = Batch(self.workspace_id, SOURCE, "messages", self.channel_id, raw=self.pending.raw,
                      upserts=upserts, rejected=self.pending.rejected, cursor=cursor)
        self.counts += self.wh.write(batch, run_id=self.run_id)
        self.pending, self.deleted = Parsed(), []


def _batch(workspace_id: str, stream: str, parsed: Parsed, table: str) -> Batch:
    return Batch(workspace_id, SOURCE, stream, raw=parsed.raw, upserts={table: parsed.rows}, rejected=parsed.rejected)
