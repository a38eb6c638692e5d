"""Compare the warehouse's Slack tables with the sandbox world's ground truth."""
from __future__ import annotations

from warehouse import Warehouse

MESSAGE_COLUMNS = ("workspace_id", "channel_id", "ts", "thread_ts", "user_id", "text", "posted_at",
                   "edited_at", "is_deleted", "reply_count")


def stored_messages(wh: Warehouse) -> dict[tuple[str, str, str], dict]:
    rows = wh.query(f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM core.slack_messages")
    return {(r[0], r[1], r[2]): dict(zip(MESSAGE_COLUMNS, r)) for r in rows}


def slack_differences(world, wh: Warehouse, deleted: set[tuple[str, str]] = frozenset()) -> list[str]:
    """Every way the warehouse differs from the world; empty when they agree exactly.

    `deleted` holds (channel_id, ts) of messages deleted after they were ingested: the world no
    longer serves them, the warehouse must keep them with is_deleted = true.
    """
    expected = {(e["workspace_id"], e["channel_id"], e["ts"]): e for e in world.expected_slack_messages()}
    stored = stored_messages(wh)
    problems = []
    for key in sorted(expected.keys() - stored.keys())[:5]:
        problems.append(f"missing {key}")
    for key in sorted(stored.keys() - expected.keys()):
        if (key[1], key[2]) in deleted:
            if not stored[key]["is_deleted"]:
                problems.append(f"deleted but not flagged {key}")
        else:
            problems.append(f"unexpected {key}")
    for key in sorted(expected.keys() & stored.keys()):
        for column in MESSAGE_COLUMNS:
            if expected[key][column] != stored[key][column]:
                problems.append(f"{key} {column}: expected {expected[key][column]!r}, stored {stored[key][column]!r}")
    for (channel_id, ts) in deleted:
        if (world.workspace_id, channel_id, ts) not in stored:
            problems.append(f"deleted message {channel_id}/{ts} was never stored")
    users = {(u["user_id"], u["name"], u["real_name"], u["is_bot"], u["is_deleted"]) for u in world.expected_slack_users()}
    stored_users = set(wh.query("SELECT user_id, name, real_name, is_bot, is_deleted FROM core.slack_users"))
    if users != stored_users:
        problems.append(f"users differ: {sorted(users ^ stored_users)[:3]}")
    channels = {c["channel_id"] for c in world.expected_slack_channels()}
    stored_channels = {r[0] for r in wh.query("SELECT channel_id FROM core.slack_channels")}
    if channels != stored_channels:
        problems.append(f"channels differ: {sorted(channels ^ stored_channels)}")
    return problems


def warehouse_snapshot(wh: Warehouse) -> dict[str, list[tuple]]:
    """Every row of every core table, the cursors and the quarantine, sorted: two snapshots are
    equal exactly when a run changed nothing a user can see."""
    tables = [t for (t,) in wh.query(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name = 'core' ORDER BY 1")]
    snapshot = {t: sorted(wh.query(f"SELECT * FROM {t}"), key=repr) for t in tables}
    snapshot["ops.sync_state"] = sorted(wh.query(
        "SELECT workspace_id, source, stream, partition_key, cursor FROM ops.sync_state"))
    snapshot["ops.quarantine"] = sorted(wh.query(
        "SELECT workspace_id, source, stream, record_key, payload_hash, reason FROM ops.quarantine"))
    return snapshot
