"""Ranking refinements of ticket matching: template boilerplate is not indexed, the head of a ranking
is reranked by how much of the unit's opener a ticket covers, and each ranking carries the evidence
the calibrated probability reads (per-signal similarities, time priors, rank agreement)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pmflow.matching.decide import Evidence, Ranker, decide, evidence_features, link_probability, ticket_doc
from pmflow.matching.text import boilerplate_lines, without_lines
from pmflow.matching.units import Ticket, Unit
from pmflow.matching_settings import MatchSettings

NOW = datetime(2026, 11, 1, tzinfo=UTC)
TEMPLATE = "Acceptance criteria:\n- reproduced in a test\n- verified on staging"


def ticket(identifier: str, title: str, body: str) -> Ticket:
    return Ticket("T1", f"id-{identifier}", identifier, title, body, "", None, "ENG", "started", None, NOW, None)


def unit(opener: str) -> Unit:
    return Unit("T1", "slack_thread", "C1:1", NOW, opener, opener, None, False, False, 1, None, "C1", "fp")


COMPONENTS = ["invoice generator", "search indexer", "export API", "checkout page", "audit log writer",
              "permissions model", "webhook retry queue", "onboarding wizard", "CI pipeline", "log shipping"]
TEMPLATED = [ticket(f"ENG-{i}", f"Memory leak in {name}", f"The {name} grows until it is killed.\n\n{TEMPLATE}")
             for i, name in enumerate(COMPONENTS, start=10)]
STAGING = ticket("OPS-1", "Staging environment: disk filling up", "")


def test_boilerplate_lines_are_the_template_lines_many_tickets_share():
    lines = boilerplate_lines([t.description for t in TEMPLATED + [STAGING]], min_share=0.05)
    assert lines == {"acceptance criteria:", "- reproduced in a test", "- verified on staging"}
    assert boilerplate_lines([t.description for t in TEMPLATED[:4]], min_share=0.05) == frozenset()  # < 5 tickets
    stripped = without_lines(TEMPLATED[0].description, lines)
    assert "staging" not in stripped and "grows until it is killed" in stripped
    assert "staging" not in ticket_doc(TEMPLATED[0], boilerplate=lines).body


def test_a_word_of_the_template_does_not_pull_every_templated_ticket():
    """'staging' is in every templated description; only the staging ticket is about staging."""
    query = [unit("staging keeps filling the disk again")]
    (ranking,), (evidence,) = Ranker(TEMPLATED + [STAGING], MatchSettings()).rank(query, 5)
    assert [t for t, _ in ranking] == ["OPS-1"]
    assert evidence.c1 > 0.5 and evidence.prior1 == 1.0
    (kept,), _ = Ranker(TEMPLATED + [STAGING], MatchSettings(boilerplate_share=0)).rank(query, 5)
    assert kept[0][0] == "OPS-1" and len(kept) == 5  # with the template indexed, every ticket matches


def test_the_head_is_reranked_by_coverage_of_the_opener():
    """score = fused * (1 + coverage_weight * coverage): the ticket covering the opener's distinct
    terms gains on the one sharing only part of them."""
    tickets = [
        ticket("ENG-1", "Upgrade to Python 3.12 for auth token refresh", "We need to move to Python 3.12."),
        ticket("OPS-2", "Staging environment: upgrade Python", "The staging hosts run an old Python."),
    ] + TEMPLATED
    query = [unit("upgrade python on staging")]
    (plain,), _ = Ranker(tickets, MatchSettings(coverage_weight=0)).rank(query, 5)
    (ranking,), (evidence,) = Ranker(tickets, MatchSettings(coverage_weight=0.5)).rank(query, 5)
    assert [t for t, _ in ranking[:2]] == ["OPS-2", "ENG-1"]
    assert evidence.c1 == pytest.approx(1.0) and 0 < evidence.c2 < evidence.c1
    plain_scores = dict(plain)
    assert ranking[0][1] == pytest.approx(plain_scores["OPS-2"] * (1 + 0.5 * evidence.c1), rel=1e-5)
    assert ranking[1][1] == pytest.approx(plain_scores["ENG-1"] * (1 + 0.5 * evidence.c2), rel=1e-5)
    assert evidence.agree_lexical == evidence.agree_semantic == evidence.agree_coverage == 1.0


def test_evidence_enters_the_calibrated_probability():
    settings = MatchSettings(calibration_intercept=0, calibration_score=0, calibration_margin=0,
                             calibration_coverage=0, calibration_coverage_margin=0, calibration_lexical=0,
                             calibration_lexical_margin=0, calibration_semantic=0, calibration_semantic_margin=0,
                             calibration_prior=0, calibration_prior_runner_up=0, calibration_agree_lexical=2.0,
                             calibration_agree_semantic=0, calibration_agree_coverage=0)
    agreeing, disagreeing = Evidence(agree_lexical=1.0), Evidence(agree_lexical=0.0)
    assert link_probability(0.5, 0.4, (0, 0), settings, agreeing) == pytest.approx(1 / (1 + 2.718281828 ** -2), 1e-6)
    assert link_probability(0.5, 0.4, (0, 0), settings, disagreeing) == pytest.approx(0.5)
    assert link_probability(0.5, 0.4, (0, 0), settings) == pytest.approx(0.5)  # no evidence: its terms are 0
    assert set(evidence_features(agreeing)) == {
        name.removeprefix("calibration_") for name in MatchSettings.model_fields
        if name.startswith("calibration_") and name.removeprefix("calibration_") not in
        ("intercept", "score", "margin", "coverage", "coverage_margin")}
    tickets = {t.identifier: t for t in TEMPLATED}
    decision = decide(unit("the invoice generator leaks memory"), [("ENG-10", 0.9), ("ENG-11", 0.2)], tickets,
                      MatchSettings(), "fused", evidence=Evidence(c1=0.9, c2=0.1, agree_lexical=1.0))
    assert decision.evidence is not None and decision.coverage == (0.9, 0.1)


def test_title_coverage_leaves_another_components_words_uncovered():
    """The same problem in another component covers the unit's problem words but not its component:
    the converse coverage (of the ticket's title by the opener) tells them apart."""
    ranker = Ranker(TEMPLATED, MatchSettings())
    (ranking,), (evidence,) = ranker.rank([unit("the invoice generator leaks memory")], 5)
    assert ranking[0][0] == "ENG-10"
    assert evidence.t1 == pytest.approx(1.0) and evidence.t2 < 0.7


def test_words_no_ticket_uses_are_the_unknown_share():
    semantic = Ranker(TEMPLATED, MatchSettings()).semantic
    openers = ["the invoice generator leaks memory", "the frobnicator leaks memory", "🙂"]
    known, unknown, empty = semantic.unknown_share(openers, semantic.opener_counts(openers))
    assert known == 0.0 and 0.3 < unknown < 1.0 and empty == 0.0


def test_stock_phrases_of_the_openers_weigh_less_in_coverage():
    """'someone check' opens every thread whatever its subject: once the openers are known, a ticket
    sharing only those words covers less of an opener, the one naming its component more."""
    backups = ticket("OPS-9", "Someone should check the backups", "check the backups weekly")
    ranker = Ranker(TEMPLATED + [backups], MatchSettings())
    opener = ["can someone check the invoice generator"]
    (before,) = ranker.semantic.coverage(opener, [["OPS-9", "ENG-10"]])
    ranker.semantic.fit_openers([f"can someone check the {name}?" for name in COMPONENTS] + ["the backups failed"])
    (after,) = ranker.semantic.coverage(opener, [["OPS-9", "ENG-10"]])
    assert after[0] < before[0] and after[1] > before[1]
