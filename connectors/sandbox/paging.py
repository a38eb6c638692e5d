"""Keyset pagination over a sorted list, shared by the sandbox services.

A page is addressed by a boundary key (inclusive) rather than an offset, like Slack's
``next_ts:`` cursors, so pages stay correct while the world changes between requests.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Page:
    keys: list  # in serving order
    first_key: Any | None  # where this page starts (None: the window is empty from here)
    next_key: Any | None  # where the next page starts (None: this is the last page)


def window(ascending: list, low: Any | None, high: Any | None, inclusive: bool) -> tuple[int, int]:
    """Index range [lo, hi) of the keys between ``low`` and ``high`` (open unless inclusive)."""
    lo = 0 if low is None else (bisect_left if inclusive else bisect_right)(ascending, low)
    hi = len(ascending) if high is None else (bisect_right if inclusive else bisect_left)(ascending, high)
    return lo, max(lo, hi)


def page_of(ascending: list, lo: int, hi: int, boundary: Any | None, limit: int, *, newest_first: bool) -> Page:
    """The page of ``ascending[lo:hi]`` that starts at ``boundary`` (None: the first page)."""
    if newest_first:
        end = hi if boundary is None else max(lo, min(hi, bisect_right(ascending, boundary)))
        start = max(lo, end - limit)
        return Page(ascending[start:end][::-1], ascending[end - 1] if end > lo else None,
                    ascending[start - 1] if start > lo else None)
    begin = lo if boundary is None else min(hi, max(lo, bisect_left(ascending, boundary)))
    stop = min(hi, begin + limit)
    return Page(ascending[begin:stop], ascending[begin] if begin < hi else None,
                ascending[stop] if stop < hi else None)
