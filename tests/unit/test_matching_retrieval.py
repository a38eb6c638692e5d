from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pmflow.matching import LocalRetriever, QueryDoc, RetrievalWeights, TicketDoc

TICKETS = [
    TicketDoc(
        "ENG-1",
        "Login page redirects in a loop after SSO",
        "Users signing in with Okta SSO get redirected back to /login forever.",
        datetime(2024, 1, 1, tzinfo=UTC),
    ),
    TicketDoc(
        "ENG-2",
        "CSV export times out for large workspaces",
        "The export job exceeds the 30s gateway timeout when a workspace has 50k rows.",
        datetime(2024, 2, 1, tzinfo=UTC),
    ),
    TicketDoc(
        "ENG-3",
        "Dark mode colours wrong in settings panel",
        "Toggle labels are unreadable in dark mode.",
        datetime(2024, 3, 1, tzinfo=UTC),
    ),
    TicketDoc(
        "ENG-4",
        "NullPointerException in BillingService.computeInvoice",
        "java.lang.NullPointerException at com.acme.billing.BillingService.computeInvoice(BillingService.java:88)",
        datetime(2024, 4, 1, tzinfo=UTC),
    ),
    TicketDoc("ENG-5", "Upgrade jackson-databind to 2.15", "CVE fix.", datetime(2024, 5, 1, tzinfo=UTC)),
]
LATER = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def retriever():
    return LocalRetriever().fit(TICKETS)


def top_ids(ranking):
    return [ticket_id for ticket_id, _ in ranking]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (QueryDoc(body="anyone else stuck in a redirect loop when logging in through SSO?", created_at=LATER), "ENG-1"),
        (QueryDoc(body="exporting to csv keeps timing out on our biggest workspace", created_at=LATER), "ENG-2"),
        (QueryDoc(title="Fix NPE in computeInvoice when a customer has no plan", created_at=LATER), "ENG-4"),
        (QueryDoc(title="bump jackson databind", body="security upgrade"), "ENG-5"),
    ],
)
def test_rank_finds_the_known_ticket(retriever, query, expected):
    [ranking] = retriever.rank([query], k=3)
    assert top_ids(ranking)[0] == expected


def test_rank_is_batched_best_first_and_bounded(retriever):
    queries = [QueryDoc(body="dark mode settings colours")] * 3 + [QueryDoc(body="nothing in common here")]
    rankings = retriever.rank(queries, k=2)
    assert len(rankings) == 4
    assert top_ids(rankings[0]) == ["ENG-3"]
    assert rankings[0] == rankings[1] == rankings[2]
    assert rankings[3] == []
    scores = [score for ranking in rankings for _, score in ranking]
    assert all(0 < score <= 1 for score in scores)


def test_scores_are_cosine_like_and_follow_fit_order(retriever):
    query = QueryDoc(title=TICKETS[2].title, body=TICKETS[2].body)
    scores = retriever.scores([query])
    assert scores.shape == (1, len(TICKETS))
    assert int(np.argmax(scores[0])) == 2
    assert scores[0, 2] == pytest.approx(1.0, abs=1e-5)  # no dates: no discount


def test_before_filter_single_and_per_query(retriever):
    query = QueryDoc(title="NullPointerException in computeInvoice", created_at=LATER)
    assert "ENG-4" not in top_ids(retriever.rank([query], before=datetime(2024, 3, 15, tzinfo=UTC))[0])
    kept, dropped = retriever.rank([query, query], before=[None, datetime(2024, 4, 1, tzinfo=UTC)])
    assert top_ids(kept)[0] == "ENG-4"
    assert "ENG-4" not in top_ids(dropped)  # strictly before: created at the limit is excluded
    scores = retriever.scores([query], before=[datetime(2024, 2, 15)])  # naive datetimes are UTC
    assert np.count_nonzero(scores[0, 2:]) == 0


