"""OpenAI embeddings for ticket matching: batched, cached by text hash, usage recorded.

Every text is hashed (sha256 of model, dimensions and text); hashes already in
ops.embedding_cache are read from there, the rest are sent `batch` texts per request, and each
request's vectors are stored (with its core.llm_usage row) in the same transaction as soon as it
returns. So unchanged text is never embedded twice, even after a crash halfway through.
No text is stored: only hashes and vectors. 429s, 5xx and timeouts are retried by the openai
client itself (max_retries, exponential backoff).
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from pmflow.costs.usage import pipeline_usage_row
from pmflow.matching.retrieval import QueryDoc, TicketDoc
from warehouse import Warehouse
from warehouse.warehouse import merge

MAX_CHARS = 4000
"""Texts are cut to this many characters before embedding (about 1,000 tokens)."""


def text_hash(model: str, dimensions: int | None, text: str) -> str:
    return hashlib.sha256(f"{model}\x1f{dimensions or ''}\x1f{text}".encode()).hexdigest()


@dataclass
class EmbeddingStats:
    requests: int = 0
    texts_sent: int = 0
    cache_hits: int = 0


@dataclass
class Embedder:
    """Embeds texts through an openai client, with the warehouse cache in front."""

    client: object  # openai.OpenAI
    warehouse: Warehouse
    workspace_id: str
    model: str = "text-embedding-3-small"
    dimensions: int | None = None
    batch: int = 100
    run_id: str | None = None
    flow_name: str = "match-tickets"
    stats: EmbeddingStats = field(default_factory=EmbeddingStats)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (len(texts) x dims), in order."""
        texts = [(t or " ")[:MAX_CHARS] for t in texts]
        hashes = [text_hash(self.model, self.dimensions, t) for t in texts]
        vectors = self._cached(sorted(set(hashes)))
        self.stats.cache_hits += sum(1 for h in hashes if h in vectors)
        missing = list(dict.fromkeys(h for h in hashes if h not in vectors))
        text_of = dict(zip(hashes, texts))
        for start in range(0, len(missing), self.batch):
            chunk = missing[start : start + self.batch]
            vectors.update(self._request(chunk, [text_of[h] for h in chunk]))
        if not hashes:
            return np.zeros((0, 1), np.float32)
        matrix = np.vstack([vectors[h] for h in hashes])
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1
        return (matrix / norms).astype(np.float32)

    def _cached(self, hashes: list[str]) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        with self.warehouse.connect() as con:
            con.register("_wanted_hashes", pa.table({"text_hash": hashes}))
            try:
                rows = con.execute(
                    "SELECT c.text_hash, c.embedding FROM ops.embedding_cache c JOIN _wanted_hashes w USING (text_hash) "
                    "WHERE c.workspace_id = ? AND c.model = ?",
                    [self.workspace_id, self.model],
                ).fetchall()
            finally:
                con.unregister("_wanted_hashes")
        return {h: np.asarray(v, dtype=np.float32) for h, v in rows}

    def _request(self, hashes: list[str], texts: list[str]) -> dict[str, np.ndarray]:
        kwargs = {"model": self.model, "input": texts}
        if self.dimensions:
            kwargs["dimensions"] = self.dimensions
        response = self.client.embeddings.create(**kwargs)
        self.stats.requests += 1
        self.stats.texts_sent += len(texts)
        ordered = sorted(response.data, key=lambda item: item.index)
        vectors = {h: np.asarray(item.embedding, dtype=np.float32) for h, item in zip(hashes, ordered)}
        now = datetime.now(UTC)
        usage = pipeline_usage_row(
            self.workspace_id, response.usage, self.model, self.run_id, agent="ticket-matcher",
            call_id=f"embeddings-{uuid.uuid4().hex}", occurred_at=now, flow_name=self.flow_name,
            endpoint="embeddings",
        )
        rows = pa.table({
            "workspace_id": [self.workspace_id] * len(hashes),
            "model": [self.model] * len(hashes),
            "text_hash": hashes,
            "dimensions": pa.array([len(vectors[h]) for h in hashes], pa.int32()),
            "embedding": pa.array([vectors[h].tolist() for h in hashes], pa.list_(pa.float32())),
            "created_at": pa.array([now] * len(hashes), pa.timestamp("us", tz="UTC")),
        })
        with self.warehouse.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.register("_new_embeddings", rows)
                con.execute(
                    "INSERT INTO ops.embedding_cache SELECT * FROM _new_embeddings n WHERE NOT EXISTS ("
                    "SELECT 1 FROM ops.embedding_cache c WHERE c.workspace_id = n.workspace_id "
                    "AND c.model = n.model AND c.text_hash = n.text_hash)"
                )
                con.unregister("_new_embeddings")
                merge(con, "core.llm_usage", [usage])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return vectors


def ticket_text(ticket: TicketDoc) -> str:
    return f"{ticket.title}\n{ticket.body}"


def query_text(query: QueryDoc) -> str:
    return f"{query.title}\n{query.body}" if query.title and query.title != query.body else query.body


@dataclass
class EmbeddingScorer:
    """A retrieval Scorer: cosine of OpenAI embeddings (clipped to [0, 1]).

    Call :meth:`prepare` with every query first, so that queries go out in full batches."""

    embed: Callable[[Sequence[str]], np.ndarray]
    _tickets: np.ndarray | None = None
    _queries: dict[str, np.ndarray] = field(default_factory=dict)

    def fit(self, tickets: Sequence[TicketDoc]) -> None:
        self._tickets = self.embed([ticket_text(t) for t in tickets])

    def prepare(self, queries: Sequence[QueryDoc]) -> None:
        texts = list(dict.fromkeys(query_text(q)[:MAX_CHARS] for q in queries))
        texts = [t for t in texts if t not in self._queries]
        if texts:
            self._queries.update(zip(texts, self.embed(texts)))

    @property
    def ticket_vectors(self) -> np.ndarray:
        return self._tickets

    def query_vectors(self, queries: Sequence[QueryDoc]) -> np.ndarray:
        self.prepare(queries)
        return np.vstack([self._queries[query_text(q)[:MAX_CHARS]] for q in queries])

    def score(self, queries: Sequence[QueryDoc]) -> np.ndarray:
        return np.clip(self.query_vectors(queries) @ self._tickets.T, 0, 1)
