"""Measuring and calibrating ticket matching on a sandbox world, whose ground truth is known.

    wh = sandbox_warehouse(World.generate(11, "default"), path)   # core tables = ground truth
    report, decisions = match_workspace(wh, world.workspace_id, settings)
    metrics = evaluate(decisions, world)

Calibration (run once, by `benchmarks/matching.py --sandbox --calibrate` on seeds 11, 13 and 17
pooled; the result is copied into the defaults of pmflow/matching_settings.py):

1. Decide every unit of the calibration world. Stages 1 (references) and the not-work rules do
   not depend on thresholds; for every other unit keep the retrieval scores of its best and second
   candidates, s1 and s2.
2. Fit a logistic regression of "the best candidate is the unit's ticket" on (s1, s1 - s2, c1,
   c1 - c2), c the coverage of the unit's opener by the candidate, and the ranking's evidence
   (decide.evidence_features: lexical and semantic similarities and leads, time priors, rank
   agreement), over the work-like units (truth: ticket or new_work): its output is the calibrated
   probability.
3. Choose, on a grid, ``not_work_max_score`` and ``suggest_probability`` maximising the F1 of
   new work, then ``link_probability`` maximising the recall of `linked` subject to its precision
   (references included) reaching ``target_precision`` (0.95).

The acceptance measurement uses seed 7, which calibration never saw.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pmflow.matching.decide import Decision, Evidence, evidence_features
from pmflow.matching_settings import MatchSettings
from warehouse import Warehouse
from warehouse.warehouse import merge

EVIDENCE = tuple(evidence_features(Evidence()))
"""Names of the evidence features (settings calibration_<name>), in the order of _Point.features."""
SLACK_TABLES = ("core.slack_users", "core.slack_channels", "core.slack_messages")


# -- a warehouse holding a world's ground truth ------------------------------------------------------


def sandbox_warehouse(world, path, *, github: bool = True) -> Warehouse:
    """A warehouse whose core tables are exactly what a correct ingestion of `world` stores
    (Slack, Linear and, when the world has it, GitHub), all under the world's workspace id."""
    wh = Warehouse(path)
    tables: dict[str, list[dict]] = {
        "core.slack_users": world.expected_slack_users(),
        "core.slack_channels": world.expected_slack_channels(),
        "core.slack_messages": _with_subtypes(world, world.expected_slack_messages()),
    }
    tables.update(world.expected_linear_rows(world.workspace_id))
    if github and hasattr(world, "expected_github_rows"):
        tables.update(world.expected_github_rows(world.workspace_id))
    with wh.connect() as con:
        con.execute("BEGIN TRANSACTION")
        for table, rows in tables.items():
            columns = {c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = ?",
                [table]).fetchall()}
            if rows and columns:
                merge(con, table, [{k: v for k, v in row.items() if k in columns} for row in rows])
        con.execute("COMMIT")
    return wh


def _with_subtypes(world, rows: list[dict]) -> list[dict]:
    """The expected rows lack the Slack subtype, which ingestion stores as served."""
    from connectors.sandbox.slack_data import format_ts

    with world.lock:
        subtypes = {(channel.id, format_ts(m.ts)): m.subtype for channel, m in world.slack.iter_messages()}
    return [{**row, "subtype": subtypes.get((row["channel_id"], row["ts"]))} for row in rows]


# -- ground truth and metrics ------------------------------------------------------------------------


def slack_truth(world) -> dict[str, dict]:
    """source_id (<channel>:<ts>) -> {"kind": ticket|new_work|not_work, "ticket": identifier|None}."""
    return {f"{channel}:{ts}": value for (channel, ts), value in world.slack_thread_truth.items()}


