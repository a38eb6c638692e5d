"""The Slack part of the sandbox world: users, channels, messages, mutations and ground truth.

Messages are compact ``__slots__`` objects keyed by an integer timestamp in microseconds
(``ts_us``); the wire ``ts`` string ("seconds.micros", 6 digits) is derived from it. A channel
keeps ``history``: the sorted ts of everything ``conversations.history`` shows (top-level
messages, tombstones and thread broadcasts), and ``by_ts``: every message including replies.

Ground-truth mapping (what a correct ingestion stores per message, see ``expected_messages``):
- ``user_id`` = the message's ``user`` if present, else its ``bot_id`` (classic ``bot_message``
  posts carry only ``bot_id`` and ``username``; app bots carry both and map to their bot user).
- ``thread_ts`` = the parent's ts for replies, the message's own ts for a parent that has
  replies, ``None`` for a message without a thread.
- ``reply_count`` = number of replies for a parent, 0 for everything else.
- ``edited_at`` = ``edited.ts`` as an aware UTC datetime, else ``None``; ``text`` is the current
  (edited) text.
- a deleted parent that still has replies is served, as Slack does, as ``subtype: "tombstone"``,
  ``user: "USLACKBOT"``, ``text: "This message was deleted."`` and maps to ``is_deleted=True``
  with those values; a deleted message without replies (or a deleted reply) is simply gone.
- a ``thread_broadcast`` reply appears both in history and in its thread: one row.
- malformed records (``bad_records``) are not messages and never appear in the expected rows.
"""
from __future__ import annotations

import threading
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from datetime import UTC, datetime

SLACKBOT_ID = "USLACKBOT"
TOMBSTONE_TEXT = "This message was deleted."
MAX_TEXT_CHARS = 40_000


class SlackError(Exception):
    """A Slack Web API error code (served as HTTP 200 ``{"ok": false, "error": code}``)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def format_ts(ts_us: int) -> str:
    """Slack's wire timestamp: "seconds.micros" with exactly six fractional digits."""
    return f"{ts_us // 1_000_000}.{ts_us % 1_000_000:06d}"


