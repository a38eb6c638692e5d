"""Monthly AI budgets from configuration, and the Slack alert sent once per threshold per period.

The budget file (PMFLOW_BUDGETS, default config/budgets.yaml):

    alerts:
      channel: "#ai-costs"          # Slack channel (id or name) for alerts; a budget may override it
    thresholds:                     # fractions of the monthly limit; defaults 0.8 and 1.0
      soft: 0.8
      hard: 1.0
    budgets:
      - name: total                 # unique per workspace
        monthly_limit_usd: 500
        workspace_id: T0001         # optional; default PMFLOW_WORKSPACE_ID
      - name: eng-agents
        project: proj_eng           # glob on core.llm_usage.project (* and ?); optional
        monthly_limit_usd: 120
        soft: 0.7                   # per-budget thresholds override the defaults
      - name: reasoning-models
        model: "o3*"                # glob on the model name; optional
        monthly_limit_usd: 50
        channel: "#eng-leads"

A budget with neither project nor model covers the whole workspace. The file is the truth: every
costs run replaces ops.cost_budgets with it. marts.budget_status (SQL) computes spend, forecast
and which thresholds are crossed; `send_budget_alerts` posts one Slack message per (workspace,
budget, period, threshold) the first time actual spend or the forecast crosses it.

Exactly-once posting: the alert is first claimed in ops.cost_alerts (status 'sending', committed),
then posted, then marked 'sent' with the Slack ts. A retry finds the claim and does not post again.
If Slack answers with an error the claim is released so the next run tries again; if the process
dies between claim and answer, the claim stays 'sending' and is reported, never re-posted (at most
once: a duplicate alert is worse than a missing one that the budget_status mart still shows).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import yaml

from warehouse import Warehouse
from warehouse.warehouse import merge


class BudgetConfigError(ValueError):
    """The budget file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Budget:
    workspace_id: str
    name: str
    limit_usd: float
    soft: float = 0.8
    hard: float = 1.0
    project: str | None = None
    model: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class BudgetConfig:
    budgets: tuple[Budget, ...] = ()
    channel: str | None = None


