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
