"""The three stages of a ticket-matching decision, as pure functions over units and tickets.

1. **Explicit references** (:func:`explicit_reference`): an identifier (ENG-123), a Linear URL or
   a branch name (eng-123-fix-login) naming a ticket that exists in the workspace: `linked`,
   method `reference`, score 1. Identifiers that name no ticket of the workspace are ignored.
2. **Retrieval** (:class:`Ranker`): the local retriever (TF-IDF with a title field) fused with the
   local semantic scorer learned from the workspace's tickets, plus OpenAI embeddings when
   configured, ranks the tickets for each unit.
3. **Decision** (:func:`decide`): the not-work rules first, then the calibrated probability that
   the best candidate is the unit's ticket, from its score and its lead over the runner-up:
   `linked` above ``link_probability``, `suggested` above ``suggest_probability``, otherwise
   `new_work`, or `not_work` when no ticket shares any vocabulary with the unit.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pmflow.matching.classify import classify
from pmflow.matching.retrieval import LocalRetriever, QueryDoc, Scorer, TicketDoc
from pmflow.matching.semantic import SemanticScorer
from pmflow.matching.text import extract_ticket_refs
from pmflow.matching.units import Ticket, Unit, plain_text, without_code
from pmflow.matching_settings import MatchSettings

DECISIONS = ("linked", "suggested", "new_work", "not_work")
_MAYBE_REF = re.compile(r"[A-Za-z0-9]-\d")
"""Every ticket reference (identifier, Linear URL, branch name) contains a letter or digit, a dash
and a digit: text without one is skipped cheaply."""
METHODS = ("reference", "bm25", "fused", "embedding", "llm", "rules")


@dataclass
class Decision:
    unit: Unit
    decision: str
    ticket: Ticket | None
    method: str
    score: float
    reason: str
    candidates: list[tuple[str, float]] = field(default_factory=list)
    probability: float | None = None
    """Calibrated probability that the best candidate is the unit's ticket (retrieval decisions)."""


# -- stage 1 -------------------------------------------------------------------------------------


def explicit_reference(unit: Unit, tickets: dict[str, Ticket], team_keys: frozenset[str]) -> Decision | None:
    """`linked` by an explicit reference to an existing ticket, or None.

    The opener's references come first (a reply may mention a related ticket in passing); among
    the rest, the most often cited wins, ties going to the earliest.
    """
    if not _MAYBE_REF.search(unit.text):
        return None
    refs = extract_ticket_refs(unit.text, team_keys)
    valid = [r for r in refs if r in tickets]
    if not valid:
        return None
    opener_refs = [r for r in extract_ticket_refs(unit.opener, team_keys) if r in tickets]
    if opener_refs:
        chosen = opener_refs[0]
    else:
        counts = Counter(r for r in _all_refs(unit.text, team_keys) if r in tickets)
        chosen = max(valid, key=lambda r: (counts[r], -valid.index(r)))
    others = [r for r in valid if r != chosen]
    reason = f"cites {chosen}" + (f" (also cites {', '.join(others[:5])})" if others else "")
    return Decision(unit, "linked", tickets[chosen], "reference", 1.0, reason, [(chosen, 1.0)])


def unknown_references(unit: Unit, tickets: dict[str, Ticket], team_keys: frozenset[str]) -> list[str]:
    return [r for r in extract_ticket_refs(unit.text, team_keys) if "#" not in r and r not in tickets]


def _all_refs(text: str, team_keys: frozenset[str]) -> list[str]:
    """Every reference occurrence (with repeats), for counting."""
    return [ref for line in text.splitlines() for ref in extract_ticket_refs(line, team_keys)]


# -- stage 2 -------------------------------------------------------------------------------------


def ticket_doc(ticket: Ticket, *, comments: bool = True, linked_text: Sequence[str] = ()) -> TicketDoc:
    """Title; description, comments and the text of units already linked to it by reference
    (a PR whose branch names the ticket says, in the team's own words, what the ticket is about)."""
    parts = [ticket.description]
    if comments and ticket.comments:
        parts.append(ticket.comments)
    parts.extend(linked_text)
    return TicketDoc(ticket.identifier, ticket.title, "\n".join(p for p in parts if p), ticket.created_at)


def unit_query(unit: Unit) -> QueryDoc:
    """The opener as the title field (the subject is stated there), the whole unit as the body.

    No `before` limit: a thread often discusses work before its ticket is filed."""
    return QueryDoc(title=plain_text(without_code(unit.opener)), body=plain_text(without_code(unit.text)))


class Ranker:
    """Local retrieval fused with the semantic scorer, plus any extra scorer (embeddings)."""

    def __init__(self, tickets: Sequence[Ticket], settings: MatchSettings,
                 extra_scorers: Sequence[tuple[Scorer, float]] = (), linked_text: dict[str, list[str]] | None = None):
        scorers: list[tuple[Scorer, float]] = []
        if settings.semantic_weight > 0:
            scorers.append((SemanticScorer(), settings.semantic_weight))
        scorers.extend(extra_scorers)
        self.retriever = LocalRetriever(extra_scorers=scorers)
        linked_text = linked_text or {}
        self.retriever.fit([ticket_doc(t, comments=settings.ticket_comments, linked_text=linked_text.get(t.identifier, ()))
                            for t in tickets])

    def rank(self, units: Sequence[Unit], k: int) -> list[list[tuple[str, float]]]:
        if not units:
            return []
        return self.retriever.rank([unit_query(u) for u in units], k=max(k, 2))


# -- stage 3 -------------------------------------------------------------------------------------


def link_probability(best: float, runner_up: float, settings: MatchSettings) -> float:
    """Calibrated P(best candidate is the unit's ticket) from its score and its lead."""
    z = settings.calibration_intercept + settings.calibration_score * best + settings.calibration_margin * (
        best - runner_up
    )
    return 1 / (1 + math.exp(-z))


def decide(unit: Unit, ranking: list[tuple[str, float]], tickets: dict[str, Ticket], settings: MatchSettings,
           method: str) -> Decision:
    """Stage 3 for a unit without an explicit reference."""
    candidates = [(ticket_id, round(float(score), 4)) for ticket_id, score in ranking[: settings.candidates]]
    verdict = classify(unit)
    if verdict.not_work:
        return Decision(unit, "not_work", None, "rules", 1.0, verdict.rule, candidates)
    best = ranking[0][1] if ranking else 0.0
    runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
    if best < settings.not_work_max_score:
        return Decision(unit, "not_work", None, "rules", round(1 - best, 4),
                        f"no ticket shares its vocabulary (best score {best:.2f} < {settings.not_work_max_score})",
                        candidates)
    p = link_probability(best, runner_up, settings)
    top = tickets[ranking[0][0]]
    detail = f"best {top.identifier} score {best:.3f}, lead {best - runner_up:.3f}, P(right ticket) {p:.2f}"
    if p >= settings.link_probability:
        return Decision(unit, "linked", top, method, round(p, 4), detail, candidates, p)
    if p >= settings.suggest_probability:
        return Decision(unit, "suggested", top, method, round(p, 4), detail, candidates, p)
    return Decision(unit, "new_work", None, method, round(1 - p, 4), f"no ticket fits: {detail}", candidates, p)
