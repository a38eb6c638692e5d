"""Deterministic fault injection for the sandbox server.

A ``FaultPlan`` draws, for every request it targets, whether to inject a fault and which one,
from its own ``random.Random(seed)``: a client that sends the same requests in the same order sees
the same faults. Kinds (what the client sees):

- ``ratelimit``: HTTP 429 with ``Retry-After`` (seconds) and the service's rate-limit body.
- ``server_error``: HTTP 500 or 503.
- ``slow``: the correct answer after ``slow_delay_s``.
- ``timeout``: nothing for ``timeout_delay_s`` (set it above the client's timeout), then the
  answer (``timeout_then="answer"``) or a closed connection (``"drop"``).
- ``malformed_json``: HTTP 200 whose body is cut in half (invalid JSON).
- ``ok_false``: HTTP 200 ``{"ok": false, "error": "internal_error"}`` (Slack only).
- ``reset``: the connection is reset half-way through the body.
- ``empty_page``: an empty page whose cursor continues where it should (paginated methods).
- ``duplicate_page``: the next cursor points at the page just served, once.
- ``repeat_cursor``: the next cursor is returned again by every request that uses it, forever.

Faults from ``slow`` to ``reset`` are applied after the request was handled, so a write (e.g.
``chat.postMessage``) has happened even though the client saw a failure, as in real life; 429,
5xx and ``ok_false`` are answered before handling. The first six kinds are ``TRANSIENT_KINDS``,
the default; a retried request always succeeds eventually, because faults are drawn per request
and an identical request is never faulted more than ``max_consecutive`` times in a row.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields

TRANSIENT_KINDS = ("ratelimit", "server_error", "slow", "timeout", "malformed_json", "ok_false")
PAGINATION_KINDS = ("empty_page", "duplicate_page", "repeat_cursor")
ALL_KINDS = TRANSIENT_KINDS + ("reset",) + PAGINATION_KINDS
# Faults every service supports; services add ok_false and the pagination kinds where they apply.
GENERIC_KINDS = frozenset({"ratelimit", "server_error", "slow", "timeout", "malformed_json", "reset"})


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    status: int | None = None  # 500 or 503 for server_error


@dataclass
class FaultPlan:
    """Which faults to inject, how often, and where.

    ``endpoints`` limits injection to endpoints named as in ``server.stats()`` ("conversations.history")
    or qualified by service ("slack:conversations.history"); ``None`` means every endpoint.
    """

    rate: float = 0.1
    kinds: tuple[str, ...] = TRANSIENT_KINDS
    seed: int = 0
    endpoints: frozenset[str] | None = None
    retry_after_s: int = 1
    timeout_delay_s: float = 3.0
    timeout_then: str = "answer"
    slow_delay_s: float = 0.5
    max_consecutive: int = 3
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)
    _streaks: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.kinds = tuple(self.kinds)
        unknown = set(self.kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {ALL_KINDS}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if self.timeout_then not in ("answer", "drop"):
            raise ValueError("timeout_then must be 'answer' or 'drop'")
        if self.endpoints is not None:
            self.endpoints = frozenset(self.endpoints)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._streaks = {}

    def draw(self, service: str, endpoint: str, applicable: frozenset[str], request_key: object) -> Fault | None:
        """The fault for one request, or None. ``request_key`` identifies identical retries."""
        with self._lock:
            roll, pick, variant = self._rng.random(), self._rng.random(), self._rng.random()
            candidates = [kind for kind in self.kinds if kind in applicable]
            if not candidates or roll >= self.rate or not self._targets(service, endpoint):
                self._streaks.pop(request_key, None)
                return None
            streak = self._streaks.get(request_key, 0)
            if streak >= self.max_consecutive:
                del self._streaks[request_key]
                return None
            self._streaks[request_key] = streak + 1
            kind = candidates[int(pick * len(candidates))]
            return Fault(kind, (500 if variant < 0.5 else 503) if kind == "server_error" else None)

    def _targets(self, service: str, endpoint: str) -> bool:
        return self.endpoints is None or endpoint in self.endpoints or f"{service}:{endpoint}" in self.endpoints

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        data["kinds"] = list(self.kinds)
        data["endpoints"] = sorted(self.endpoints) if self.endpoints is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FaultPlan:
        known = {f.name for f in fields(cls) if f.init}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown FaultPlan fields {sorted(unknown)}")
        return cls(**data)