def test_before_requires_one_limit_per_query(retriever):
    with pytest.raises(ValueError):
        retriever.rank([QueryDoc(body="x")], before=[None, None])


def test_undated_tickets_pass_the_before_filter():
    tickets = [TicketDoc("OLD", "disk quota exceeded"), TicketDoc("NEW", "disk quota", "", LATER)]
    [ranking] = LocalRetriever().fit(tickets).rank([QueryDoc(body="disk quota exceeded")], before=LATER)
    assert top_ids(ranking) == ["OLD"]


def test_recency_prior_prefers_the_recent_twin():
    text = "Webhook retries flood the queue"
    tickets = [
        TicketDoc("OLD", text, created_at=datetime(2022, 1, 1, tzinfo=UTC)),
        TicketDoc("RECENT", text, created_at=datetime(2024, 5, 1, tzinfo=UTC)),
    ]
    query = QueryDoc(body="webhook retries are flooding the queue again", created_at=LATER)
    [ranking] = LocalRetriever().fit(tickets).rank([query])
    assert top_ids(ranking) == ["RECENT", "OLD"]
    [flat] = LocalRetriever(RetrievalWeights(recency=0)).fit(tickets).rank([query])
    assert flat[0][1] == pytest.approx(flat[1][1])


def test_rank_matches_a_full_sort_of_scores():
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(300)]

    def text(n):
        return " ".join(rng.choice(words, n))

    start = datetime(2024, 1, 1, tzinfo=UTC)
    tickets = [TicketDoc(f"T-{i}", text(5), text(30), start + timedelta(days=int(rng.integers(400)))) for i in range(250)]
    queries = [QueryDoc(body=text(20), created_at=start + timedelta(days=500)) for _ in range(40)]
    before = [start + timedelta(days=int(day)) for day in rng.integers(0, 400, len(queries))]
    retriever = LocalRetriever().fit(tickets)
    rankings = retriever.rank(queries, k=7, before=before)
    scores = retriever.scores(queries, before=before)
    for ranking, row in zip(rankings, scores):
        expected = [tickets[i].id for i in np.argsort(-row, kind="stable")[:7] if row[i] > 0]
        assert top_ids(ranking) == expected
        assert [score for _, score in ranking] == pytest.approx(sorted(row[row > 0], reverse=True)[:7])


def test_k_larger_than_the_corpus(retriever):
    [ranking] = retriever.rank([QueryDoc(body="login export dark invoice jackson")], k=50)
    assert sorted(top_ids(ranking)) == [ticket.id for ticket in TICKETS]


class FavouriteScorer:
    """A stand-in for an embedding scorer: similarity 1 with one ticket, 0 with the rest."""

    def __init__(self, favourite):
        self.favourite = favourite

    def fit(self, tickets):
        self.columns = np.array([ticket.id == self.favourite for ticket in tickets], dtype=np.float32)

    def score(self, queries):
        return np.tile(self.columns, (len(queries), 1))


def test_extra_scorer_joins_the_fusion():
    query = QueryDoc(body="csv export timeout")
    plain = LocalRetriever().fit(TICKETS)
    fused = LocalRetriever(extra_scorers=[(FavouriteScorer("ENG-3"), 4.0)]).fit(TICKETS)
    assert top_ids(plain.rank([query])[0])[0] == "ENG-2"
    assert top_ids(fused.rank([query])[0])[0] == "ENG-3"
    assert fused.scores([query]).max() <= 1.0


def test_fit_needs_tickets_with_text():
    with pytest.raises(ValueError):
        LocalRetriever().fit([])
    with pytest.raises(ValueError):
        LocalRetriever().fit([TicketDoc("ENG-1", "", "")])


def test_no_queries_and_bad_k(retriever):
    assert retriever.rank([]) == []
    assert retriever.scores([]).shape == (0, len(TICKETS))
    with pytest.raises(ValueError):
        retriever.rank([QueryDoc(body="login")], k=0)
