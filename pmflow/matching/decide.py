"""The three stages of a ticket-matching decision, as pure functions over units and tickets.

1. **Explicit references** (:func:`explicit_reference`): an identifier (ENG-123), a Linear URL or
   a branch name (eng-123-fix-login) naming a ticket that exists in the workspace, or the URL of a
   GitHub pull request or issue that names one: `linked`, method `reference`, score 1. Identifiers
   that name no ticket of the workspace are ignored.
2. **Retrieval** (:class:`Ranker`): the local retriever (TF-IDF with a title field) fused with the
   local semantic scorer learned from the workspace's tickets, plus OpenAI embeddings when
   configured, ranks the tickets for each unit; the fused score is weighted by a prior on time
   (people discuss a ticket while it is active: :meth:`Ranker.time_prior`), then the head of the
   ranking is reranked by how much of the unit's opener each ticket covers. Description lines
   shared by many tickets (templates) are not indexed.
3. **Decision** (:func:`decide`): the not-work rules first, then the calibrated probability that
   the best candidate is the unit's ticket, from its score, its lead over the runner-up and the
   ranking's :class:`Evidence` (coverage both ways, unknown words, per-signal similarities, time
   priors, rank agreement):
   `linked` above ``link_probability``, `suggested` above ``suggest_probability``, otherwise
   `new_work`, or `not_work` when no ticket shares any vocabulary with the unit.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC

import numpy as np
import scipy.sparse as sp

from pmflow.matching.classify import classify
from pmflow.matching.retrieval import LocalRetriever, QueryDoc, TicketDoc
from pmflow.matching.semantic import SemanticScorer
from pmflow.matching.text import MAYBE_REFERENCE, boilerplate_lines, extract_ticket_refs, without_lines
from pmflow.matching.units import Ticket, Unit, plain_text, without_code
from pmflow.matching_settings import MatchSettings

DECISIONS = ("linked", "suggested", "new_work", "not_work")
_MAYBE_REF = re.compile(MAYBE_REFERENCE, re.IGNORECASE)
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
    coverage: tuple[float, float] | None = None
    evidence: Evidence | None = None


@dataclass(frozen=True)
class Evidence:
    """What the ranking says about a unit's best two candidates, beside their fused scores: the
    features of the calibrated probability (see :func:`link_probability`).

    ``c`` the coverage of the unit's opener (SemanticScorer.coverage), ``t`` that of the candidate's
    title by the opener (.title_coverage_pairs), ``unknown`` the share of the opener's words no
    ticket uses (.unknown_share), ``lex`` the lexical and
    ``sem`` the semantic similarity, ``prior`` the time prior; ``agree_*`` whether the best
    candidate is also the best of the reranked head by that signal alone (rank agreement)."""

    c1: float = 0.0
    c2: float = 0.0
    t1: float = 0.0
    t2: float = 0.0
    unknown: float = 0.0
    lex1: float = 0.0
    lex2: float = 0.0
    sem1: float = 0.0
    sem2: float = 0.0
    prior1: float = 1.0
    prior2: float = 1.0
    agree_lexical: float = 0.0
    agree_semantic: float = 0.0
    agree_coverage: float = 0.0

    @property
    def coverage(self) -> tuple[float, float]:
        return (self.c1, self.c2)


# -- stage 1 -------------------------------------------------------------------------------------


def explicit_reference(unit: Unit, tickets: dict[str, Ticket], team_keys: frozenset[str],
                       work_items: dict[str, str] | None = None) -> Decision | None:
    """`linked` by an explicit reference to an existing ticket, or None.

    A reference is a ticket's identifier, Linear URL or branch name, or the URL of a GitHub pull
    request or issue that itself cites a ticket (``work_items``, see :func:`work_item_tickets`).
    The opener's references come first (a reply may mention a related ticket in passing); among
    the rest, the most often cited ticket wins, ties going to the earliest.
    """
    if not _MAYBE_REF.search(unit.text):
        return None
    work_items = work_items or {}

    def cited(text: str) -> list[tuple[str, str]]:
        """(reference, ticket identifier) of the references in ``text`` that name a ticket."""
        refs = extract_ticket_refs(text, team_keys)
        return [(ref, ticket) for ref in refs if (ticket := ref if ref in tickets else work_items.get(ref))]

    valid = cited(unit.text)
    if not valid:
        return None
    opener = cited(unit.opener)
    if opener:
        ref, chosen = opener[0]
    else:
        counts = Counter(ticket for line in unit.text.splitlines() for _, ticket in cited(line))
        ref, chosen = max(valid, key=lambda pair: (counts[pair[1]], -valid.index(pair)))
    others = [ticket for ticket in dict.fromkeys(ticket for _, ticket in valid) if ticket != chosen]
    reason = f"cites {chosen}" if ref == chosen else f"cites {ref}, which cites {chosen}"
    if others:
        reason += f" (also cites {', '.join(others[:5])})"
    return Decision(unit, "linked", tickets[chosen], "reference", 1.0, reason, [(chosen, 1.0)])


def citing_lines(opener: str, text: str) -> str:
    """The opener and the later lines that carry a reference ("opened #41 for the pay screen"): what
    a unit linked by reference says about its ticket, in the team's words, without the chatter."""
    return "\n".join([opener, *(line for line in text.splitlines()[1:] if _MAYBE_REF.search(line))])


