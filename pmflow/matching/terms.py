"""Term counts for batches of texts, fast enough for 100k Slack threads.

scikit-learn's CountVectorizer looks every token up in Python one at a time; here a whole
compound (``getFileStatus``, ``dfs.namenode.rpc-address``) maps to its term ids through one
dict lookup done in C (``map`` over a dict whose misses compute the ids), and a batch becomes
a CSR matrix in a single constructor call.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain

import numpy as np
import scipy.sparse as sp

from pmflow.matching.text import compounds, index_terms

_MAX_CACHED_COMPOUNDS = 1 << 20


class TermVocabulary:
    """Term ids, grown while fitting on tickets; afterwards terms seen only in queries are
    ignored, as they match nothing."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._growing = False
        self._compound_ids = _CompoundIds(self._lookup)

    def __len__(self) -> int:
        return len(self._ids)

    def fit_counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Add the terms of ``texts`` to the vocabulary and return their counts."""
        self._compound_ids.clear()  # answers cached while frozen may lack terms added now
        self._growing = True
        try:
            return self.counts(texts)
        finally:
            self._growing = False

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(len(texts) x len(self)) term counts, float32."""
        if len(self._compound_ids) > _MAX_CACHED_COMPOUNDS:
            self._compound_ids.clear()
        lookup = self._compound_ids.__getitem__
        ids: list[int] = []
        indptr = [0]
        for text in texts:
            ids.extend(chain.from_iterable(map(lookup, compounds(text))))
            indptr.append(len(ids))
        matrix = sp.csr_matrix(
            (np.ones(len(ids), dtype=np.float32), np.array(ids, dtype=np.int32), np.array(indptr)),
            shape=(len(texts), len(self._ids)),
        )
        matrix.sum_duplicates()
        return matrix

    def unknown_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, how many of its terms the vocabulary lacks: words no ticket uses."""
        return np.array([sum(map(self._unknown_in, compounds(text))) for text in texts], dtype=np.float32)

    def _unknown_in(self, compound: str) -> int:
        return sum(term not in self._ids for term in index_terms(compound))

    def _lookup(self, compound: str) -> tuple[int, ...]:
        """Term ids of one compound. Cached: while growing every term gets an id, so a cached
        answer stays right once the vocabulary is frozen."""
        if self._growing:
            return tuple(self._ids.setdefault(term, len(self._ids)) for term in index_terms(compound))
        return tuple(self._ids[term] for term in index_terms(compound) if term in self._ids)


class _CompoundIds(dict):
    """compound -> term ids, computed by ``lookup`` on first sight."""

    def __init__(self, lookup: Callable[[str], tuple[int, ...]]) -> None:
        super().__init__()
        self._lookup = lookup

    def __missing__(self, compound: str) -> tuple[int, ...]:
        ids = self[compound] = self._lookup(compound)
        return ids
