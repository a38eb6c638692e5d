"""Local ticket retrieval: rank existing tickets for a piece of text, with no network or model.

The score of ticket t for query q is a similarity in [0, 1] discounted by age:

    score = similarity(q, t) * (1 + age_in_days(q, t)) ** -weights.recency

``similarity`` is a weighted mean of cosine similarities, so scores are comparable across
queries (a later calibration can map them to linked / suggested / new work):

* ``text``: TF-IDF (1 + log tf, smoothed idf, L2 norm) of title (counted twice) plus body,
  over the stemmed, identifier-aware terms of :mod:`pmflow.matching.text`;
* ``title``: the query's title (its whole text when it has none) against ticket titles;
* any extra :class:`Scorer`, e.g. sentence embeddings where such a model is installed.

The age discount is a prior, not a filter: duplicates and follow-ups tend to arrive soon
after the work they belong to. Everything is vectorised per batch of queries: one sparse
product gives all similarities, the discount touches only its non-zero entries, the
``before`` filter zeroes a suffix of each row (tickets are held in creation order) and top-k
searches only the blocks of each row that can hold a winner.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from pmflow.matching.terms import TermVocabulary

TITLE_REPEATS = 2
QUERY_BATCH = 1024
_NS_PER_DAY = 86_400 * 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Unknown creation time: far in the past, so undated tickets pass every ``before`` limit.
_UNKNOWN_NS = np.iinfo(np.int64).min
_NO_LIMIT_NS = np.iinfo(np.int64).max
# Ticket columns are padded to a multiple of BLOCK, the unit of the top-k search.
BLOCK = 32

Ranking = list[tuple[str, float]]
Before = datetime | Sequence[datetime | None] | None


@dataclass(frozen=True)
class TicketDoc:
    id: str
    title: str
    body: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class QueryDoc:
    """Text to match: a Slack thread (body only), a PR (title and body), a new report..."""

    title: str = ""
    body: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class RetrievalWeights:
    """The few global weights. Defaults sit mid-plateau on the GitBugs benchmark, not at its peak.

    ``max_query_terms`` keeps each query's heaviest terms only: light terms add little to a
    cosine but are the common ones whose long postings make the sparse product slow (on
    GitBugs-hadoop, 32 rather than 48 terms loses one query at R@10; ranking is ~30% faster).
    """

    text: float = 0.8
    title: float = 0.2
    recency: float = 0.1
    max_query_terms: int = 32


class Scorer(Protocol):
    """An extra similarity fused with the lexical ones: cosine-like, in [0, 1]."""

    def fit(self, tickets: Sequence[TicketDoc]) -> None: ...

    def score(self, queries: Sequence[QueryDoc]) -> np.ndarray:
        """Dense (len(queries), len(tickets)) similarities against the fitted tickets."""
        ...


@dataclass
class _TermVectors:
    """Ticket TF-IDF vectors in one stacked space, [text terms | title terms] x tickets, so a
    single sparse product adds the weighted text and title cosines."""

    vocabulary: TermVocabulary
    tfidf: TfidfTransformer
    tickets_by_term: sp.csr_matrix
    weights: RetrievalWeights

    @classmethod
    def fit(cls, tickets: Sequence[TicketDoc], weights: RetrievalWeights) -> _TermVectors:
        vocabulary = TermVocabulary()
        counts = vocabulary.fit_counts([t.title for t in tickets] + [t.body for t in tickets])
        if not len(vocabulary):
            raise ValueError("no ticket has indexable text")
        titles, full = _title_and_full(counts, len(tickets))
        tfidf = TfidfTransformer(sublinear_tf=True).fit(full)
        stacked = sp.hstack([tfidf.transform(full), tfidf.transform(titles)], format="csr", dtype=np.float32)
        tickets_by_term = stacked.T.tocsr()
        tickets_by_term.resize(tickets_by_term.shape[0], -(-len(tickets) // BLOCK) * BLOCK)
        return cls(vocabulary, tfidf, tickets_by_term, weights)

    def similarities(self, queries: Sequence[QueryDoc]) -> sp.csr_matrix:
        """``text * text cosine + title * title cosine``, sparse (queries x tickets)."""
        counts = self.vocabulary.counts([q.title for q in queries] + [q.body for q in queries])
        titles, full = _title_and_full(counts, len(queries))
        has_title = (titles.getnnz(axis=1) > 0).astype(np.float32)
        title_like = sp.diags(has_title) @ titles + sp.diags(1 - has_title) @ full
        limit = self.weights.max_query_terms
        stacked = sp.hstack(
            [
                self.weights.text * _keep_heaviest(self.tfidf.transform(full), limit),
                self.weights.title * _keep_heaviest(self.tfidf.transform(title_like), limit),
            ],
            format="csr",
            dtype=np.float32,
        )
        return stacked @ self.tickets_by_term


def _title_and_full(counts: sp.csr_matrix, n_docs: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split stacked [titles; bodies] counts into title counts and title*2 + body counts."""
    titles, bodies = counts[:n_docs], counts[n_docs:]
    return titles, TITLE_REPEATS * titles + bodies


