"""Typed connector errors. Tasks retry TransientError only; everything else fails at once."""
from __future__ import annotations


class ConnectorError(RuntimeError):
    """A source API problem, with a message a person can act on (never containing a secret)."""


class TransientError(ConnectorError):
    """Worth retrying later: rate limited, 5xx, timeout, connection reset, truncated body."""


class PermanentError(ConnectorError):
    """Will not heal by waiting: bad credentials, missing scope, unknown channel, invalid query."""


class PaginationError(PermanentError):
    """The API served a cursor it had served before: stopped rather than looping forever."""


class CursorGuard:
    """The cursors one pagination has followed. An API that serves one of them again is looping
    (whatever else the page holds), so ``follow`` stops it with PaginationError rather than spin.
    A fresh cursor is always followed: a page served twice under a new cursor cannot be told from
    any other page, and the idempotent merge makes reading it twice harmless."""

    def __init__(self, what: str, first: str | None = None):
        self.what = what  # how the message names the pagination: "Slack conversations.history"
        self._seen: set[str] = {first} if first else set()

    def follow(self, cursor: str) -> str:
        if cursor in self._seen:
            raise PaginationError(f"{self.what} served the cursor {cursor[:16]}... twice; stopped.")
        self._seen.add(cursor)
        return cursor
