"""The time prior of ticket matching: among tickets that say the same thing, the one active when the
conversation started ranks first; a unit or ticket without dates is not penalised."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from pmflow.matching.decide import Ranker, _days
from pmflow.matching.units import Ticket, Unit
from pmflow.matching_settings import MatchSettings

NOW = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)
TEXT = ("Fix timeouts in invoice generator", "The invoicing job hangs for 30s and then dies.")


def ticket(identifier: str, created: datetime | None, ended: datetime | None = None,
           text: tuple[str, str] = TEXT) -> Ticket:
    return Ticket("T1", f"id-{identifier}", identifier, text[0], text[1], "", None, "ENG", "started", None,
                  created, ended)


def unit(started: datetime | None) -> Unit:
    opener = "the invoicing job hangs again and then dies"
    return Unit("T1", "slack_thread", "C1:1", started, opener, opener, None, False, False, 1, None, "C1", "fp")


FILLER = [ticket(f"ENG-{10 + i}", NOW - 30 * DAY, text=(title, body)) for i, (title, body) in enumerate((
    ("Dark mode for settings page", "Customers want a dark theme in settings."),
    ("Rotate TLS certificates", "Cert renewal fails on the edge proxies."),
    ("Flaky CI pipeline", "The build fails one run in ten on the runners."),
    ("CSV export for reports", "Finance asks for an export button in reports."),
))]
ACTIVE = ticket("ENG-1", NOW - 2 * DAY)  # open, filed two days before the thread
DONE_LONG_AGO = ticket("ENG-2", NOW - 200 * DAY, NOW - 190 * DAY)
FILED_LATER = ticket("ENG-3", NOW + 60 * DAY)


def test_the_ticket_active_when_the_thread_starts_ranks_first():
    for order in ([ACTIVE, DONE_LONG_AGO, FILED_LATER], [FILED_LATER, DONE_LONG_AGO, ACTIVE]):
        ranker = Ranker(order + FILLER, MatchSettings())
        (ranking,), _ = ranker.rank([unit(NOW)], 3)
        scores = dict(ranking)
        assert ranking[0][0] == "ENG-1" and set(scores) == {"ENG-1", "ENG-2", "ENG-3"}
        assert scores["ENG-1"] > 2 * max(scores["ENG-2"], scores["ENG-3"])


def test_without_the_prior_or_without_dates_the_same_text_scores_the_same():
    off = Ranker([ACTIVE, DONE_LONG_AGO, FILED_LATER] + FILLER, MatchSettings(time_weight=0))
    (ranking,), _ = off.rank([unit(NOW)], 3)
    assert len({round(s, 6) for _, s in ranking}) == 1
    on = Ranker([ACTIVE, DONE_LONG_AGO, FILED_LATER] + FILLER, MatchSettings())
    (undated,), _ = on.rank([unit(None)], 3)
    assert [round(s, 6) for _, s in undated] == [round(s, 6) for _, s in ranking]


def test_prior_is_one_inside_the_active_period_and_falls_with_the_gap():
    settings = MatchSettings(time_weight=0.5, time_lead_days=3, time_tail_days=14)
    ranker = Ranker([ticket("ENG-1", NOW, NOW + 10 * DAY), ticket("ENG-2", None)] + FILLER, settings)
    at = _days([NOW - 3 * DAY, NOW + 24 * DAY, NOW - 6 * DAY, NOW + 27 * DAY, NOW - 400 * DAY], np.nan)
    prior = ranker.time_prior(at, np.zeros(5, dtype=np.int64))
    assert np.allclose(prior, [1, 1, 0.5, 0.5, 398 ** -0.5])
    assert np.allclose(ranker.time_prior(at, np.ones(5, dtype=np.int64)), 1)  # ENG-2 has no dates
