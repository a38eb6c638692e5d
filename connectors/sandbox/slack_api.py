"""The Slack Web API over the sandbox world, as slack-sdk and plain HTTP clients see it.

Served at ``/slack/api/<method>``: auth.test, conversations.list, conversations.history,
conversations.replies, users.list, chat.postMessage, chat.update and chat.delete. Parameters
come from the query string, a form body or a JSON body; the token from ``Authorization: Bearer``
(or a ``token`` parameter): any ``xoxb-``/``xoxp-`` token is accepted (``world.slack_bot_token``
is one), none is ``not_authed``, anything else ``invalid_auth``. Errors are HTTP 200
``{"ok": false, "error": ...}`` except rate limits (429) and unknown methods (404), as on slack.com.

Pagination: opaque base64 cursors that name the first item of the next page (``next_ts:<µs>``
for messages, ``channel:<id>`` / ``user:<id>`` for lists); ``next_cursor`` is "" on the last page.
conversations.history is newest first; conversations.replies serves the parent first on every
page, then up to ``limit`` replies oldest first. Page sizes: history/replies default 100, max 999
(default and max 15 for a world generated with ``app_kind="non_marketplace"``); lists default
100, max 1000; larger limits are clamped.
"""
from __future__ import annotations

import base64
import binascii
import json
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.sandbox.faults import GENERIC_KINDS, PAGINATION_KINDS
from connectors.sandbox.paging import page_of, window
from connectors.sandbox.server import Request, Response, Service
from connectors.sandbox.slack_data import (
    SlackChannel,
    SlackError,
    SlackMessage,
    SlackUser,
    SlackWorkspace,
    format_ts,
    parse_ts,
)

if TYPE_CHECKING:
    from connectors.sandbox.world import World

PAGINATED = frozenset({"conversations.history", "conversations.replies", "conversations.list", "users.list"})
MESSAGE_LIMITS = {"internal": (100, 999), "non_marketplace": (15, 15)}  # (default, max) per app kind
LIST_LIMITS = (100, 1000)
CONVERSATION_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})
MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c2d4e-52a4-4d55-9d0c-6b1f9a0c1e77")
AVATAR_SIZES = (24, 32, 48, 72, 192, 512)
ACCEPTED_TOKEN_PREFIXES = ("xoxb-", "xoxp-")  # any bot or user token is valid; anything else is not


