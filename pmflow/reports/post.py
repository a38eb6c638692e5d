"""Posting a stored report to Slack, idempotently per (workspace, kind, team, report date).

- Already posted (slack_ts recorded): chat.update that message with the current content.
- Not posted: record post_started_at (committed), chat.postMessage once (no client-side retry: a
  retry of a post whose answer was lost would post twice), record channel + ts at once.
- A retry that finds post_started_at without a ts (the post's answer was lost: timeout, reset) first
  looks for the message among the channel's newest messages (our bot's, with the report's marker);
  found: record it and update it; not found: post. If it cannot look (no channels:history scope), it
  fails rather than risk a second message.
- A recorded message that Slack no longer has (deleted) is forgotten and posted anew.
The warehouse records every step before the next relies on it, so a crash at any point leaves at
most one message per key.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.errors import PermanentError, TransientError
from connectors.slack import SlackClient
from pmflow.reports import store
from pmflow.reports.model import report_marker
from warehouse import Warehouse

RECOVERY_SCAN_MESSAGES = 1000
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_GONE = ("message_not_found", "channel_not_found", "cant_update_message", "is_archived")


@dataclass(frozen=True)
class PostResult:
    action: str  # posted | updated | recovered
    channel: str
    ts: str


def marker(key: store.Key) -> str:
    """The footer the report's blocks carry (render.to_blocks), which identifies its message."""
    _, kind, team, report_date = key
    return report_marker(kind, team, report_date)


def publish(wh: Warehouse, key: store.Key, channel: str, client: SlackClient,
            now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> PostResult:
    """Posts or updates the report `key` in `channel`. `client` should not retry on its own
    (max_retries=0): transient failures surface to the caller, whose retry comes back here."""
    with wh.connect() as con:
        state = store.post_state(con, key)
    if state is None:
        raise LookupError(f"no report {key} in marts.standups to post")

    if state.slack_ts and state.slack_channel:
        try:
            client.update_message(state.slack_channel, state.slack_ts, state.fallback_text, state.blocks)
        except PermanentError as exc:
            if not any(reason in str(exc) for reason in _GONE):
                raise
            with wh.connect() as con:
                store.forget_message(con, key)
        else:
            with wh.connect() as con:
                store.mark_updated(con, key, now())
            return PostResult("updated", state.slack_channel, state.slack_ts)
    elif state.post_started_at is not None:
        found = find_posted(client, state.slack_channel or channel, key)
        if found is not None:
            found_channel, ts = found
            with wh.connect() as con:
                store.mark_recovered(con, key, found_channel, ts, now())
            client.update_message(found_channel, ts, state.fallback_text, state.blocks)
            with wh.connect() as con:
                store.mark_updated(con, key, now())
            return PostResult("recovered", found_channel, ts)

    with wh.connect() as con:
        store.mark_post_started(con, key, channel, now())
    try:
        response = client.post_message(channel, state.fallback_text, state.blocks)
    except (PermanentError, TransientError):
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a connection cut mid-answer: the post may have happened
        raise TransientError(f"Slack chat.postMessage: no answer ({type(exc).__name__}); "
                             "a retry looks for the message before posting again") from exc
    posted_channel, ts = response.get("channel") or channel, response["ts"]
    with wh.connect() as con:
        store.mark_posted(con, key, posted_channel, ts, now())
    return PostResult("posted", posted_channel, ts)


def find_posted(client: SlackClient, channel: str, key: store.Key,
                max_messages: int = RECOVERY_SCAN_MESSAGES) -> tuple[str, str] | None:
    """(channel id, ts) of our bot's message for `key` among the channel's newest `max_messages`,
    or None. The scan is by recency, not by time: Slack's clock and ours need not agree."""
    try:
        identity = client.call("auth.test")
        ours = {identity.get("user_id"), identity.get("bot_id")} - {None}
        channel_id = resolve_channel(client, channel)
        if channel_id is None:
            return None
        needle, seen = marker(key), 0
        for page in client.history(channel_id):
            for message in page:
                seen += 1
                if {message.get("user"), message.get("bot_id")} & ours and \
                        needle in _block_text(message.get("blocks") or []):
                    return channel_id, message["ts"]
            if seen >= max_messages:
                return None
    except PermanentError as exc:
        raise PermanentError(
            f"A previous post of this report may have reached Slack, and checking failed ({exc}); not posting "
            "again, to avoid a duplicate. Give the bot channels:history (or clear marts.standups.post_started_at "
            "for this report) and retry.") from None
    return None


def resolve_channel(client: SlackClient, channel: str) -> str | None:
    """A channel id for an id or a name (with or without '#')."""
    if _CHANNEL_ID.match(channel):
        return channel
    name = channel.removeprefix("#")
    for page in client.channels():
        for found in page:
            if found.get("name") == name:
                return found.get("id")
    return None


def _block_text(blocks: list) -> str:
    texts = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(texts)
