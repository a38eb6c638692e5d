"""marts.standups: one row per (workspace_id, kind, team, report_date), with its posting state.

Regenerating a report replaces its content and keeps what posting recorded (channel, ts), so the
next post of the same key updates that message. Each function is one statement, committed on return.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from pmflow.reports.model import Report

Key = tuple[str, str, str, date]
_WHERE = "workspace_id = ? AND kind = ? AND team = ? AND report_date = ?"


@dataclass(frozen=True)
class PostState:
    markdown: str
    blocks: list[dict]
    fallback_text: str
    slack_channel: str | None
    slack_ts: str | None
    post_started_at: datetime | None
    posted_at: datetime | None
    post_count: int
    update_count: int


def save_report(con: duckdb.DuckDBPyConnection, report: Report, markdown: str, blocks: list[dict],
                fallback_text: str, generated_at: datetime, flow_run_id: str | None) -> None:
    content = [markdown, json.dumps(blocks, ensure_ascii=False), fallback_text, report.team_name, report.timezone,
               report.window_start, report.window_end, report.quiet, generated_at, flow_run_id]
    con.execute("BEGIN TRANSACTION")
    try:
        (updated,) = con.execute(
            "UPDATE marts.standups SET markdown = ?, blocks_json = ?::JSON, fallback_text = ?, team_name = ?, "
            "timezone = ?, window_start = ?, window_end = ?, quiet = ?, generated_at = ?, flow_run_id = ? "
            f"WHERE {_WHERE}", content + list(report.key),
        ).fetchone()
        if not updated:
            con.execute(
                "INSERT INTO marts.standups (workspace_id, kind, team, report_date, markdown, blocks_json, "
                "fallback_text, team_name, timezone, window_start, window_end, quiet, generated_at, flow_run_id) "
                "VALUES (?, ?, ?, ?, ?, ?::JSON, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(report.key) + content,
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def post_state(con: duckdb.DuckDBPyConnection, key: Key) -> PostState | None:
    row = con.execute(
        "SELECT markdown, blocks_json, fallback_text, slack_channel, slack_ts, post_started_at, posted_at, "
        f"post_count, update_count FROM marts.standups WHERE {_WHERE}", list(key),
    ).fetchone()
    if row is None:
        return None
    return PostState(row[0], json.loads(row[1]), row[2] or "", *row[3:])


def mark_post_started(con: duckdb.DuckDBPyConnection, key: Key, channel: str, at: datetime) -> None:
    con.execute(f"UPDATE marts.standups SET post_started_at = ?, slack_channel = ? WHERE {_WHERE}",
                [at, channel, *key])


def mark_posted(con: duckdb.DuckDBPyConnection, key: Key, channel: str, ts: str, at: datetime) -> None:
    con.execute(
        "UPDATE marts.standups SET slack_channel = ?, slack_ts = ?, posted_at = ?, post_count = post_count + 1 "
        f"WHERE {_WHERE}", [channel, ts, at, *key])


def mark_recovered(con: duckdb.DuckDBPyConnection, key: Key, channel: str, ts: str, at: datetime) -> None:
    """A message found in the channel after a post whose answer was lost: it was posted once."""
    con.execute(
        "UPDATE marts.standups SET slack_channel = ?, slack_ts = ?, posted_at = coalesce(posted_at, ?), "
        f"post_count = greatest(post_count, 1) WHERE {_WHERE}", [channel, ts, at, *key])


def mark_updated(con: duckdb.DuckDBPyConnection, key: Key, at: datetime) -> None:
    con.execute(f"UPDATE marts.standups SET slack_updated_at = ?, update_count = update_count + 1 WHERE {_WHERE}",
                [at, *key])


def forget_message(con: duckdb.DuckDBPyConnection, key: Key) -> None:
    """The recorded message is gone (deleted in Slack): the next post creates a new one."""
    con.execute(f"UPDATE marts.standups SET slack_ts = NULL, post_started_at = NULL WHERE {_WHERE}", list(key))


def latest_reports(con: duckdb.DuckDBPyConnection, workspace_id: str, kind: str, window_end: datetime) -> list[tuple]:
    """(team, markdown) of the reports of a workspace that end at `window_end`, by team."""
    return con.execute(
        "SELECT team, markdown FROM marts.standups WHERE workspace_id = ? AND kind = ? AND window_end = ? "
        "ORDER BY team = 'all' DESC, team", [workspace_id, kind, window_end],
    ).fetchall()
