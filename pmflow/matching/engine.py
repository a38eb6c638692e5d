"""One matching run over one workspace, without Prefect: read, decide, write.

    report = match_workspace(Warehouse(), "T123", match_settings(), openai_client=None)

The warehouse lock is held only to read (units, tickets) and to write (decisions), never during
model calls. Only units that are new or whose text changed are decided (see units.py), those
whose reference to a ticket or pull request resolves only now (the ticket or PR was ingested
after them), and, when tickets are filed, the recent units decided by retrieval (a conversation
often comes before its ticket; only changed decisions are rewritten); their decisions replace
the previous ones and everything else is left as it is.
"""
from __future__ import annotations

import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pmflow.matching.adjudicate import Adjudicator
from pmflow.matching.classify import classify
from pmflow.matching.decide import Decision, Ranker, citing_lines, decide, explicit_reference, work_item_tickets
from pmflow.matching.openai_embeddings import Embedder, EmbeddingScorer
from pmflow.matching.store import write_decisions
from pmflow.matching.units import (
    Ticket,
    Unit,
    build_match_models,
    github_units,
    load_tickets,
    new_tickets,
    pending_units,
    plain_text,
    reference_texts,
    unit_openers,
    units_citing_something,
    units_to_recheck,
    workspaces_with_units,
)
from pmflow.matching_settings import MatchSettings
from warehouse import Warehouse

log = logging.getLogger(__name__)

WRITE_CHUNK = 20_000
EXPANSION_CHARS = 1000


@dataclass
class MatchReport:
    workspace_id: str
    ticket_workspace: str
    units: int = 0
    tickets: int = 0
    decisions: Counter = field(default_factory=Counter)
    methods: Counter = field(default_factory=Counter)
    llm_calls: int = 0
    llm_eligible: int = 0
    embedding_requests: int = 0
    embedding_texts: int = 0
    embedding_cache_hits: int = 0
    skipped: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "workspace_id": self.workspace_id, "ticket_workspace": self.ticket_workspace, "units": self.units,
            "tickets": self.tickets, "decisions": dict(self.decisions), "methods": dict(self.methods),
            "llm_calls": self.llm_calls, "llm_eligible": self.llm_eligible,
            "embedding_requests": self.embedding_requests, "embedding_texts": self.embedding_texts,
            "embedding_cache_hits": self.embedding_cache_hits, "skipped": self.skipped,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def matching_workspaces(wh: Warehouse) -> list[str]:
    with wh.connect() as con:
        build_match_models(con)
        return workspaces_with_units(con)


