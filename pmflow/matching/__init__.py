"""Matching core: rank existing tickets for a piece of text, locally (no network, no API key).

    retriever = LocalRetriever().fit([TicketDoc("ENG-1", "Login fails", "...", created_at)])
    retriever.rank([QueryDoc(body=thread_text, created_at=ts)], k=10, before=[ts])
"""
from pmflow.matching.retrieval import (
    LocalRetriever,
    QueryDoc,
    RetrievalWeights,
    Scorer,
    TicketDoc,
)
from pmflow.matching.text import extract_ticket_refs, index_terms, tokenize

__all__ = [
    "LocalRetriever",
    "QueryDoc",
    "RetrievalWeights",
    "Scorer",
    "TicketDoc",
    "extract_ticket_refs",
    "index_terms",
    "tokenize",
]