def work_item_tickets(units: Sequence[Unit], tickets: dict[str, Ticket], team_keys: frozenset[str]) -> dict[str, str]:
    """``owner/repo#number`` (lower case, as references are normalised) -> the ticket a GitHub pull
    request or issue cites explicitly: a Slack thread linking the PR is about that ticket too.
    One hop only, so a chain of links can never loop."""
    linked = {}
    for unit in units:
        decision = explicit_reference(unit, tickets, team_keys) if unit.source_kind.startswith("github") else None
        if decision is not None:
            linked[unit.source_id.lower()] = decision.ticket.identifier
    return linked


# -- stage 2 -------------------------------------------------------------------------------------


def ticket_doc(ticket: Ticket, *, comments: bool = True, linked_text: Sequence[str] = (),
               boilerplate: frozenset[str] = frozenset()) -> TicketDoc:
    """Title; description without template ``boilerplate`` lines (see text.boilerplate_lines),
    comments and the text of units already linked to it by reference (a PR whose branch names
    the ticket says, in the team's own words, what the ticket is about)."""
    parts = [without_lines(ticket.description, boilerplate)]
    if comments and ticket.comments:
        parts.append(ticket.comments)
    parts.extend(linked_text)
    return TicketDoc(ticket.identifier, ticket.title, "\n".join(p for p in parts if p), ticket.created_at)


def unit_query(unit: Unit) -> QueryDoc:
    """The opener as the title field (the subject is stated there), the whole unit as the body.

    No `before` limit: a thread often discusses work before its ticket is filed."""
    return QueryDoc(title=opener_text(unit.opener), body=plain_text(without_code(unit.text)))


def opener_text(opener: str) -> str:
    return plain_text(without_code(opener))


