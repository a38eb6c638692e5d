"""Slack Web API: a client on slack-sdk's WebClient, and pure parse functions -> typed rows.

Retries: slack-sdk's own handlers take 429 (honouring Retry-After) and connection resets; tenacity
adds 5xx, `ok: false` server errors, timeouts and malformed bodies, with exponential backoff and
jitter. What is left after the retries surfaces as connectors.errors.TransientError; errors that will
not heal (bad token, unknown channel, missing scope) as PermanentError at once.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.error import URLError

from pyrate_limiter import Duration, Limiter, Rate
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from connectors.errors import CursorGuard, PermanentError, TransientError
from connectors.records import ParseError, optional_str, require_object, require_str

TRANSIENT_API_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
_TS = re.compile(r"^\d{1,12}\.\d{1,6}$")


# Answers that never arrived whole: retried like a 5xx. A body cut inside a multi-byte character fails
# to decode (UnicodeDecodeError) before it can fail as JSON.
BROKEN_ANSWERS = (TimeoutError, URLError, ConnectionError, json.JSONDecodeError, UnicodeDecodeError)


# -- client ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    workspace_id: str
    name: str
    url: str


class SlackClient:
    """Reads a Slack workspace page by page; one instance per task (it is not thread-safe)."""

    def __init__(
        self,
        token: str,
        base_url: str = "https://slack.com/api/",
        *,
        page_size: int = 200,
        calls_per_minute: int = 0,
        timeout_s: float = 30.0,
        max_retries: int = 5,
    ):
        if not token:
            raise PermanentError("SLACK_BOT_TOKEN is not set: pmflow needs a bot token to read Slack.")
        self.page_size = page_size
        self._call_with_retries = retry(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(max_retries + 1),
            wait=wait_exponential_jitter(initial=0.2, max=10),
            reraise=True,
        )(self._call_once)
        self._web = WebClient(
            token=token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            timeout=timeout_s,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=max_retries),
                RateLimitErrorRetryHandler(max_retry_count=max_retries),
            ],
        )
        self._limiter = (
            Limiter(Rate(calls_per_minute, Duration.MINUTE), raise_when_fail=False, max_delay=Duration.HOUR)
            if calls_per_minute > 0
            else None
        )

    def call(self, method: str, **params: Any) -> dict:
        """One API call with pacing and retries; returns the response body."""
        try:
            return self._call_with_retries(method, params)
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            status = exc.response.status_code
            if _is_transient(exc):
                raise TransientError(f"Slack {method} still failing after retries: HTTP {status} {error}") from None
            raise PermanentError(f"Slack {method} refused: {error or f'HTTP {status}'}") from None
        except BROKEN_ANSWERS as exc:
            raise TransientError(f"Slack {method} still failing after retries: {type(exc).__name__}") from None

    def _call_once(self, method: str, params: dict) -> dict:
        if self._limiter:
            self._limiter.try_acquire("slack")
        http_verb = "POST" if method.startswith("chat.") else "GET"
        if http_verb == "GET":
            response = self._web.api_call(method, http_verb="GET", params=params)
        else:
            response = self._web.api_call(method, json=params)
        return response.data if isinstance(response.data, dict) else json.loads(response.data)

    def paginate(self, method: str, items_key: str, **params: Any) -> Iterator[list[dict]]:
        """Yields each page's items, following response_metadata.next_cursor to the end.

        Empty pages that still carry a cursor are followed. A cursor served twice means the API is
        looping: stop with PaginationError rather than spin.
        """
        guard = CursorGuard(f"Slack {method}")
        cursor = None
        while True:
            body = self.call(method, limit=self.page_size, **params, **({"cursor": cursor} if cursor else {}))
            yield body.get(items_key) or []
            cursor = (body.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return
            guard.follow(cursor)

    # -- endpoints -----------------------------------------------------------------------------

    def workspace(self) -> Workspace:
        body = self.call("auth.test")
        return Workspace(workspace_id=body["team_id"], name=body.get("team", ""), url=body.get("url", ""))

    def channels(self) -> Iterator[list[dict]]:
        return self.paginate("conversations.list", "channels", types="public_channel,private_channel")

    def users(self) -> Iterator[list[dict]]:
        return self.paginate("users.list", "members")

    def history(self, channel_id: str, oldest: str | None = None) -> Iterator[list[dict]]:
        """Top-level messages newest first; with `oldest`, only those at or after it."""
        params = {"channel": channel_id}
        if oldest:
            params.update(oldest=oldest, inclusive="true")
        return self.paginate("conversations.history", "messages", **params)

    def replies(self, channel_id: str, thread_ts: str) -> Iterator[list[dict]]:
        """The thread's messages, parent first then replies oldest first."""
        return self.paginate("conversations.replies", "messages", channel=channel_id, ts=thread_ts)

    def post_message(self, channel: str, text: str, blocks: list[dict] | None = None, thread_ts: str | None = None) -> dict:
        params = {"channel": channel, "text": text}
        if blocks is not None:
            params["blocks"] = blocks
        if thread_ts:
            params["thread_ts"] = thread_ts
        return self.call("chat.postMessage", **params)

    def update_message(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> dict:
        params = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            params["blocks"] = blocks
        return self.call("chat.update", **params)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        data = exc.response.data
        error = data.get("error") if isinstance(data, dict) else None
        return status == 429 or status >= 500 or error in TRANSIENT_API_ERRORS or not isinstance(data, dict)
    return isinstance(exc, BROKEN_ANSWERS)


# -- parsing -----------------------------------------------------------------------------------


def parse_channel(obj: Any, *, workspace_id: str) -> dict:
    obj = require_object(obj)
    return {
        "workspace_id": workspace_id,
        "channel_id": require_str(obj, "id"),
        "name": optional_str(obj, "name"),
        "is_private": bool(obj.get("is_private", False)),
        "is_archived": bool(obj.get("is_archived", False)),
        "topic": optional_str(obj.get("topic") or {}, "value"),
        "purpose": optional_str(obj.get("purpose") or {}, "value"),
        "created_at": _epoch(obj.get("created"), "created") if obj.get("created") is not None else None,
    }


def parse_user(obj: Any, *, workspace_id: str) -> dict:
    obj = require_object(obj)
    profile = obj.get("profile") if isinstance(obj.get("profile"), dict) else {}
    return {
        "workspace_id": workspace_id,
        "user_id": require_str(obj, "id"),
        "name": optional_str(obj, "name"),
        "real_name": optional_str(obj, "real_name") or optional_str(profile, "real_name"),
        "display_name": optional_str(profile, "display_name"),
        "is_bot": bool(obj.get("is_bot", False)),
        "is_deleted": bool(obj.get("deleted", False)),
        "tz": optional_str(obj, "tz"),
    }


def parse_message(obj: Any, *, workspace_id: str, channel_id: str) -> dict:
    """A message or reply. Tombstones (deleted parents that keep their replies) are is_deleted;
    bot messages without a user are attributed to their bot_id."""
    obj = require_object(obj)
    ts = _require_ts(obj, "ts")
    thread_ts = _require_ts(obj, "thread_ts") if obj.get("thread_ts") is not None else None
    edited = obj.get("edited")
    edited_at = None
    if edited is not None:
        if not isinstance(edited, dict):
            raise ParseError("edited is not an object")
        edited_at = _ts_to_datetime(_require_ts(edited, "ts"))
    user = obj.get("user", obj.get("bot_id"))
    if user is not None and not isinstance(user, str):
        raise ParseError(f"user is {type(user).__name__}, expected a string id")
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        raise ParseError(f"text is {type(text).__name__}, expected a string")
    reply_count = obj.get("reply_count", 0)
    if not isinstance(reply_count, int) or isinstance(reply_count, bool) or reply_count < 0:
        raise ParseError(f"reply_count {reply_count!r} is not a non-negative integer")
    return {
        "workspace_id": workspace_id,
        "channel_id": channel_id,
        "ts": ts,
        "thread_ts": thread_ts,
        "user_id": user,
        "subtype": optional_str(obj, "subtype"),
        "text": text,
        "posted_at": _ts_to_datetime(ts),
        "edited_at": edited_at,
        "is_deleted": obj.get("subtype") == "tombstone",
        "reply_count": reply_count,
        "latest_reply": _require_ts(obj, "latest_reply") if obj.get("latest_reply") is not None else None,
    }


def message_key(row: dict) -> str:
    return f"{row['channel_id']}/{row['ts']}"


def ts_minus_seconds(ts: str, seconds: float) -> str:
    """A Slack ts `seconds` earlier, for the re-scan window."""
    whole, _, frac = ts.partition(".")
    return f"{max(int(whole) - int(seconds), 0)}.{frac or '000000'}"


def _require_ts(obj: dict, name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not _TS.match(value):
        raise ParseError(f"{name} {value!r} is not a Slack timestamp")
    return value


def _ts_to_datetime(ts: str) -> datetime:
    whole, _, frac = ts.partition(".")
    return datetime.fromtimestamp(int(whole), tz=timezone.utc).replace(microsecond=int(frac.ljust(6, "0")[:6]))


def _epoch(value: Any, name: str) -> datetime:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1e11:
        raise ParseError(f"{name} {value!r} is not an epoch timestamp")
    return datetime.fromtimestamp(value, tz=timezone.utc)
