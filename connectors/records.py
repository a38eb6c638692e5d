"""Parsing shared by every connector: pages of records -> typed rows, raw payloads and rejects."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from warehouse import Rejected


class ParseError(ValueError):
    """A record that cannot become a row; its message is the quarantine reason."""


@dataclass
class Parsed:
    """A page after parsing: typed rows, raw payloads of the accepted records, and rejects."""

    rows: list[dict] = field(default_factory=list)
    raw: list[tuple[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def parse_page(records: list[Any], parse: Callable[..., dict], key: Callable[[dict], str], *,
               reject_key: Callable[[Any], str | None] | None = None, **context: Any) -> Parsed:
    """Parses every record of a page with `parse`; a record that fails is quarantined, never dropped,
    under `reject_key(record)` (default: its string ts or id) when one can be read."""
    reject_key = reject_key or safe_key
    parsed = Parsed()
    for record in records:
        try:
            row = parse(record, **context)
        except ParseError as exc:
            parsed.rejected.append(Rejected(record, str(exc), reject_key(record)))
            continue
        parsed.rows.append(row)
        parsed.raw.append((key(row), record))
    return parsed


def require_object(obj: Any) -> dict:
    if not isinstance(obj, dict):
        raise ParseError(f"record is {type(obj).__name__}, expected an object")
    return obj


def require_str(obj: dict, name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise ParseError(f"{name} is missing or not a string")
    return value


def optional_str(obj: dict, name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) else None


def parse_timestamp(value: Any, name: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 timestamp with a time zone ("2026-11-20T17:00:00Z") -> aware UTC datetime. A value
    that is no timestamp, has no zone, or falls outside datetime's range in UTC (year 1 at +14:00)
    is a ParseError, never an exception that stops the load."""
    if value is None:
        if required:
            raise ParseError(f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise ParseError(f"{name} {value!r} is not a timestamp")
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "Zz" and value else value)
    except ValueError:
        raise ParseError(f"{name} {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise ParseError(f"{name} {value!r} has no time zone")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ParseError(f"{name} {value!r} is out of range") from None


def safe_key(record: Any) -> str | None:
    if isinstance(record, dict):
        for name in ("ts", "id"):
            if isinstance(record.get(name), str):
                return record[name]
    return None