class SlackService(Service):
    name = "slack"
    prefix = "/slack/api/"

    def __init__(self, world: World):
        self.world = world

    @property
    def ws(self) -> SlackWorkspace:
        return self.world.slack

    # ---- Service hooks -----------------------------------------------------------------------
    def fault_kinds(self, endpoint: str) -> frozenset[str]:
        kinds = GENERIC_KINDS | {"ok_false"}
        return kinds | frozenset(PAGINATION_KINDS) if endpoint in PAGINATED else kinds

    def rate_limited(self, retry_after_s: int) -> Response:
        return Response.json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(retry_after_s)})

    def ok_false(self) -> Response:
        return Response.json({"ok": False, "error": "internal_error"})

    def handle(self, request: Request) -> Response:
        method = METHODS.get(request.subpath)
        if method is None:
            return Response.json({"ok": False, "error": "unknown_method", "req_method": request.subpath}, 404)
        try:
            if request.body_error:
                raise SlackError(request.body_error)
            self._authenticate(request)
            with self.world.lock:
                data = method(self, request.params, request)
        except SlackError as error:
            data = {"ok": False, "error": error.code}
        return Response.json(data)

    def _authenticate(self, request: Request) -> None:
        header = request.header("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.params.get("token")
        if not token:
            raise SlackError("not_authed")
        if not str(token).startswith(ACCEPTED_TOKEN_PREFIXES):
            raise SlackError("invalid_auth")

    # ---- methods -----------------------------------------------------------------------------
    def auth_test(self, params: dict, request: Request) -> dict:
        bot = self.ws.app_bot
        return {"ok": True, "url": f"https://{self.ws.domain}.slack.com/", "team": self.ws.name,
                "user": bot.name, "team_id": self.ws.team_id, "user_id": bot.user_id, "bot_id": bot.id,
                "is_enterprise_install": False}

    def conversations_list(self, params: dict, request: Request) -> dict:
        types = _types(params.get("types"))
        exclude_archived = _bool(params, "exclude_archived")
        channels = sorted((c for c in self.ws.channels.values()
                           if ("private_channel" if c.is_private else "public_channel") in types
                           and not (exclude_archived and c.is_archived)), key=lambda c: c.id)
        ids = [c.id for c in channels]
        keys, next_cursor = self._page(params, request, "channel", str, ids, (0, len(ids)), LIST_LIMITS, False)
        return {"ok": True, "channels": [self._channel(self.ws.channels[k]) for k in keys],
                "response_metadata": {"next_cursor": next_cursor}}

    def users_list(self, params: dict, request: Request) -> dict:
        ids = sorted(self.ws.users)
        keys, next_cursor = self._page(params, request, "user", str, ids, (0, len(ids)), LIST_LIMITS, False)
        with_locale = _bool(params, "include_locale")
        return {"ok": True, "members": [self._user(self.ws.users[k], with_locale) for k in keys],
                "cache_ts": self.ws.now_s, "response_metadata": {"next_cursor": next_cursor}}

    def conversations_history(self, params: dict, request: Request) -> dict:
        channel = self.ws.channel(params.get("channel"))
        bounds = _time_window(params, channel.history)
        keys, next_cursor = self._page(params, request, "next_ts", int, channel.history, bounds,
                                       MESSAGE_LIMITS[self.ws.app_kind], True)
        messages = []
        for ts in keys:
            messages.append(self._message(channel, channel.by_ts[ts]))
            messages.extend(bad.payload for bad in channel.bad_records.get(ts, ()))
        return {"ok": True, "messages": messages, "has_more": bool(next_cursor), "pin_count": 0,
                "channel_actions_ts": None, "channel_actions_count": 0,
                "response_metadata": {"next_cursor": next_cursor}}

    def conversations_replies(self, params: dict, request: Request) -> dict:
        channel = self.ws.channel(params.get("channel"))
        message = channel.by_ts.get(_ts(params, "ts", "thread_not_found"))
        if message is None:
            raise SlackError("thread_not_found")
        parent = self.ws.parent_of(channel, message)
        reply_ts = [reply.ts for reply in parent.replies or ()]
        keys, next_cursor = self._page(params, request, "next_ts", int, reply_ts, _time_window(params, reply_ts),
                                       MESSAGE_LIMITS[self.ws.app_kind], False)
        messages = [self._message(channel, channel.by_ts[ts]) for ts in keys]
        if not (request.fault_applied and request.fault == "empty_page"):
            messages.insert(0, self._message(channel, parent))
        return {"ok": True, "messages": messages, "has_more": bool(next_cursor),
                "response_metadata": {"next_cursor": next_cursor}}

    def chat_post_message(self, params: dict, request: Request) -> dict:
        channel = self._channel_by_id_or_name(params.get("channel"))
        text, blocks = params.get("text"), _blocks(params.get("blocks"))
        if not text and not blocks:
            raise SlackError("no_text")
        thread_ts = _ts(params, "thread_ts", "invalid_thread_ts") if params.get("thread_ts") else None
        message = self.ws.post_message(channel.id, str(text or ""), thread_ts=thread_ts, blocks=blocks,
                                       reply_broadcast=_bool(params, "reply_broadcast"),
                                       truth=("not_work", None) if thread_ts is None else None)
        return {"ok": True, "channel": channel.id, "ts": format_ts(message.ts),
                "message": self._message(channel, message)}

    def chat_update(self, params: dict, request: Request) -> dict:
        channel = self._channel_by_id_or_name(params.get("channel"))
        message = channel.message(_ts(params, "ts", "message_not_found"))
        if message.user != self.ws.app_bot.user_id:
            raise SlackError("cant_update_message")
        text, blocks = params.get("text"), _blocks(params.get("blocks"))
        if text is None and blocks is None:
            raise SlackError("no_text")
        self.ws.edit_message(channel.id, message.ts, message.text if text is None else str(text),
                             blocks=message.blocks if blocks is None else blocks)
        return {"ok": True, "channel": channel.id, "ts": format_ts(message.ts), "text": message.text,
                "message": self._message(channel, message)}

    def chat_delete(self, params: dict, request: Request) -> dict:
        channel = self._channel_by_id_or_name(params.get("channel"))
        message = channel.message(_ts(params, "ts", "message_not_found"))
        if message.user != self.ws.app_bot.user_id:
            raise SlackError("cant_delete_message")
        self.ws.delete_message(channel.id, message.ts)
        return {"ok": True, "channel": channel.id, "ts": format_ts(message.ts)}

    # ---- pagination --------------------------------------------------------------------------
    def _page(self, params: dict, request: Request, kind: str, convert: Callable[[str], Any], ascending: list,
              bounds: tuple[int, int], limits: tuple[int, int], newest_first: bool) -> tuple[list, str]:
        """(keys of this page, next_cursor), with any pagination fault applied."""
        cursor = _Cursor.decode(params.get("cursor"), kind, convert)
        limit = _limit(params, *limits)
        if cursor and cursor.flag == "loop":  # a repeat_cursor fault sticks to its cursor
            page = page_of(ascending, *bounds, cursor.value, limit, newest_first=newest_first)
            return page.keys, cursor.raw
        page = page_of(ascending, *bounds, cursor.value if cursor else None, limit, newest_first=newest_first)
        fault = request.take_fault() if request.fault and page.first_key is not None else None
        again = (cursor.n if cursor else 0) + 1
        if fault == "empty_page":
            return [], _Cursor.encode(kind, page.first_key, "empty", again)
        if fault == "duplicate_page":
            return page.keys, _Cursor.encode(kind, page.first_key, "dup", again)
        if fault == "repeat_cursor":
            return page.keys, _Cursor.encode(kind, page.first_key, "loop", 1)
        return page.keys, _Cursor.encode(kind, page.next_key) if page.next_key is not None else ""

    # ---- wire objects ------------------------------------------------------------------------
    def _message(self, channel: SlackChannel, message: SlackMessage, *, with_root: bool = True) -> dict:
        data: dict[str, Any] = {"type": "message"}
        if message.subtype:
            data["subtype"] = message.subtype
        if message.user:
            data["user"] = message.user
        data["text"] = message.text
        data["ts"] = format_ts(message.ts)
        if message.is_tombstone:
            data["hidden"] = True
        if message.bot_id:
            self._add_bot_fields(data, message)
        if message.subtype in (None, "thread_broadcast"):
            data["team"] = self.ws.team_id
            if not message.bot_id:
                data["client_msg_id"] = str(uuid.uuid5(MESSAGE_ID_NAMESPACE, f"{channel.id}/{message.ts}"))
        if message.blocks is not None or (message.subtype in (None, "thread_broadcast") and not message.bot_id):
            data["blocks"] = message.blocks if message.blocks is not None else _rich_text(message)
        if message.edited:
            data["edited"] = {"user": message.edited[0], "ts": format_ts(message.edited[1])}
        if message.is_reply:
            data["thread_ts"] = format_ts(message.thread_ts)
            if message.parent_user:  # a classic bot_message parent has no user
                data["parent_user_id"] = message.parent_user
            if message.subtype == "thread_broadcast" and with_root:
                data["root"] = self._message(channel, channel.by_ts[message.thread_ts], with_root=False)
        elif message.replies:
            repliers = list(dict.fromkeys(r.user or r.bot_id for r in message.replies))
            data.update(thread_ts=data["ts"], reply_count=len(message.replies), reply_users_count=len(repliers),
                        latest_reply=format_ts(message.replies[-1].ts), reply_users=repliers,
                        is_locked=False, subscribed=False)
        return data

    def _add_bot_fields(self, data: dict, message: SlackMessage) -> None:
        bot = self.ws.bots[message.bot_id]
        data["bot_id"] = bot.id
        if message.subtype == "bot_message":
            data["username"] = message.username or bot.name
            data["icons"] = {"emoji": ":rotating_light:"}
            return
        data["app_id"] = bot.app_id
        data["bot_profile"] = {
            "id": bot.id, "deleted": False, "name": bot.name, "updated": self.ws.now_s - 86400 * 200,
            "app_id": bot.app_id, "icons": {f"image_{size}": _avatar(bot.id, size) for size in (36, 48, 72)},
            "team_id": self.ws.team_id,
        }

    def _channel(self, channel: SlackChannel) -> dict:
        return {
            "id": channel.id, "name": channel.name, "is_channel": True, "is_group": False, "is_im": False,
            "is_mpim": False, "is_private": channel.is_private, "created": channel.created,
            "is_archived": channel.is_archived, "is_general": channel.is_general, "unlinked": 0,
            "name_normalized": channel.name, "is_shared": False, "is_org_shared": False,
            "is_pending_ext_shared": False, "pending_shared": [], "context_team_id": self.ws.team_id,
            "updated": channel.created * 1000, "parent_conversation": None, "creator": channel.creator,
            "is_ext_shared": False, "shared_team_ids": [self.ws.team_id], "pending_connected_team_ids": [],
            "is_member": True,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": channel.purpose, "creator": channel.creator, "last_set": channel.created},
            "previous_names": [], "num_members": len(channel.members),
        }

    def _user(self, user: SlackUser, with_locale: bool) -> dict:
        data = {"id": user.id, "team_id": self.ws.team_id, "name": user.name, "deleted": user.deleted,
                "color": user.color, "real_name": user.real_name, "profile": self._profile(user),
                "is_bot": user.is_bot, "is_app_user": False, "updated": user.updated}
        if not user.deleted:
            data.update(tz=user.tz, tz_label=user.tz_label, tz_offset=user.tz_offset, is_admin=user.is_admin,
                        is_owner=user.is_admin, is_primary_owner=False, is_restricted=False,
                        is_ultra_restricted=False, is_email_confirmed=user.email is not None,
                        who_can_share_contact_card="EVERYONE")
        if with_locale:
            data["locale"] = "en-US"
        return data

    def _profile(self, user: SlackUser) -> dict:
        first, _, last = user.real_name.partition(" ")
        profile = {
            "title": user.title, "phone": "", "skype": "", "real_name": user.real_name,
            "real_name_normalized": _ascii_fold(user.real_name), "display_name": "" if user.is_bot else first,
            "display_name_normalized": "" if user.is_bot else _ascii_fold(first), "fields": None,
            "status_text": "", "status_emoji": "", "status_emoji_display_info": [], "status_expiration": 0,
            "avatar_hash": format(_hash_id(user.id), "x")[:12], "first_name": first, "last_name": last,
            **{f"image_{size}": _avatar(user.id, size) for size in AVATAR_SIZES}, "team": self.ws.team_id,
        }
        if user.email:
            profile["email"] = user.email
        if user.is_bot:
            profile.update(bot_id=user.bot_id, api_app_id=user.app_id, always_active=True)
        return profile

    def _channel_by_id_or_name(self, value: object) -> SlackChannel:
        """chat.* accept a channel id, or a name with or without '#'."""
        if isinstance(value, str) and value not in self.ws.channels:
            name = value.removeprefix("#")
            found = next((c for c in self.ws.channels.values() if c.name == name), None)
            if found is not None:
                return found
        return self.ws.channel(value)


METHODS: dict[str, Callable[[SlackService, dict, Request], dict]] = {
    "auth.test": SlackService.auth_test,
    "conversations.list": SlackService.conversations_list,
    "conversations.history": SlackService.conversations_history,
    "conversations.replies": SlackService.conversations_replies,
    "users.list": SlackService.users_list,
    "chat.postMessage": SlackService.chat_post_message,
    "chat.update": SlackService.chat_update,
    "chat.delete": SlackService.chat_delete,
}


@dataclass(frozen=True, slots=True)
class _Cursor:
    """A decoded cursor: "<kind>:<value>" plus an optional "&<flag>=<n>" left by a fault."""

    raw: str
    value: Any
    flag: str | None
    n: int

    @staticmethod
    def encode(kind: str, value: Any, flag: str | None = None, n: int = 0) -> str:
        text = f"{kind}:{value}" + (f"&{flag}={n}" if flag else "")
        return base64.b64encode(text.encode()).decode()

    @classmethod
    def decode(cls, raw: object, kind: str, convert: Callable[[str], Any]) -> _Cursor | None:
        if raw in (None, ""):
            return None
        try:
            text = base64.b64decode(str(raw), validate=True).decode()
            body, _, flag_part = text.partition("&")
            prefix, _, value = body.partition(":")
            flag, _, n = flag_part.partition("=")
            if prefix != kind:
                raise ValueError(prefix)
            return cls(str(raw), convert(value), flag or None, int(n or 0))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise SlackError("invalid_cursor") from None


# ---- parameter parsing ------------------------------------------------------------------------

def _bool(params: dict, name: str) -> bool:
    value = params.get(name, False)
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes")


def _limit(params: dict, default: int, maximum: int) -> int:
    value = params.get("limit")
    if value in (None, ""):
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    return min(limit if limit > 0 else default, maximum)


def _ts(params: dict, name: str, error: str) -> int:
    try:
        return parse_ts(params[name])
    except (KeyError, ValueError):
        raise SlackError(error) from None


def _time_window(params: dict, ascending: list[int]) -> tuple[int, int]:
    oldest = _ts(params, "oldest", "invalid_ts_oldest") if params.get("oldest") not in (None, "") else None
    latest = _ts(params, "latest", "invalid_ts_latest") if params.get("latest") not in (None, "") else None
    return window(ascending, oldest, latest, _bool(params, "inclusive"))


def _types(value: object) -> frozenset[str]:
    types = frozenset(t.strip() for t in str(value or "public_channel").split(",") if t.strip())
    if not types or not types <= CONVERSATION_TYPES:
        raise SlackError("invalid_types")
    return types


def _blocks(value: object) -> list | None:
    """Blocks arrive as a list (JSON body) or a JSON string (form body)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError("invalid_blocks") from None
    if not isinstance(value, list) or not all(isinstance(block, dict) for block in value):
        raise SlackError("invalid_blocks")
    return value


# ---- small helpers ----------------------------------------------------------------------------

def _rich_text(message: SlackMessage) -> list[dict]:
    """The rich_text block Slack clients attach to what a person typed (plain text here)."""
    return [{"type": "rich_text", "block_id": format(message.ts % 0xFFFFF, "05x"),
             "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": message.text}]}]}]


def _ascii_fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _hash_id(value: str) -> int:
    """A stable small hash (``hash()`` is salted per process)."""
    return int.from_bytes(uuid.uuid5(MESSAGE_ID_NAMESPACE, value).bytes[:8], "big")


def _avatar(user_id: str, size: int) -> str:
    return f"https://avatars.slack-edge.com/sandbox/{user_id}_{size}.png"