def match_workspace(
    wh: Warehouse,
    workspace_id: str,
    settings: MatchSettings,
    *,
    openai_client: object | None = None,
    run_id: str | None = None,
    all_units: bool = False,
) -> tuple[MatchReport, list[Decision]]:
    """Decides every new or changed unit of the workspace, every unit whose reference resolves only
    now, and the recent retrieval decisions when tickets were filed, and stores the decisions that
    changed."""
    ticket_workspace = settings.ticket_workspace or workspace_id
    report = MatchReport(workspace_id, ticket_workspace)
    clock = _Clock(report.seconds)

    with clock("read"), wh.connect() as con:
        build_match_models(con)
        units = pending_units(con, workspace_id, all_units=all_units)
        fresh = new_tickets(con, workspace_id, ticket_workspace)
        wanted = bool(units or fresh)  # only what arrived can resolve a reference or change a ranking
        citing = units_citing_something(con, workspace_id) if wanted and not all_units else []
        recheck = units_to_recheck(con, workspace_id, _recheck_since(fresh, settings.recheck_days)) \
            if fresh and not all_units else []
        tickets = load_tickets(con, ticket_workspace) if wanted else []
        earlier_references = reference_texts(con, workspace_id) if wanted and not all_units else []
        work_item_units = github_units(con, workspace_id) if wanted else []
        openers = unit_openers(con, workspace_id) if wanted else []
    if not wanted:
        return report, []
    if not tickets:
        report.units = len(units)
        if units:
            report.skipped = (
                f"no tickets in core.linear_issues for workspace {ticket_workspace!r}: units left undecided "
                "(ingest Linear first, or set PMFLOW_MATCH_TICKET_WORKSPACE to the workspace_id of the Linear rows)"
            )
            log.warning(report.skipped)
        return report, []

    with clock("references_and_rules"):
        by_identifier = {t.identifier: t for t in tickets}
        team_keys = frozenset(t.team_key for t in tickets if t.team_key)
        work_items = work_item_tickets(work_item_units, by_identifier, team_keys)
        resolved = [u for u in citing if explicit_reference(u, by_identifier, team_keys, work_items) is not None]
        previous = {unit.source_id: decided for unit, decided in recheck}
        units += list({u.source_id: u for u in resolved + [unit for unit, _ in recheck]}.values())
        report.units, report.tickets = len(units), len(tickets)
        seen = (workspace_id, [identifier for identifier, _ in fresh])
        if not units:
            with wh.connect() as con:
                write_decisions(con, [], decided_at=datetime.now(UTC), run_id=run_id, seen_tickets=seen)
            return report, []

        decisions: dict[int, Decision] = {}
        for index, unit in enumerate(units):
            linked = explicit_reference(unit, by_identifier, team_keys, work_items)
            if linked is not None:
                decisions[index] = linked
        for index, unit in enumerate(units):
            if index not in decisions:
                verdict = classify(unit)
                if verdict.not_work:  # decided by the rules: no need to rank it
                    decisions[index] = Decision(unit, "not_work", None, "rules", 1.0, verdict.rule)
        rest = [i for i in range(len(units)) if i not in decisions]

    embedder = scorer = None
    if openai_client is not None and settings.embedding_weight > 0:
        embedder = Embedder(openai_client, wh, workspace_id, settings.embedding_model,
                            settings.embedding_dimensions, settings.embedding_batch, run_id)
        scorer = EmbeddingScorer(embedder.embed)
    method = "fused" if scorer is not None else "bm25"

    with clock("fit"):
        expansions: dict[str, list[str]] = {}
        if settings.expand_with_references:
            texts = [(d.ticket.identifier, d.unit.opener, d.unit.text) for d in decisions.values()
                     if d.method == "reference"]
            texts += earlier_references
            for identifier, opener, text in texts:
                expansions.setdefault(identifier, []).append(plain_text(citing_lines(opener, text))[:EXPANSION_CHARS])
        ranker = Ranker(tickets, settings, scorer, expansions, openers)
    with clock("rank"):
        rankings, evidence = ranker.rank([units[i] for i in rest], settings.candidates)
    with clock("decide"):
        for index, ranking, unit_evidence in zip(rest, rankings, evidence):
            decisions[index] = decide(units[index], ranking, by_identifier, settings, method, rules=False,
                                      evidence=unit_evidence)
        for index in [i for i, d in decisions.items() if previous.get(d.unit.source_id) == _outcome(d)]:
            del decisions[index]  # rechecked, and decided as before: its row stays as it is

    usage_rows: list[dict] = []
    if openai_client is not None and settings.max_llm_fraction > 0:
        with clock("adjudicate"):
            usage_rows = _adjudicate(decisions, units, by_identifier, settings, openai_client, workspace_id,
                                     run_id, report)

    ordered = [decisions[i] for i in sorted(decisions)]
    report.units = len(ordered)
    with clock("write"):
        decided_at = datetime.now(UTC)
        # the tickets seen are recorded with the last chunk: a run that dies before it rechecks again
        starts = range(0, max(len(ordered), 1), WRITE_CHUNK)
        for start in starts:
            chunk = ordered[start : start + WRITE_CHUNK]
            with wh.connect() as con:
                write_decisions(con, chunk, decided_at=decided_at, run_id=run_id,
                                usage_rows=usage_rows if start == 0 else [],
                                seen_tickets=seen if start == starts[-1] else None)
    report.decisions = Counter(d.decision for d in ordered)
    report.methods = Counter(d.method for d in ordered)
    if embedder is not None:
        report.embedding_requests = embedder.stats.requests
        report.embedding_texts = embedder.stats.texts_sent
        report.embedding_cache_hits = embedder.stats.cache_hits
    return report, ordered


def _outcome(decision: Decision) -> tuple[str, str | None]:
    return decision.decision, decision.ticket.identifier if decision.ticket else None


def _recheck_since(fresh: list[tuple[str, datetime | None]], days: float) -> datetime | None:
    """Units started from ``days`` before the earliest new ticket was filed are rechecked; all
    (None) when a new ticket's filing time is unknown."""
    created = [moment for _, moment in fresh]
    if any(moment is None for moment in created):
        return None
    return min(created) - timedelta(days=days)


def _adjudicate(decisions: dict[int, Decision], units: list[Unit], tickets: dict[str, Ticket],
                settings: MatchSettings, client: object, workspace_id: str, run_id: str | None,
                report: MatchReport) -> list[dict]:
    """The ambiguous band (suggested), most probable first, capped at max_llm_fraction of the units."""
    band = sorted((i for i, d in decisions.items() if d.decision == "suggested"),
                  key=lambda i: -(decisions[i].probability or 0))
    report.llm_eligible = len(band)
    cap = math.floor(settings.max_llm_fraction * len(units))
    adjudicator = Adjudicator(client, settings.chat_model, workspace_id, run_id, settings.max_prompt_chars)
    for index in band[:cap]:
        try:
            decisions[index] = adjudicator.adjudicate(decisions[index], tickets)
        except Exception as exc:  # noqa: BLE001 - the model is optional: keep the calibrated decisions
            if not _is_openai_error(exc):
                raise
            log.warning("LLM adjudication stopped after %d calls (%s); the remaining units keep their "
                        "calibrated decision", adjudicator.calls, type(exc).__name__)
            break
    report.llm_calls = adjudicator.calls
    return adjudicator.usage_rows


def _is_openai_error(exc: Exception) -> bool:
    try:
        import openai
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, openai.APIError)


class _Clock:
    """Wall seconds per stage into `seconds`, and CPU seconds (this process) under "cpu"."""

    def __init__(self, seconds: dict[str, float]):
        self.seconds = seconds

    def __call__(self, name: str):
        clock = self

        class _Timer:
            def __enter__(self):
                self.start, self.cpu = time.perf_counter(), time.process_time()

            def __exit__(self, *exc):
                clock.seconds[name] = clock.seconds.get(name, 0.0) + time.perf_counter() - self.start
                clock.seconds["cpu"] = clock.seconds.get("cpu", 0.0) + time.process_time() - self.cpu

        return _Timer()