def github_truth(world) -> dict[str, str | None]:
    if not hasattr(world, "github_truth"):
        return {}
    return {f"{repo}#{number}": ticket for (repo, number), ticket in world.github_truth.items()}


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(decisions: Sequence[Decision], world) -> dict:
    """Precision of `linked`, recall over ticket threads, new-work F1 and more, for Slack units
    (and, separately, GitHub PRs and issues)."""
    truth = slack_truth(world)
    slack = [d for d in decisions if d.unit.is_slack and d.unit.source_id in truth]
    linked = [d for d in slack if d.decision == "linked"]
    right = sum(1 for d in linked if d.ticket.identifier == truth[d.unit.source_id]["ticket"])
    ticket_units = [d for d in slack if truth[d.unit.source_id]["kind"] == "ticket"]
    recalled = sum(1 for d in ticket_units if d.decision == "linked"
                   and d.ticket.identifier == truth[d.unit.source_id]["ticket"])
    offered = sum(1 for d in ticket_units if d.decision in ("linked", "suggested")
                  and d.ticket.identifier == truth[d.unit.source_id]["ticket"])
    new_tp = sum(1 for d in slack if d.decision == "new_work" and truth[d.unit.source_id]["kind"] == "new_work")
    new_fp = sum(1 for d in slack if d.decision == "new_work" and truth[d.unit.source_id]["kind"] != "new_work")
    new_fn = sum(1 for d in slack if d.decision != "new_work" and truth[d.unit.source_id]["kind"] == "new_work")
    new_p, new_r, new_f1 = _f1(new_tp, new_fp, new_fn)
    not_right = sum(1 for d in slack if d.decision == "not_work" and truth[d.unit.source_id]["kind"] == "not_work")
    not_total = sum(1 for d in slack if d.decision == "not_work")
    kinds = {k: sum(1 for d in slack if truth[d.unit.source_id]["kind"] == k) for k in ("ticket", "new_work", "not_work")}
    result = {
        "slack_units": len(slack),
        "truth": kinds,
        "decisions": {k: sum(1 for d in slack if d.decision == k) for k in ("linked", "suggested", "new_work", "not_work")},
        "linked_precision": round(right / len(linked), 4) if linked else 0.0,
        "linked_recall": round(recalled / len(ticket_units), 4) if ticket_units else 0.0,
        "linked_or_suggested_recall": round(offered / len(ticket_units), 4) if ticket_units else 0.0,
        "new_work_precision": round(new_p, 4),
        "new_work_recall": round(new_r, 4),
        "new_work_f1": round(new_f1, 4),
        "not_work_precision": round(not_right / not_total, 4) if not_total else 0.0,
        "by_method": _by_method(linked, truth),
    }
    gh_truth = github_truth(world)
    gh = [d for d in decisions if d.unit.source_id in gh_truth]
    if gh:
        gh_linked = [d for d in gh if d.decision == "linked"]
        gh_right = sum(1 for d in gh_linked if d.ticket.identifier == gh_truth[d.unit.source_id])
        gh_with = [d for d in gh if gh_truth[d.unit.source_id]]
        gh_recalled = sum(1 for d in gh_with if d.decision == "linked" and d.ticket.identifier == gh_truth[d.unit.source_id])
        result["github"] = {
            "units": len(gh),
            "linked_precision": round(gh_right / len(gh_linked), 4) if gh_linked else 0.0,
            "linked_recall": round(gh_recalled / len(gh_with), 4) if gh_with else 0.0,
        }
    return result


def _by_method(linked: Sequence[Decision], truth: dict[str, dict]) -> dict:
    out: dict[str, dict] = {}
    for d in linked:
        entry = out.setdefault(d.method, {"linked": 0, "right": 0})
        entry["linked"] += 1
        entry["right"] += d.ticket.identifier == truth[d.unit.source_id]["ticket"]
    return out


# -- calibration ---------------------------------------------------------------------------------------


@dataclass
class _Point:
    kind: str
    truth_ticket: str | None
    stage: str  # reference | rules | retrieval
    reference_right: bool
    top: str | None
    s1: float
    s2: float
    c1: float = 0.0
    c2: float = 0.0
    evidence: dict[str, float] | None = None

    @property
    def features(self) -> list[float]:
        extra = self.evidence or evidence_features(Evidence())
        return [self.s1, self.s1 - self.s2, self.c1, self.c1 - self.c2, *(extra[name] for name in EVIDENCE)]