class Ranker:
    """Candidates from each method, fused on their union.

    Lexical candidates come from the local retriever (TF-IDF with a title field), semantic ones
    from the translation scorer (both sparse), and, when configured, embedding ones from a dense
    product. Every (unit, candidate) pair then gets all its similarities (the latent LSA one and
    the embedding one by a pairwise dot product) and the fused score

        (lexical + semantic_weight * semantic + embedding_weight * embedding) / (1 + weights)

    where a lexical similarity outside the retriever's top ``CANDIDATES`` counts as 0. Fusing on
    candidates keeps the cost linear in units x candidates rather than units x tickets.
    """

    CANDIDATES = 20
    BATCH = 2048

    def __init__(self, tickets: Sequence[Ticket], settings: MatchSettings, embeddings: object | None = None,
                 linked_text: dict[str, list[str]] | None = None, openers: Sequence[str] = ()):
        """``openers``: the opening texts of all the workspace's units (see SemanticScorer.fit_openers)."""
        linked_text = linked_text or {}
        boilerplate: frozenset[str] = frozenset()
        if settings.boilerplate_share > 0:
            boilerplate = boilerplate_lines([t.description for t in tickets], settings.boilerplate_share)
        docs = [ticket_doc(t, comments=settings.ticket_comments, linked_text=linked_text.get(t.identifier, ()),
                           boilerplate=boilerplate)
                for t in tickets]
        self.ids = [d.id for d in docs]
        self.settings = settings
        self.retriever = LocalRetriever().fit(docs)
        self.semantic = SemanticScorer()
        self.semantic.fit(docs)
        self.semantic.fit_openers([opener_text(opener) for opener in openers])
        self.embeddings = embeddings
        if embeddings is not None:
            embeddings.fit(docs)
        self._column = {ticket_id: i for i, ticket_id in enumerate(self.ids)}
        self._created_days = _days([t.created_at for t in tickets], -np.inf)
        self._ended_days = _days([t.ended_at for t in tickets], np.inf)

    def rank(self, units: Sequence[Unit], k: int) -> tuple[list[list[tuple[str, float]]], list[Evidence]]:
        """Per unit: the top-k (ticket_id, fused score), and the :class:`Evidence` on its best two
        candidates (coverage of its opener, per-signal similarities, rank agreement)."""
        queries = [unit_query(u) for u in units]
        if self.embeddings is not None and queries:
            self.embeddings.prepare(queries)
        started = _days([u.started_at for u in units], np.nan)
        rankings: list[list[tuple[str, float]]] = []
        coverages: list[Evidence] = []
        for start in range(0, len(queries), self.BATCH):
            ranked, covered = self._rank_batch(queries[start:start + self.BATCH], max(k, 2),
                                               started[start:start + self.BATCH])
            rankings.extend(ranked)
            coverages.extend(covered)
        return rankings, coverages

    def time_prior(self, started: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(1 + gap) ** -time_weight, gap the days between a unit's start and its candidate's active
        period [created - time_lead_days, ended + time_tail_days] (open tickets: no end); 1 when
        either date is unknown. People talk about a ticket while it is being worked on."""
        s = self.settings
        if s.time_weight <= 0:
            return np.ones(len(cols), dtype=np.float64)
        early = self._created_days[cols] - s.time_lead_days - started
        late = started - self._ended_days[cols] - s.time_tail_days
        gap = np.nan_to_num(np.maximum(np.maximum(early, late), 0.0), nan=0.0, posinf=0.0)
        return (1.0 + gap) ** -s.time_weight

    def _rank_batch(self, queries: list[QueryDoc], k: int, started: np.ndarray):
        n_queries, n_tickets, depth = len(queries), len(self.ids), self.CANDIDATES
        lexical = self.retriever.rank(queries, k=depth)
        lex_rows = np.array([r for r, ranking in enumerate(lexical) for _ in ranking], dtype=np.int64)
        lex_cols = np.array([self._column[t] for ranking in lexical for t, _ in ranking], dtype=np.int64)
        lex_vals = np.array([score for ranking in lexical for _, score in ranking], dtype=np.float32)
        lex = sp.csr_matrix((lex_vals, (lex_rows, lex_cols)), shape=(n_queries, n_tickets))

        openers = [q.title or q.body for q in queries]
        counts = self.semantic.opener_counts(openers)
        unknown = self.semantic.unknown_share(openers, counts)
        translation = self.semantic.translation(counts)
        rows, cols = [lex_rows], [lex_cols]
        tr_rows, tr_cols = _sparse_top_k(translation, depth)
        rows.append(tr_rows)
        cols.append(tr_cols)
        emb_queries = None
        if self.embeddings is not None:
            emb_queries = self.embeddings.query_vectors(queries)
            emb_rows, emb_cols = _dense_top_k(emb_queries @ self.embeddings.ticket_vectors.T, depth)
            rows.append(emb_rows)
            cols.append(emb_cols)
        pairs = np.unique(np.concatenate(rows) * n_tickets + np.concatenate(cols))
        rows, cols = pairs // n_tickets, pairs % n_tickets
        if len(pairs) == 0:
            return [[] for _ in queries], [Evidence() for _ in queries]

        semantic = self.semantic
        latent = np.einsum("ij,ij->i", semantic.latent_queries(counts)[rows], semantic.latent_tickets[cols])
        similarity = (semantic.translation_weight * np.asarray(translation[rows, cols]).ravel()
                      + semantic.latent_weight * np.clip(latent, 0, 1)) / (
            semantic.translation_weight + semantic.latent_weight)
        weights = 1.0 + self.settings.semantic_weight
        lexical = np.asarray(lex[rows, cols]).ravel()
        fused = lexical + self.settings.semantic_weight * similarity
        if emb_queries is not None:
            embedding = np.clip(np.einsum("ij,ij->i", emb_queries[rows], self.embeddings.ticket_vectors[cols]), 0, 1)
            fused = fused + self.settings.embedding_weight * embedding
            weights += self.settings.embedding_weight
        prior = self.time_prior(started[rows], cols)
        fused = fused / weights * prior

        # The head of each ranking is reranked by coverage: a ticket covering more of the distinct
        # terms of the unit's opener beats one matching a single long shared phrase.
        order = np.lexsort((-fused, rows))
        rows, cols, fused = rows[order], cols[order], fused[order]
        first = np.searchsorted(rows, np.arange(n_queries + 1))
        head = np.arange(len(rows)) - first[rows] < self.settings.rerank_depth
        rows, cols, fused = rows[head], cols[head], fused[head]
        signals = {"lex": lexical[order][head], "sem": similarity[order][head], "prior": prior[order][head]}
        # coverage boosts a score at most (1 + coverage_weight)-fold: a candidate below the best's
        # score / (1 + coverage_weight) cannot overtake it, its coverage is not computed (0)
        first = np.searchsorted(rows, np.arange(n_queries + 1))
        best = first[rows]
        reach = (np.arange(len(rows)) - best < 2) | (fused * (1.0 + self.settings.coverage_weight) >= fused[best])
        signals["cov"] = np.zeros(len(rows))
        signals["cov"][reach] = semantic.coverage_pairs(counts, rows[reach], cols[reach])
        signals["tcov"] = np.zeros(len(rows))
        signals["tcov"][reach] = semantic.title_coverage_pairs(counts, rows[reach], cols[reach])
        fused = fused * (1.0 + self.settings.coverage_weight * signals["cov"])

        order = np.lexsort((-fused, rows))
        rows, cols, fused = rows[order], cols[order], fused[order]
        signals = {name: values[order] for name, values in signals.items()}
        first = np.searchsorted(rows, np.arange(n_queries + 1))
        has = first[:-1] < first[1:]
        top = np.where(has, first[:-1], 0)
        second = np.where(first[:-1] + 1 < first[1:], first[:-1] + 1, -1)
        agree = {name: _best_is_first(values, rows, first, n_queries) for name, values in signals.items()
                 if name not in ("prior", "tcov")}

        def at(name: str, index: np.ndarray, missing: float) -> list[float]:
            return np.where(index >= 0, signals[name][np.maximum(index, 0)], missing).tolist() if len(rows) else \
                [missing] * n_queries

        top_or_none = np.where(has, top, -1)
        values = {"c1": at("cov", top_or_none, 0.0), "c2": at("cov", second, 0.0),
                  "t1": at("tcov", top_or_none, 0.0), "t2": at("tcov", second, 0.0),
                  "lex1": at("lex", top_or_none, 0.0), "lex2": at("lex", second, 0.0),
                  "sem1": at("sem", top_or_none, 0.0), "sem2": at("sem", second, 0.0),
                  "prior1": at("prior", top_or_none, 1.0), "prior2": at("prior", second, 1.0)}
        out, evidence = [], []
        for r in range(n_queries):
            a, b = first[r], min(first[r + 1], first[r] + k)
            out.append([(self.ids[c], float(f)) for c, f in zip(cols[a:b].tolist(), fused[a:b].tolist()) if f > 0])
            evidence.append(Evidence(**{name: float(v[r]) for name, v in values.items()}, unknown=float(unknown[r]),
                                     agree_lexical=float(agree["lex"][r]), agree_semantic=float(agree["sem"][r]),
                                     agree_coverage=float(agree["cov"][r])))
        return out, evidence


def _best_is_first(values: np.ndarray, rows: np.ndarray, first: np.ndarray, n_queries: int) -> np.ndarray:
    """Per query: 1 when the first entry of its group (its best candidate) also has the group's
    largest ``values`` (ties count as agreement), else 0; 0 for queries without candidates."""
    result = np.zeros(n_queries)
    if len(rows) == 0:
        return result
    group_max = np.full(n_queries, -np.inf)
    np.maximum.at(group_max, rows, values)
    has = first[:-1] < first[1:]
    firsts = first[:-1][has]
    result[has] = values[firsts] >= group_max[has]
    return result


def _days(moments: Sequence, missing: float) -> np.ndarray:
    """Days since the epoch (naive datetimes taken as UTC), ``missing`` where unknown."""
    return np.array([missing if m is None else (m if m.tzinfo else m.replace(tzinfo=UTC)).timestamp() / 86400
                     for m in moments], dtype=np.float64)


def _sparse_top_k(matrix: sp.csr_matrix, k: int, floor: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each row's k largest stored entries, among those reaching `floor` times
    the row's maximum (the rest cannot win the fusion; dropping them first keeps the sort small)."""
    matrix = matrix.tocsr()
    row_max = matrix.max(axis=1).toarray().ravel()
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    matrix.data[matrix.data < floor * row_max[row_of]] = 0
    matrix.eliminate_zeros()
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, row_of))
    rank = np.arange(matrix.nnz) - matrix.indptr[row_of[order]]
    keep = order[rank < k]
    return row_of[keep].astype(np.int64), matrix.indices[keep].astype(np.int64)


