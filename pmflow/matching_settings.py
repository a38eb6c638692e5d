"""Configuration of ticket matching, from the environment (prefix PMFLOW_MATCH_).

The decision thresholds were calibrated once on the pooled sandbox ground truth of seeds 11, 13
and 17 (default size) with `benchmarks/matching.py --sandbox --calibrate`; the acceptance figures
are measured on seed 7, which calibration never saw. See pmflow/matching/calibration.py for the
procedure. Calibration set (1,367 work-like Slack units): precision of `linked` 0.950 at recall
0.889, new-work F1 0.863.

| variable | meaning | default |
|---|---|---|
| PMFLOW_MATCH_LINK_PROBABILITY | calibrated probability needed for `linked` | see below |
| PMFLOW_MATCH_SUGGEST_PROBABILITY | below this a work-like unit is `new_work`, above it `suggested` | see below |
| PMFLOW_MATCH_CALIBRATION_* | the logistic calibration of retrieval scores | see below |
| PMFLOW_MATCH_TICKET_WORKSPACE | workspace_id of the Linear rows when it differs from the units' | same |
| PMFLOW_MATCH_WRITEBACK | `off` (default), `dry_run` (list actions as an artifact), `on` | off |
| PMFLOW_MATCH_WRITEBACK_MIN_SCORE | least confidence for any write-back | 0.9 |
| PMFLOW_MATCH_EMBEDDING_MODEL / _CHAT_MODEL | OpenAI models (used when OPENAI_API_KEY is set) | text-embedding-3-small / gpt-4o-mini |
| PMFLOW_MATCH_MAX_LLM_FRACTION | at most this share of a run's units reach the LLM | 0.15 |
"""
from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMFLOW_MATCH_", extra="ignore")

    # -- stage 3 (calibrated; see the module docstring) -----------------------------------------
    calibration_intercept: float = -10.2569
    calibration_score: float = 5.455
    calibration_margin: float = -1.8409
    calibration_coverage: float = -2.8653
    calibration_coverage_margin: float = 0.1447
    """P(best candidate is the unit's ticket) = sigmoid(intercept + score * s1 + margin * (s1 - s2)
    + coverage * c1 + coverage_margin * (c1 - c2) + evidence terms below): s1, s2 the retrieval
    scores of the best and second candidates, c1, c2 the share of the unit's opening text they
    cover (logistic fit)."""
    calibration_unknown: float = -2.6875
    calibration_both_coverages: float = 8.1603
    calibration_title_coverage: float = 1.8693
    calibration_title_coverage_margin: float = 0.2658
    """...+ unknown * the share of the unit's opening words no ticket uses, + title_coverage * t1
    + title_coverage_margin * (t1 - t2) + both_coverages * c1 * t1, t the share of a candidate's
    title the opening names (SemanticScorer.unknown_share, .title_coverage_pairs)."""
    calibration_lexical: float = -5.7885
    calibration_lexical_margin: float = 2.7728
    calibration_semantic: float = 1.5227
    calibration_semantic_margin: float = 7.998
    calibration_prior: float = 5.3881
    calibration_prior_runner_up: float = -3.4044
    calibration_agree_lexical: float = 0.1903
    calibration_agree_semantic: float = 0.8347
    calibration_agree_coverage: float = 0.2251
    """...+ the evidence terms (decide.evidence_features): the best candidate's lexical and semantic
    similarities and their leads over the runner-up's, the time priors of both, and whether the
    lexical, semantic and coverage signals alone also rank it first (rank agreement)."""
    link_probability: float = 0.55
    """Least calibrated probability for `linked`."""
    suggest_probability: float = 0.4
    """Least calibrated probability for `suggested`; below it a work-like unit is `new_work`."""
    not_work_max_score: float = 0.02
    """A unit none of whose candidates reaches this score shares no vocabulary with any ticket:
    `not_work`."""
    candidates: int = 5
    """Candidates kept per unit (stored in marts.ticket_links.candidates)."""

    # -- retrieval ---------------------------------------------------------------------------------
    semantic_weight: float = 12.0
    """Weight of the local semantic scorers (learned from the workspace's own tickets) beside the
    lexical TF-IDF similarity (weight 1); top-1 accuracy on the calibration seeds plateaus from 8 to 32."""
    coverage_weight: float = 0.5
    """The best ``rerank_depth`` candidates are reranked by fused score * (1 + coverage_weight *
    coverage), coverage the idf-weighted share of the unit's opening terms a ticket covers: a ticket
    matching several of its distinct terms beats one matching a single long shared phrase
    (calibration seeds: top-1 of retrieval-decided ticket threads 0.901 -> 0.910 at 0.5; 1 and 2 are
    no better)."""
    rerank_depth: int = 10
    time_weight: float = 0.5
    """Prior on when a ticket is discussed: a candidate's fused score is multiplied by
    (1 + gap) ** -time_weight, gap the days between the unit's start and the ticket's active period
    (0 disables it)."""
    recheck_days: float = 14.0
    """When a ticket is filed, the units decided by retrieval that started at most this many days
    before it (or any time after) are decided again, and rewritten when their decision changes: a
    conversation often comes before its ticket. The time prior has fallen to about a quarter by then."""
    time_lead_days: float = 3.0
    """The active period starts this many days before the ticket is created (talk precedes filing)."""
    time_tail_days: float = 14.0
    """...and ends this many days after it is completed or canceled (open tickets: no end)."""
    boilerplate_share: float = 0.05
    """Description lines found in at least this share of tickets (and 5 of them) are template text
    ("Acceptance criteria:", "- verified on staging") and are not indexed (0 keeps them)."""
    embedding_weight: float = 1.0
    """Weight of OpenAI embeddings in the fusion when OPENAI_API_KEY is set."""
    expand_with_references: bool = True
    """Index the units linked by explicit reference with their ticket (PRs whose branch names the
    ticket, threads citing it): their opener and the lines that carry the reference, the team's
    own words for the ticket's work (the rest of a thread is mostly chatter common to all)."""
    ticket_comments: bool = True
    """Index Linear comments with their ticket's description."""

    # -- workspaces ---------------------------------------------------------------------------------
    ticket_workspace: str | None = None
    """workspace_id of core.linear_issues when it differs from the Slack/GitHub workspace_id."""

    # -- OpenAI -------------------------------------------------------------------------------------
    embedding_model: str = "text-embedding-3-small"
    embedding_dimensions: int | None = None
    embedding_batch: int = 100
    """Texts per embeddings request."""
    chat_model: str = "gpt-4o-mini"
    max_llm_fraction: float = 0.15
    """Hard cap: at most this share of the units decided in a run are sent to the LLM."""
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 4
    """Retries of 429 / 5xx / timeouts by the openai client itself (exponential backoff)."""
    max_prompt_chars: int = 6000
    """Unit text sent to the LLM is truncated to this many characters."""

    # -- write-back ---------------------------------------------------------------------------------
    writeback: Literal["off", "dry_run", "on"] = "off"
    writeback_min_score: float = 0.9
    """Least decision score for any write-back: a comment on a `linked` ticket (references score 1)
    or a triage ticket for `new_work` (its score is 1 - P(best candidate is its ticket))."""
    writeback_since_days: float = 14.0
    """Only units that started within this many days are written back (enabling write-back on
    a long history does not comment on every old ticket)."""
    triage_team: str | None = None
    """Linear team key for triage tickets; default: the team of the unit's best candidate."""
    max_actions_per_run: int = 50
    """Safety valve: at most this many external write-back calls per run."""


class OpenAIModelSettings(BaseSettings):
    """OPENAI_API_KEY / OPENAI_BASE_URL as the openai client reads them (model calls only)."""

    model_config = SettingsConfigDict(env_prefix="OPENAI_", extra="ignore")

    api_key: SecretStr | None = None
    base_url: str | None = None


def match_settings() -> MatchSettings:
    return MatchSettings()


def openai_model_settings() -> OpenAIModelSettings:
    return OpenAIModelSettings()
