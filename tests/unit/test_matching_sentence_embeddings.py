"""The optional sentence-embedding scorer, with a stand-in encoder (the real model needs torch)."""
import numpy as np

from pmflow.matching import LocalRetriever, QueryDoc, TicketDoc
from pmflow.matching.sentence_embeddings import SentenceEmbeddingScorer


class TopicEncoder:
    """Embeds a text as its normalised counts of a few topic words, like a tiny sentence model."""

    topics = (("bump", "upgrade"), ("login", "sso"), ("export", "csv"))

    def __init__(self):
        self.calls = []

    def encode(self, sentences, batch_size, normalize_embeddings):
        self.calls.append(list(sentences))
        vectors = np.array(
            [[sum(text.lower().count(word) for word in words) for words in self.topics] for text in sentences],
            dtype=np.float32,
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms) if normalize_embeddings else vectors


def test_embedding_scores_are_clipped_cosines_with_title_first():
    encoder = TopicEncoder()
    scorer = SentenceEmbeddingScorer(encoder)
    scorer.fit([TicketDoc("ENG-1", "Upgrade jackson", "security"), TicketDoc("ENG-2", "SSO login loop")])
    scores = scorer.score([QueryDoc(body="please bump it"), QueryDoc(body="nothing relevant")])
    assert encoder.calls[0] == ["Upgrade jackson. security", "SSO login loop"]
    np.testing.assert_allclose(scores, [[1, 0], [0, 0]])


def test_embeddings_find_a_paraphrase_that_shares_no_term():
    tickets = [TicketDoc("ENG-1", "Upgrade jackson-databind"), TicketDoc("ENG-2", "Please bump the CSV export limit")]
    query = QueryDoc(body="can we bump jackson?")
    lexical = LocalRetriever().fit(tickets)
    fused = LocalRetriever(extra_scorers=[(SentenceEmbeddingScorer(TopicEncoder()), 1.0)]).fit(tickets)
    assert fused.scores([query])[0, 0] > lexical.scores([query])[0, 0]