def parse_ts(value: object) -> int:
    """Parse a Slack ts ("1700000000.000100", "1700000000" or a number) into microseconds."""
    text = str(value).strip()
    seconds, _, fraction = text.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise ValueError(f"not a Slack ts: {value!r}")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def ts_to_datetime(ts_us: int) -> datetime:
    return datetime.fromtimestamp(ts_us // 1_000_000, tz=UTC).replace(microsecond=ts_us % 1_000_000)


@dataclass(slots=True)
class SlackUser:
    id: str
    name: str
    real_name: str
    title: str = ""
    email: str | None = None
    tz: str = "Europe/London"
    tz_label: str = "Greenwich Mean Time"
    tz_offset: int = 0
    is_bot: bool = False
    deleted: bool = False
    is_admin: bool = False
    bot_id: str | None = None
    app_id: str | None = None
    updated: int = 0
    color: str = "9f69e7"


@dataclass(slots=True)
class SlackBot:
    """A bot integration (``bot_id``); app bots also have a bot user (``user_id``)."""

    id: str
    name: str
    app_id: str
    user_id: str | None = None


class SlackMessage:
    """One message or reply.

    ``truth`` is (kind, ticket identifier) on top-level messages only; ``parent_user`` is the
    parent's author on replies and the original author on a tombstone (replies keep citing it).
    """

    __slots__ = ("ts", "user", "text", "thread_ts", "subtype", "bot_id", "username",
                 "edited", "replies", "parent_user", "blocks", "truth")

    def __init__(self, ts: int, user: str | None, text: str, *, thread_ts: int | None = None,
                 subtype: str | None = None, bot_id: str | None = None, username: str | None = None,
                 parent_user: str | None = None, truth: tuple[str, str | None] | None = None):
        self.ts = ts
        self.user = user
        self.text = text
        self.thread_ts = thread_ts
        self.subtype = subtype
        self.bot_id = bot_id
        self.username = username
        self.edited: tuple[str, int] | None = None
        self.replies: list[SlackMessage] | None = None
        self.parent_user = parent_user
        self.blocks: list | None = None
        self.truth = truth

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None

    @property
    def is_tombstone(self) -> bool:
        return self.subtype == "tombstone"

    def add_reply(self, reply: SlackMessage) -> None:
        if self.replies is None:
            self.replies = []
        insort(self.replies, reply, key=lambda m: m.ts)


@dataclass(slots=True)
class BadRecord:
    """A malformed history entry served right after the message ``after_ts`` (newest first)."""

    after_ts: int
    payload: dict
    reason: str


@dataclass(slots=True)
class SlackChannel:
    id: str
    name: str
    purpose: str
    created: int
    creator: str
    is_private: bool = False
    is_archived: bool = False
    is_general: bool = False
    members: list[str] = field(default_factory=list)
    history: list[int] = field(default_factory=list)
    by_ts: dict[int, SlackMessage] = field(default_factory=dict)
    bad_records: dict[int, list[BadRecord]] = field(default_factory=dict)
    profile: str = "social"  # the generator's message mix ("team:ENG", "alerts", ...); never served

    def add(self, message: SlackMessage, *, in_history: bool) -> None:
        """Index a message; callers guarantee ``message.ts`` is unused in this channel."""
        self.by_ts[message.ts] = message
        if in_history:
            if not self.history or message.ts > self.history[-1]:
                self.history.append(message.ts)
            else:
                insort(self.history, message.ts)

    def in_history(self, ts: int) -> bool:
        index = bisect_left(self.history, ts)
        return index < len(self.history) and self.history[index] == ts

    def remove_from_history(self, ts: int) -> None:
        if self.in_history(ts):
            del self.history[bisect_left(self.history, ts)]

    def message(self, ts: int) -> SlackMessage:
        try:
            return self.by_ts[ts]
        except KeyError:
            raise SlackError("message_not_found") from None


class SlackWorkspace:
    """All Slack state of one world. Every mutation holds ``lock`` and bumps ``version``."""

    def __init__(self, *, team_id: str, name: str, domain: str, now_us: int,
                 lock: threading.RLock, app_kind: str = "internal"):
        self.team_id = team_id
        self.name = name
        self.domain = domain
        self.app_kind = app_kind
        self.lock = lock
        self.users: dict[str, SlackUser] = {}
        self.bots: dict[str, SlackBot] = {}
        self.channels: dict[str, SlackChannel] = {}
        self.app_bot: SlackBot | None = None
        self.bot_token = f"xoxb-sandbox-{team_id.lower()}"
        self.version = 0
        self.now_us = now_us
        self._clock_us = now_us

    @property
    def now_s(self) -> int:
        return self.now_us // 1_000_000

    # ---- lookups -------------------------------------------------------------------------
    def channel(self, channel_id: object) -> SlackChannel:
        channel = self.channels.get(channel_id) if isinstance(channel_id, str) else None
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def parent_of(self, channel: SlackChannel, message: SlackMessage) -> SlackMessage:
        return channel.by_ts[message.thread_ts] if message.thread_ts is not None else message

    # ---- mutations -----------------------------------------------------------------------
    def next_ts(self) -> int:
        """A logical clock: mutations happen one second apart after the world's ``now``."""
        self._clock_us += 1_000_000
        return self._clock_us

    def post_message(self, channel_id: str, text: str, *, user_id: str | None = None,
                     thread_ts: int | None = None, blocks: list | None = None,
                     reply_broadcast: bool = False,
                     truth: tuple[str, str | None] | None = None) -> SlackMessage:
        """Post as ``user_id`` (default: the app's bot user), top-level or into a thread.

        ``truth`` is the (kind, ticket) label a top-level post adds to ``thread_truth``.
        """
        with self.lock:
            channel = self.channel(channel_id)
            if channel.is_archived:
                raise SlackError("is_archived")
            if len(text) > MAX_TEXT_CHARS:
                raise SlackError("msg_too_long")
            author = user_id or self.app_bot.user_id
            bot_id = self.app_bot.id if author == self.app_bot.user_id else None
            message = SlackMessage(self.next_ts(), author, text, bot_id=bot_id)
            message.blocks = blocks
            if thread_ts is None:
                message.truth = truth
                channel.add(message, in_history=True)
            else:
                self._attach_reply(channel, thread_ts, message, broadcast=reply_broadcast)
            self.version += 1
            return message

    def _attach_reply(self, channel: SlackChannel, thread_ts: int, reply: SlackMessage, *,
                      broadcast: bool) -> None:
        parent = channel.by_ts.get(thread_ts)
        if parent is None:
            raise SlackError("thread_not_found")
        parent = self.parent_of(channel, parent)
        reply.thread_ts = parent.ts
        reply.parent_user = parent.parent_user or parent.user
        if broadcast:
            reply.subtype = "thread_broadcast"
        parent.add_reply(reply)
        channel.add(reply, in_history=broadcast)

    def edit_message(self, channel_id: str, ts: int, text: str, *, user_id: str | None = None,
                     blocks: list | None = None) -> SlackMessage:
        with self.lock:
            channel = self.channel(channel_id)
            message = channel.message(ts)
            if message.is_tombstone:
                raise SlackError("cant_update_message")
            message.text = text
            message.blocks = blocks
            message.edited = (user_id or message.user or message.bot_id, self.next_ts())
            self.version += 1
            return message

    def delete_message(self, channel_id: str, ts: int) -> None:
        """Delete like Slack: a parent with replies becomes a tombstone, anything else vanishes."""
        with self.lock:
            channel = self.channel(channel_id)
            message = channel.message(ts)
            if message.is_tombstone:
                raise SlackError("message_not_found")
            if message.is_reply:
                self._delete_reply(channel, message)
            elif message.replies:
                make_tombstone(message)
            else:
                del channel.by_ts[ts]
                channel.remove_from_history(ts)
            self.version += 1

    def _delete_reply(self, channel: SlackChannel, reply: SlackMessage) -> None:
        parent = channel.by_ts[reply.thread_ts]
        parent.replies.remove(reply)
        del channel.by_ts[reply.ts]
        channel.remove_from_history(reply.ts)
        if not parent.replies:
            parent.replies = None
            if parent.is_tombstone:
                del channel.by_ts[parent.ts]
                channel.remove_from_history(parent.ts)

    # ---- ground truth ----------------------------------------------------------------------
    def iter_messages(self):
        """(channel, message) for every message and reply, channel by channel, oldest first."""
        for channel in self.channels.values():
            for ts in sorted(channel.by_ts):
                yield channel, channel.by_ts[ts]

    def expected_messages(self) -> list[dict]:
        with self.lock:
            return [self._expected_row(channel, message) for channel, message in self.iter_messages()]

    def _expected_row(self, channel: SlackChannel, message: SlackMessage) -> dict:
        thread_ts = message.thread_ts if message.is_reply else (message.ts if message.replies else None)
        return {
            "workspace_id": self.team_id,
            "channel_id": channel.id,
            "ts": format_ts(message.ts),
            "thread_ts": format_ts(thread_ts) if thread_ts is not None else None,
            "user_id": message.user or message.bot_id,
            "text": message.text,
            "posted_at": ts_to_datetime(message.ts),
            "edited_at": ts_to_datetime(message.edited[1]) if message.edited else None,
            "is_deleted": message.is_tombstone,
            "reply_count": len(message.replies) if message.replies and not message.is_reply else 0,
        }

    def expected_users(self) -> list[dict]:
        with self.lock:
            return [
                {"workspace_id": self.team_id, "user_id": u.id, "name": u.name, "real_name": u.real_name,
                 "is_bot": u.is_bot, "is_deleted": u.deleted}
                for u in sorted(self.users.values(), key=lambda u: u.id)
            ]

    def expected_channels(self) -> list[dict]:
        with self.lock:
            return [
                {"workspace_id": self.team_id, "channel_id": c.id, "name": c.name,
                 "is_private": c.is_private, "is_archived": c.is_archived}
                for c in sorted(self.channels.values(), key=lambda c: c.id)
            ]

    def thread_truth(self) -> dict[tuple[str, str], dict]:
        """(channel_id, ts of every top-level message) -> {"ticket": id or None, "kind": ...}."""
        with self.lock:
            return {
                (channel.id, format_ts(message.ts)): {"ticket": message.truth[1], "kind": message.truth[0]}
                for channel, message in self.iter_messages() if message.truth is not None
            }

    def bad_records(self) -> list[dict]:
        with self.lock:
            return [
                {"workspace_id": self.team_id, "channel_id": channel.id, "reason": bad.reason,
                 "payload": bad.payload, "served_after_ts": format_ts(bad.after_ts)}
                for channel in self.channels.values()
                for records in channel.bad_records.values() for bad in records
            ]


def make_tombstone(message: SlackMessage) -> None:
    message.parent_user = message.user
    message.subtype = "tombstone"
    message.user = SLACKBOT_ID
    message.text = TOMBSTONE_TEXT
    message.bot_id = None
    message.username = None
    message.edited = None
    message.blocks = None