def _dense_top_k(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, matrix.shape[1])
    cols = np.argpartition(-matrix, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(matrix.shape[0]), k)
    return rows.astype(np.int64), cols.ravel().astype(np.int64)


# -- stage 3 -------------------------------------------------------------------------------------


def link_probability(best: float, runner_up: float, coverage: tuple[float, float], settings: MatchSettings,
                     evidence: Evidence | None = None) -> float:
    """Calibrated P(best candidate is the unit's ticket) from its score, its lead over the
    runner-up, how much of the unit's opening text it covers (and its lead there) and, with
    ``evidence``, its lexical and semantic similarities (and leads), time priors and whether the
    single signals agree it is the best."""
    z = (settings.calibration_intercept + settings.calibration_score * best
         + settings.calibration_margin * (best - runner_up) + settings.calibration_coverage * coverage[0]
         + settings.calibration_coverage_margin * (coverage[0] - coverage[1]))
    if evidence is not None:
        z += sum(getattr(settings, f"calibration_{name}") * value for name, value in evidence_features(evidence).items())
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))


def evidence_features(evidence: Evidence) -> dict[str, float]:
    """The evidence terms of the calibrated probability, by settings name (calibration_<name>)."""
    return {
        "unknown": evidence.unknown,
        "title_coverage": evidence.t1, "title_coverage_margin": evidence.t1 - evidence.t2,
        "both_coverages": evidence.c1 * evidence.t1,
        "lexical": evidence.lex1, "lexical_margin": evidence.lex1 - evidence.lex2,
        "semantic": evidence.sem1, "semantic_margin": evidence.sem1 - evidence.sem2,
        "prior": evidence.prior1, "prior_runner_up": evidence.prior2,
        "agree_lexical": evidence.agree_lexical, "agree_semantic": evidence.agree_semantic,
        "agree_coverage": evidence.agree_coverage,
    }