def glob_to_like(pattern: str | None) -> str | None:
    """A glob (* and ?) as a SQL LIKE pattern with backslash as the escape character."""
    if pattern is None:
        return None
    out = []
    for char in pattern:
        if char in "\\%_":
            out.append("\\" + char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


def load_budgets(path: str | Path | None, *, default_workspace: str) -> BudgetConfig:
    if path is None:
        return BudgetConfig()
    path = Path(path)
    if not path.exists():
        raise BudgetConfigError(f"budget file {path} does not exist (PMFLOW_BUDGETS)")
    return parse_budgets(yaml.safe_load(path.read_text()) or {}, default_workspace=default_workspace, where=str(path))


def parse_budgets(document: Any, *, default_workspace: str, where: str = "budgets") -> BudgetConfig:
    if not isinstance(document, Mapping):
        raise BudgetConfigError(f"{where}: expected a mapping with 'budgets'")
    alerts = document.get("alerts") or {}
    thresholds = document.get("thresholds") or {}
    if not isinstance(alerts, Mapping) or not isinstance(thresholds, Mapping):
        raise BudgetConfigError(f"{where}: 'alerts' and 'thresholds' must be mappings")
    default_soft = _fraction(thresholds.get("soft", 0.8), f"{where} thresholds.soft")
    default_hard = _fraction(thresholds.get("hard", 1.0), f"{where} thresholds.hard")
    entries = document.get("budgets") or []
    if not isinstance(entries, list):
        raise BudgetConfigError(f"{where}: 'budgets' must be a list")
    allowed = {"name", "monthly_limit_usd", "workspace_id", "project", "model", "soft", "hard", "channel"}
    budgets, seen = [], set()
    for i, entry in enumerate(entries):
        at = f"{where} budget {i + 1}"
        if not isinstance(entry, Mapping):
            raise BudgetConfigError(f"{at}: expected a mapping")
        unknown = set(entry) - allowed
        if unknown:
            raise BudgetConfigError(f"{at}: unknown fields {sorted(unknown)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BudgetConfigError(f"{at}: 'name' is required")
        try:
            limit = float(entry["monthly_limit_usd"])
        except (KeyError, TypeError, ValueError):
            raise BudgetConfigError(f"{at} ({name}): 'monthly_limit_usd' must be a number") from None
        if limit <= 0:
            raise BudgetConfigError(f"{at} ({name}): 'monthly_limit_usd' must be positive")
        soft = _fraction(entry.get("soft", default_soft), f"{at} soft")
        hard = _fraction(entry.get("hard", default_hard), f"{at} hard")
        if soft > hard:
            raise BudgetConfigError(f"{at} ({name}): soft threshold {soft} is above hard {hard}")
        workspace = str(entry.get("workspace_id") or default_workspace)
        if (workspace, name) in seen:
            raise BudgetConfigError(f"{at}: budget name {name!r} appears twice in workspace {workspace}")
        seen.add((workspace, name))
        budgets.append(Budget(workspace_id=workspace, name=name.strip(), limit_usd=limit, soft=soft, hard=hard,
                              project=_opt(entry.get("project")), model=_opt(entry.get("model")),
                              channel=_opt(entry.get("channel"))))
    return BudgetConfig(budgets=tuple(budgets), channel=_opt(alerts.get("channel")))


def _fraction(value: Any, where: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise BudgetConfigError(f"{where}: must be a number such as 0.8") from None
    if not 0 < value <= 10:
        raise BudgetConfigError(f"{where}: {value} is not a fraction of the limit (e.g. 0.8 for 80%)")
    return value


def _opt(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value).strip()


# -- warehouse sync --------------------------------------------------------------------------------


def sync_budget_config(wh: Warehouse, config: BudgetConfig, *, as_of: date, drift_threshold: float,
                       workspaces: list[str] | None = None) -> dict:
    """Replaces ops.cost_budgets with the file and upserts ops.cost_settings for every workspace that
    has usage, billed costs or a budget. One transaction."""
    rows = [{
        "workspace_id": b.workspace_id, "budget": b.name, "project_pattern": glob_to_like(b.project),
        "model_pattern": glob_to_like(b.model), "limit_usd": b.limit_usd, "soft_threshold": b.soft,
        "hard_threshold": b.hard, "channel": b.channel or config.channel,
    } for b in config.budgets]
    with wh.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM ops.cost_budgets")
            if rows:
                con.register("_pmflow_budgets", pa.Table.from_pylist(rows))
                try:
                    con.execute("INSERT INTO ops.cost_budgets BY NAME SELECT *, now() AS loaded_at FROM _pmflow_budgets")
                finally:
                    con.unregister("_pmflow_budgets")
            found = {r[0] for r in con.execute(
                "SELECT workspace_id FROM core.llm_usage UNION SELECT workspace_id FROM core.openai_costs "
                "UNION SELECT workspace_id FROM ops.cost_budgets").fetchall()}
            found |= set(workspaces or [])
            settings = [{"workspace_id": w, "as_of": as_of, "drift_threshold": drift_threshold} for w in sorted(found)]
            if settings:
                con.register("_pmflow_cost_settings", pa.Table.from_pylist(settings))
                try:
                    con.execute("DELETE FROM ops.cost_settings WHERE workspace_id IN (SELECT workspace_id FROM _pmflow_cost_settings)")
                    con.execute("INSERT INTO ops.cost_settings BY NAME SELECT *, now() AS updated_at FROM _pmflow_cost_settings")
                finally:
                    con.unregister("_pmflow_cost_settings")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return {"budgets": len(rows), "workspaces": len(settings)}


# -- alerts ----------------------------------------------------------------------------------------


class ChatPoster(Protocol):
    def chat_postMessage(self, *, channel: str, text: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Alert:
    workspace_id: str
    budget: str
    period: str
    threshold: str  # soft | hard
    trigger: str  # actual | forecast
    fraction: float
    spent_usd: float
    forecast_usd: float
    limit_usd: float
    channel: str | None

    def text(self) -> str:
        what = "has spent" if self.trigger == "actual" else "is forecast to spend"
        amount = self.spent_usd if self.trigger == "actual" else self.forecast_usd
        return (
            f":warning: AI budget *{self.budget}* ({self.workspace_id}, {self.period}) {what} "
            f"${amount:,.2f} of ${self.limit_usd:,.2f}: past its {self.threshold} threshold "
            f"({self.fraction:.0%}). Month to date ${self.spent_usd:,.2f}, end-of-month forecast "
            f"${self.forecast_usd:,.2f}."
        )


DUE_SQL = """
WITH thresholds AS (
    SELECT workspace_id, budget, period, as_of, 'soft' AS threshold, soft_crossed_by AS crossed_by,
           soft_threshold AS fraction, spent_usd, forecast_usd, limit_usd
    FROM marts.budget_status
    UNION ALL
    SELECT workspace_id, budget, period, as_of, 'hard', hard_crossed_by, hard_threshold, spent_usd,
           forecast_usd, limit_usd
    FROM marts.budget_status
)
SELECT t.workspace_id, t.budget, t.period, t.threshold, t.crossed_by, t.fraction,
       t.spent_usd, t.forecast_usd, t.limit_usd, b.channel
FROM thresholds AS t
JOIN ops.cost_budgets AS b ON b.workspace_id = t.workspace_id AND b.budget = t.budget
WHERE t.crossed_by IS NOT NULL
  AND t.period = strftime(t.as_of, '%Y-%m')
  AND NOT EXISTS (SELECT 1 FROM ops.cost_alerts AS a
                  WHERE a.workspace_id = t.workspace_id AND a.budget = t.budget
                    AND a.period = t.period AND a.threshold = t.threshold)
ORDER BY t.workspace_id, t.budget, t.fraction
"""


def due_alerts(wh: Warehouse) -> list[Alert]:
    """Thresholds crossed in the current period (as_of's month) that no alert has claimed yet."""
    rows = wh.query(DUE_SQL)
    return [Alert(*row) for row in rows]


def send_budget_alerts(wh: Warehouse, poster: ChatPoster | None, *, run_id: str | None = None,
                       default_channel: str | None = None) -> dict:
    """Posts every due alert once. Returns {"sent": [...], "skipped": [...], "unknown": [...]}."""
    from slack_sdk.errors import SlackApiError

    report: dict[str, list] = {"sent": [], "skipped": [], "unknown": []}
    report["unknown"] = [dict(zip(("workspace_id", "budget", "period", "threshold"), r)) for r in wh.query(
        "SELECT workspace_id, budget, period, threshold FROM ops.cost_alerts WHERE status = 'sending'")]
    for alert in due_alerts(wh):
        key = {"workspace_id": alert.workspace_id, "budget": alert.budget, "period": alert.period,
               "threshold": alert.threshold}
        channel = alert.channel or default_channel
        if poster is None or not channel:
            report["skipped"].append({**key, "why": "no Slack client" if poster is None else "no alert channel"})
            continue
        if not _claim(wh, alert, channel, run_id):
            continue  # another run claimed it in between
        try:
            response = poster.chat_postMessage(channel=channel, text=alert.text(), unfurl_links=False)
        except SlackApiError as exc:
            # Slack answered and did not post: release the claim so a later run tries again.
            wh.run_sql("DELETE FROM ops.cost_alerts WHERE workspace_id = ? AND budget = ? AND period = ? "
                       "AND threshold = ? AND status = 'sending'",
                       [alert.workspace_id, alert.budget, alert.period, alert.threshold])
            raise RuntimeError(f"Slack refused the budget alert for {alert.budget}: "
                               f"{exc.response.get('error') if exc.response is not None else exc}") from None
        ts = _get(response, "ts")
        wh.run_sql("UPDATE ops.cost_alerts SET status = 'sent', slack_ts = ?, sent_at = now() "
                   "WHERE workspace_id = ? AND budget = ? AND period = ? AND threshold = ?",
                   [ts, alert.workspace_id, alert.budget, alert.period, alert.threshold])
        report["sent"].append({**key, "trigger": alert.trigger, "channel": channel, "ts": ts})
    return report


def _claim(wh: Warehouse, alert: Alert, channel: str, run_id: str | None) -> bool:
    with wh.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            exists = con.execute(
                "SELECT count(*) FROM ops.cost_alerts WHERE workspace_id = ? AND budget = ? AND period = ? AND threshold = ?",
                [alert.workspace_id, alert.budget, alert.period, alert.threshold]).fetchall()[0][0]
            if exists:
                con.execute("ROLLBACK")
                return False
            merge(con, "ops.cost_alerts", [{
                "workspace_id": alert.workspace_id, "budget": alert.budget, "period": alert.period,
                "threshold": alert.threshold, "status": "sending", "trigger": alert.trigger,
                "spent_usd": alert.spent_usd, "forecast_usd": alert.forecast_usd, "limit_usd": alert.limit_usd,
                "channel": channel, "message": alert.text(), "run_id": run_id,
                "claimed_at": _now(),
            }])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return True


def _now() -> datetime:
    return datetime.now(UTC)


def _get(response: Any, key: str) -> Any:
    try:
        return response[key]
    except (KeyError, TypeError):
        return getattr(response, key, None)