def _keep_heaviest(rows: sp.csr_matrix, limit: int) -> sp.csr_matrix:
    """Each row's ``limit`` largest entries (vectorised: one sort of all entries by row, weight;
    a stable one, so ties keep the same terms on every run)."""
    row_of_entry = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    order = np.lexsort((-rows.data, row_of_entry))
    rank_in_row = np.arange(rows.nnz) - rows.indptr[row_of_entry]
    keep = np.zeros(rows.nnz, dtype=bool)
    keep[order[rank_in_row < limit]] = True
    pruned = sp.csr_matrix((rows.data * keep, rows.indices, rows.indptr), shape=rows.shape)
    pruned.eliminate_zeros()
    return pruned


def _to_ns(values: Sequence[datetime | None], missing: int = _UNKNOWN_NS) -> np.ndarray:
    """Epoch nanoseconds (naive datetimes taken as UTC); ``missing`` where there is no value."""
    return np.array([missing if value is None else _epoch_ns(value) for value in values], dtype=np.int64)


def _epoch_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _to_days(ns: np.ndarray, unknown: float) -> np.ndarray:
    """Fractional days since the epoch as float32, ``unknown`` (an infinity) where unknown.

    Tickets use +inf and queries -inf, so an age with either date unknown is -inf, never NaN.
    """
    return np.where(ns == _UNKNOWN_NS, unknown, ns / _NS_PER_DAY).astype(np.float32)