def decide(unit: Unit, ranking: list[tuple[str, float]], tickets: dict[str, Ticket], settings: MatchSettings,
           method: str, coverage: tuple[float, float] = (0.0, 0.0), *, rules: bool = True,
           evidence: Evidence | None = None) -> Decision:
    """Stage 3 for a unit without an explicit reference (`rules=False`: the not-work rules
    already ran and passed it)."""
    candidates = [(ticket_id, round(float(score), 4)) for ticket_id, score in ranking[: settings.candidates]]
    verdict = classify(unit) if rules else None
    if verdict is not None and verdict.not_work:
        return Decision(unit, "not_work", None, "rules", 1.0, verdict.rule, candidates)
    best = ranking[0][1] if ranking else 0.0
    runner_up = ranking[1][1] if len(ranking) > 1 else 0.0
    if not ranking or best < settings.not_work_max_score:
        return Decision(unit, "not_work", None, "rules", round(1 - best, 4),
                        f"no ticket shares its vocabulary (best score {best:.2f} < {settings.not_work_max_score})",
                        candidates)
    if evidence is not None:
        coverage = evidence.coverage
    p = link_probability(best, runner_up, coverage, settings, evidence)
    top = tickets[ranking[0][0]]
    detail = (f"best {top.identifier} score {best:.3f}, lead {best - runner_up:.3f}, coverage {coverage[0]:.2f} "
              f"(lead {coverage[0] - coverage[1]:.2f}), P(right ticket) {p:.2f}")
    if p >= settings.link_probability:
        return Decision(unit, "linked", top, method, round(p, 4), detail, candidates, p, coverage, evidence)
    if p >= settings.suggest_probability:
        return Decision(unit, "suggested", top, method, round(p, 4), detail, candidates, p, coverage, evidence)
    return Decision(unit, "new_work", None, method, round(1 - p, 4), f"no ticket fits: {detail}", candidates, p,
                    coverage, evidence)
