"""Local semantic similarity learned from the workspace's own tickets (no model download, no network).

People name the same thing differently in a ticket title ("Fix timeouts in invoice generator") and
in chat ("the invoicing job hangs for ~30s and then dies"). A ticket's description usually says it
the chat way, so across a workspace's tickets the title vocabulary and the description vocabulary
co-occur. Two views of that co-occurrence are fused here:

* **translation**: positive PMI between a description term and a title term, counted over tickets
  (kept when they meet in at least ``min_cooccurrence`` tickets, best ``associations`` per term).
  A query's terms are mapped through it into title vocabulary and compared with ticket titles;
* **latent**: a truncated SVD (LSA) of the tickets' TF-IDF text, queries folded into it.

The decision reads coverage both ways from the same statistics: how much of a unit's opener a
ticket covers, and how much of the ticket's title the opener names (through *strong* translations
only, normalised PMI >= ``strong_npmi``).

Both read only the query's *opening* text (``QueryDoc.title`` when set: a thread's first message,
a PR's title), where the subject is stated; replies add more noise than signal here. The result
is a :class:`pmflow.matching.retrieval.Scorer`, plugged into ``LocalRetriever(extra_scorers=...)``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfTransformer

from pmflow.matching.retrieval import QueryDoc, TicketDoc
from pmflow.matching.terms import TermVocabulary

COVERAGE_BATCH = 4096


@dataclass
class SemanticScorer:
    """Translation (title <-> description PMI) and LSA similarities, as one weighted mean."""

    translation_weight: float = 0.67
    latent_weight: float = 0.33
    min_cooccurrence: int = 2
    """A team names a component three or four ways, each in a few tickets: two meetings are
    evidence enough (at 3 most chat names of a component stayed unmapped; at 1, noise wins)."""
    associations: int = 40
    latent_dims: int = 50
    max_mapped_terms: int = 24
    """A query keeps its heaviest title terms after translation (the light ones are the common
    words whose long postings make the product dense and slow; cf. RetrievalWeights.max_query_terms)."""
    strong_npmi: float = 0.5
    """Least normalised PMI for a description term to *name* a title term (title coverage): the
    translation keeps weaker associations, a customer's name with every title it reported."""
    latent_sample: int = 5000
    """The LSA basis is fitted on at most this many tickets (a random sample), all are projected."""

    def fit(self, tickets: Sequence[TicketDoc]) -> None:
        n = len(tickets)
        self._n = n
        self._row_of = {t.id: i for i, t in enumerate(tickets)}
        self._vocabulary = TermVocabulary()
        counts = self._vocabulary.fit_counts([t.title for t in tickets] + [t.body for t in tickets])
        titles = _binary(counts[:n])
        texts = _binary(counts[:n] + counts[n:])
        self._texts = texts
        # translation: description/title term -> title term, positive PMI over tickets
        title_df = np.asarray(titles.sum(axis=0)).ravel()
        text_df = np.asarray(texts.sum(axis=0)).ravel()
        co = (texts.T @ titles).tocoo()
        keep = co.data >= self.min_cooccurrence
        rows, cols, together = co.row[keep], co.col[keep], co.data[keep]
        pmi = np.log(together * n / (text_df[rows] * title_df[cols]))
        positive = pmi > 0
        translation = sp.csr_matrix(
            (pmi[positive].astype(np.float32), (rows[positive], cols[positive])), shape=(counts.shape[1],) * 2
        )
        self._translation = _top_per_row(translation, self.associations)
        npmi = pmi / np.maximum(-np.log(together / n), 1e-9)  # a pair in every ticket: pmi 0
        strong = (npmi >= self.strong_npmi) & positive
        self._strong_translation = sp.csr_matrix(
            (np.ones(int(strong.sum()), dtype=np.float32), (rows[strong], cols[strong])), shape=(counts.shape[1],) * 2)
        self._title_idf = np.log((1 + n) / (1 + title_df)).astype(np.float32) + 1
        self._text_idf = np.log((1 + n) / (1 + text_df)).astype(np.float32) + 1
        self._opener_weights = self._text_idf
        self._titles_binary = titles
        self._titles = _normalise_rows(titles.multiply(self._title_idf).tocsr()).T.tocsr()
        # latent: LSA over title twice + description
        self._tfidf = TfidfTransformer(sublinear_tf=True).fit(2 * counts[:n] + counts[n:])
        docs = self._tfidf.transform(2 * counts[:n] + counts[n:])
        dims = max(1, min(self.latent_dims, n - 1, docs.shape[1] - 1))
        sample = docs
        if n > self.latent_sample:
            sample = docs[np.sort(np.random.default_rng(0).choice(n, self.latent_sample, replace=False))]
        self._svd = TruncatedSVD(dims, random_state=0, algorithm="randomized", n_iter=4).fit(sample)
        self._latent_rows = _normalise_dense(self._svd.transform(docs).astype(np.float32))
        self._latent = self._latent_rows.T.copy()

    def fit_openers(self, openers: Sequence[str]) -> None:
        """Weigh the terms of :meth:`coverage` by their rarity among ``openers`` too (the opening
        texts of all the workspace's units): chat's stock phrases ("can someone take a look?",
        "keeps bringing it up") are common in openers whatever their subject, and covering them
        says nothing."""
        if not openers:
            return
        df = np.asarray(_binary(self._vocabulary.counts(list(openers))).sum(axis=0)).ravel()
        opener_idf = np.log((1 + len(openers)) / (1 + df)).astype(np.float32) + 1
        self._opener_weights = self._text_idf * opener_idf

    @property
    def size(self) -> int:
        return self._n

    def opener_counts(self, openers: Sequence[str]) -> sp.csr_matrix:
        return self._vocabulary.counts(list(openers))

    def unknown_share(self, openers: Sequence[str], counts: sp.csr_matrix) -> np.ndarray:
        """Per opener, the idf-weighted share of its terms that no ticket uses (weighted as a term
        seen in no ticket): a unit naming a thing no ticket names is likely new work."""
        known = np.asarray(_binary(counts).multiply(self._text_idf).sum(axis=1)).ravel()
        unknown = self._vocabulary.unknown_counts(openers) * np.float32(np.log(1 + self._n) + 1)
        total = known + unknown
        return np.divide(unknown, total, out=np.zeros_like(total), where=total > 0)

    def translation(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sparse (openers x tickets) cosine between the openers mapped into title vocabulary and
        the tickets' titles."""
        mapped = (_binary(counts) @ self._translation).multiply(self._title_idf).tocsr()
        mapped = _top_per_row(_normalise_rows(mapped), self.max_mapped_terms)
        return (mapped @ self._titles).tocsr()

    def latent_queries(self, counts: sp.csr_matrix) -> np.ndarray:
        """(openers x dims) unit vectors in the LSA space."""
        return _normalise_dense(self._svd.transform(self._tfidf.transform(counts)).astype(np.float32))

    @property
    def latent_tickets(self) -> np.ndarray:
        """(tickets x dims) unit vectors in the LSA space."""
        return self._latent_rows

    def score(self, queries: Sequence[QueryDoc]) -> np.ndarray:
        """Dense (queries x tickets) similarities: the Scorer protocol of LocalRetriever."""
        counts = self.opener_counts([q.title or q.body for q in queries])
        total = self.translation_weight + self.latent_weight
        result = np.zeros((len(queries), self._n), dtype=np.float32)
        if self.translation_weight:
            result += (self.translation_weight / total) * self.translation(counts).toarray()
        if self.latent_weight:
            result += (self.latent_weight / total) * np.clip(self.latent_queries(counts) @ self._latent, 0, 1)
        return np.clip(result, 0, 1, out=result)

    def coverage(self, openers: Sequence[str], ticket_ids: Sequence[Sequence[str]]) -> list[list[float]]:
        """For each opener and each of its tickets: the weighted share of the opener's terms (those
        any ticket uses; weight: idf over tickets, times idf over openers after :meth:`fit_openers`)
        that the ticket's text contains, or whose strong translation its title contains. A ticket
        about the same component but another problem covers about half.
        Vectorised: one sparse row product per (opener, ticket) pair, in batches."""
        result: list[list[float]] = []
        for start in range(0, len(openers), COVERAGE_BATCH):
            counts = self.opener_counts(openers[start:start + COVERAGE_BATCH])
            rows = [[self._row_of.get(t, -1) for t in ids] for ids in ticket_ids[start:start + COVERAGE_BATCH]]
            result.extend(self.coverage_of(counts, rows))
        return result

    def coverage_of(self, counts: sp.csr_matrix, ticket_rows: Sequence[Sequence[int]]) -> list[list[float]]:
        """:meth:`coverage` for openers already counted, tickets given by their fit position."""
        pair_unit = [row for row, positions in enumerate(ticket_rows) for _ in positions]
        pair_ticket = [position for positions in ticket_rows for position in positions]
        if not pair_unit:
            return [[] for _ in ticket_rows]
        shares = self.coverage_pairs(counts, np.array(pair_unit), np.array(pair_ticket))
        result, position = [], 0
        for positions in ticket_rows:
            result.append(shares[position:position + len(positions)].tolist())
            position += len(positions)
        return result

    def coverage_pairs(self, counts: sp.csr_matrix, pair_unit: np.ndarray, pair_ticket: np.ndarray) -> np.ndarray:
        """:meth:`coverage` of opener ``pair_unit[i]`` (a row of ``counts``) by the ticket at fit
        position ``pair_ticket[i]`` (-1: unknown ticket, coverage 0), for every pair i."""
        shares = np.zeros(len(pair_unit))
        if len(pair_unit) == 0:
            return shares
        weighted = _binary(counts).multiply(self._opener_weights).tocsr()
        totals = np.asarray(weighted.sum(axis=1)).ravel()
        # only the terms the openers use matter: restricting to them keeps the products small
        terms = np.unique(weighted.indices)
        weighted = weighted[:, terms]
        known = pair_ticket >= 0
        candidates, column = np.unique(pair_ticket[known], return_inverse=True)
        # terms a candidate covers: its own text terms, or any term strongly translating into its title
        by_translation = self._strong_translation[terms] @ self._titles_binary[candidates].T  # terms x candidates
        covered = (self._texts[candidates][:, terms].T + by_translation).tocsc()
        covered.data[:] = 1
        covered_rows = covered.T.tocsr()  # candidates x terms
        if known.any():
            units = pair_unit[known]
            hits = np.asarray(weighted[units].multiply(covered_rows[column]).sum(axis=1)).ravel()
            shares[known] = np.divide(hits, totals[units], out=np.zeros_like(hits), where=totals[units] > 0)
        return shares

    def title_coverage_pairs(self, counts: sp.csr_matrix, pair_unit: np.ndarray, pair_ticket: np.ndarray) -> np.ndarray:
        """The converse of :meth:`coverage_pairs`: the idf-weighted share of the title of the ticket
        at fit position ``pair_ticket[i]`` that opener ``pair_unit[i]`` names, in its own words or
        through the translation. A ticket about the same problem in another component leaves the
        component's words uncovered."""
        shares = np.zeros(len(pair_unit))
        known = pair_ticket >= 0
        if not known.any():
            return shares
        openers = _binary(counts)
        named = openers + openers @ self._strong_translation
        named.data[:] = 1
        titles = self._titles_binary[pair_ticket[known]].multiply(self._text_idf).tocsr()
        totals = np.asarray(titles.sum(axis=1)).ravel()
        hits = np.asarray(titles.multiply(named[pair_unit[known]]).sum(axis=1)).ravel()
        shares[known] = np.divide(hits, totals, out=np.zeros_like(hits), where=totals > 0)
        return shares


def _binary(matrix: sp.spmatrix) -> sp.csr_matrix:
    matrix = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    matrix.data[:] = 1
    return matrix


def _normalise_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return sp.csr_matrix(sp.diags((1 / norms).astype(np.float32)) @ matrix)


def _normalise_dense(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return matrix / norms


def _top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's k largest entries."""
    matrix = matrix.tocsr()
    matrix.sort_indices()
    lengths = np.diff(matrix.indptr)
    if lengths.max(initial=0) <= k:
        return matrix
    row_of_entry = np.repeat(np.arange(matrix.shape[0]), lengths)
    order = np.lexsort((-matrix.data, row_of_entry))
    rank = np.arange(matrix.nnz) - matrix.indptr[row_of_entry[order]]
    keep = np.zeros(matrix.nnz, dtype=bool)
    keep[order[rank < k]] = True
    pruned = sp.csr_matrix((matrix.data * keep, matrix.indices, matrix.indptr), shape=matrix.shape)
    pruned.eliminate_zeros()
    return pruned