@dataclass
class LocalRetriever:
    """Fit on tickets once, then rank tickets for batches of queries.

    ``extra_scorers`` pairs each plugged-in :class:`Scorer` with its weight in the fusion.
    """

    weights: RetrievalWeights = field(default_factory=RetrievalWeights)
    extra_scorers: Sequence[tuple[Scorer, float]] = ()

    def fit(self, tickets: Sequence[TicketDoc]) -> LocalRetriever:
        """Index ``tickets``, kept internally in creation order (undated first) so that the
        ``before`` filter is a prefix of each row."""
        if not tickets:
            raise ValueError("LocalRetriever needs at least one ticket")
        created_ns = _to_ns([t.created_at for t in tickets])
        order = np.argsort(created_ns, kind="stable")
        self._position_of_input = np.argsort(order)
        tickets = [tickets[i] for i in order]
        self._ids = [ticket.id for ticket in tickets]
        self._created_ns = created_ns[order]
        self._created_days = _to_days(self._created_ns, unknown=np.inf)
        self._terms = _TermVectors.fit(tickets, self.weights)
        for scorer, _ in self.extra_scorers:
            scorer.fit(tickets)
        return self

    def scores(self, queries: Sequence[QueryDoc], before: Before = None) -> np.ndarray:
        """Dense (queries x tickets) scores, tickets in the order given to :meth:`fit`; 0 for
        tickets excluded by ``before``.

        ``before`` keeps only tickets created strictly before it: one datetime for all queries
        or one per query (None: no limit). Tickets without a creation time are always kept.
        """
        if not queries:
            return np.zeros((0, len(self._ids)), dtype=np.float32)
        scores = self._dense_scores(queries, self._limits(before, len(queries)))
        return scores[:, self._position_of_input]  # drops the padding too

    def rank(self, queries: Sequence[QueryDoc], k: int = 10, before: Before = None) -> list[Ranking]:
        """Top ``k`` (ticket_id, score) per query, best first; tickets scoring 0 are left out."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        limits = self._limits(before, len(queries))
        rankings: list[Ranking] = []
        for start in range(0, len(queries), QUERY_BATCH):
            batch = slice(start, start + QUERY_BATCH)
            rankings.extend(self._top_k(self._dense_scores(queries[batch], limits[batch]), k))
        return rankings

    def _dense_scores(self, queries: Sequence[QueryDoc], limits: np.ndarray) -> np.ndarray:
        """(queries x padded tickets) scores; tickets are in creation order, so the ``before``
        filter zeroes a suffix of each row."""
        scores = self._fused_similarity(queries)
        query_of_entry = np.repeat(np.arange(len(queries), dtype=np.int32), np.diff(scores.indptr))
        query_days = _to_days(_to_ns([q.created_at for q in queries]), unknown=-np.inf)
        scores.data *= self._age_discount(query_days[query_of_entry] - self._created_days[scores.indices])
        dense = scores.toarray()
        for row, first_excluded in enumerate(np.searchsorted(self._created_ns, limits, side="left")):
            dense[row, first_excluded:] = 0
        return dense

    def _fused_similarity(self, queries: Sequence[QueryDoc]) -> sp.csr_matrix:
        """Weighted mean of the lexical and any extra similarities (sparse unless extras are dense)."""
        similarity = self._terms.similarities(queries)
        total = self.weights.text + self.weights.title
        if self.extra_scorers:
            dense = similarity.toarray()
            for scorer, weight in self.extra_scorers:
                dense[:, : len(self._ids)] += np.float32(weight) * scorer.score(queries).astype(np.float32)
                total += weight
            similarity = sp.csr_matrix(dense)
        similarity.data /= np.float32(total)
        return similarity

    def _age_discount(self, ages: np.ndarray) -> np.ndarray:
        """(1 + age) ** -recency, in place; ages of -inf (a date unknown) or < 0 count as 0."""
        np.maximum(ages, 0, out=ages)
        np.log1p(ages, out=ages)
        ages *= np.float32(-self.weights.recency)
        return np.exp(ages, out=ages)

    @staticmethod
    def _limits(before: Before, n_queries: int) -> np.ndarray:
        """Per query, the epoch-ns time candidates must be created before (none: int64 max)."""
        if before is None or isinstance(before, datetime):
            before = [before] * n_queries
        elif len(before) != n_queries:
            raise ValueError(f"before has {len(before)} values for {n_queries} queries")
        return _to_ns(before, missing=_NO_LIMIT_NS)

    def _top_k(self, dense: np.ndarray, k: int) -> list[Ranking]:
        rows, columns, values = _top_k_entries(dense, k)
        bounds = np.searchsorted(rows, np.arange(dense.shape[0] + 1))
        pairs = list(zip([self._ids[column] for column in columns.tolist()], values.tolist()))
        return [pairs[start:stop] for start, stop in pairwise(bounds)]


def _top_k_entries(dense: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of each row's k largest positive entries, by row then value.

    ``dense`` has a multiple of BLOCK columns. The k-th largest block maximum of a row is a
    lower bound of its k-th largest entry, so only blocks reaching it are searched: about
    one pass over the matrix, where ``argpartition`` degrades badly on masses of zeros.
    """
    n_rows, n_columns = dense.shape
    blocks = dense.reshape(n_rows, n_columns // BLOCK, BLOCK)
    block_max = np.maximum.reduceat(dense, np.arange(0, n_columns, BLOCK), axis=1)  # faster than max(axis=2)
    n_blocks = block_max.shape[1]
    if k < n_blocks:
        threshold = np.partition(block_max, n_blocks - k, axis=1)[:, n_blocks - k]
    else:
        threshold = np.zeros(n_rows, dtype=dense.dtype)
    np.maximum(threshold, np.finfo(dense.dtype).tiny, out=threshold)
    block_rows, block_columns = np.nonzero(block_max >= threshold[:, None])
    found_blocks, offsets = np.nonzero(blocks[block_rows, block_columns] >= threshold[block_rows, None])
    rows = block_rows[found_blocks]
    columns = block_columns[found_blocks] * BLOCK + offsets
    values = dense[rows, columns]
    order = np.lexsort((-values, rows))
    rows, columns, values = rows[order], columns[order], values[order]
    keep = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left") < k
    return rows[keep], columns[keep], values[keep]