def _points(decisions: Sequence[Decision], world) -> list[_Point]:
    truth = slack_truth(world)
    points = []
    for d in decisions:
        t = truth.get(d.unit.source_id)
        if t is None:
            continue
        stage = "reference" if d.method == "reference" else "rules" if d.method == "rules" and d.score == 1.0 else "retrieval"
        cands = d.candidates
        c1, c2 = d.coverage or (0.0, 0.0)
        points.append(_Point(
            t["kind"], t["ticket"], stage,
            stage == "reference" and d.ticket is not None and d.ticket.identifier == t["ticket"],
            cands[0][0] if cands else None, cands[0][1] if cands else 0.0, cands[1][1] if len(cands) > 1 else 0.0,
            c1, c2, evidence_features(d.evidence) if d.evidence is not None else None,
        ))
    return points


def calibrate(runs: Sequence[tuple[Sequence[Decision], object]], *, target_precision: float = 0.95) -> dict:
    """Fitted settings (see the module docstring) and the calibration-set figures they give, from
    (decisions, world) pairs: one world, or several pooled."""
    from sklearn.linear_model import LogisticRegression

    points = [point for decisions, world in runs for point in _points(decisions, world)]
    retrieval = [p for p in points if p.stage == "retrieval"]
    work = [p for p in retrieval if p.kind in ("ticket", "new_work")]
    x = np.array([p.features for p in work])
    y = np.array([p.kind == "ticket" and p.top == p.truth_ticket for p in work])
    model = LogisticRegression(C=100.0, max_iter=1000).fit(x, y)
    intercept, weights = float(model.intercept_[0]), [float(w) for w in model.coef_[0]]

    def prob(p: _Point) -> float:
        z = intercept + sum(w * f for w, f in zip(weights, p.features))
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))

    probs = {id(p): prob(p) for p in retrieval}
    refs = [p for p in points if p.stage == "reference"]
    ref_right = sum(p.reference_right for p in refs)
    n_ticket = sum(1 for p in points if p.kind == "ticket")

    best_new = (-1.0, 0.1, 0.5)
    for not_work_max in np.arange(0.0, 0.31, 0.02):
        for suggest in np.arange(0.05, 0.95, 0.05):
            tp = fp = fn = 0
            for p in points:
                predicted = p.stage == "retrieval" and p.s1 >= not_work_max and probs[id(p)] < suggest
                tp += predicted and p.kind == "new_work"
                fp += predicted and p.kind != "new_work"
                fn += (not predicted) and p.kind == "new_work"
            f1 = _f1(tp, fp, fn)[2]
            if f1 > best_new[0]:
                best_new = (f1, float(not_work_max), float(suggest))
    _, not_work_max, suggest = best_new

    best_link = (-1.0, 0.99, 0.0)
    for link in np.arange(max(suggest, 0.5), 1.0, 0.01):
        chosen = [p for p in retrieval if p.s1 >= not_work_max and probs[id(p)] >= link]
        right = ref_right + sum(1 for p in chosen if p.kind == "ticket" and p.top == p.truth_ticket)
        total = len(refs) + len(chosen)
        precision = right / total if total else 0.0
        recall = right / n_ticket if n_ticket else 0.0
        if precision >= target_precision and recall > best_link[0]:
            best_link = (recall, float(link), precision)
    return {
        "settings": {
            "calibration_intercept": round(intercept, 4),
            "calibration_score": round(weights[0], 4),
            "calibration_margin": round(weights[1], 4),
            "calibration_coverage": round(weights[2], 4),
            "calibration_coverage_margin": round(weights[3], 4),
            **{f"calibration_{name}": round(w, 4) for name, w in zip(EVIDENCE, weights[4:])},
            "link_probability": round(best_link[1], 2),
            "suggest_probability": round(suggest, 2),
            "not_work_max_score": round(not_work_max, 2),
        },
        "calibration_set": {
            "work_like_units": len(work),
            "linked_recall": round(best_link[0], 4),
            "linked_precision": round(best_link[2], 4),
            "new_work_f1": round(best_new[0], 4),
        },
    }


def apply(settings: MatchSettings, fitted: dict) -> MatchSettings:
    return settings.model_copy(update=fitted["settings"])
