"""What a person sees of the costs run: the cost table, unpriced models, reconciliation flags, and a
spend-vs-budget chart (PNG, matplotlib's Agg backend, imported only when drawing)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from warehouse import Warehouse

COST_TABLE_SQL = """
SELECT workspace_id, strftime(day, '%Y-%m-%d') AS day, provider, model, project,
       sum(calls) AS calls, sum(input_tokens) AS input_tokens, sum(cached_tokens) AS cached_tokens,
       sum(output_tokens) AS output_tokens, round(sum(cost_usd), 4) AS cost_usd,
       sum(unpriced_calls) AS unpriced_calls
FROM marts.cost_daily
WHERE in_spend AND day > ? - INTERVAL 7 DAY AND day <= ?
GROUP BY ALL
ORDER BY day DESC, cost_usd DESC NULLS LAST, model
LIMIT ?
"""


def cost_table(wh: Warehouse, as_of: date, limit: int = 200) -> list[dict]:
    """Spend of the last 7 days up to as_of, per day, provider, model and project."""
    return _dicts(wh, COST_TABLE_SQL, [as_of, as_of, limit])


def budget_rows(wh: Warehouse) -> list[dict]:
    return _dicts(wh, """
        SELECT workspace_id, budget, period, spent_usd, forecast_usd, limit_usd, status,
               round(spent_ratio, 3) AS spent_ratio, round(forecast_ratio, 3) AS forecast_ratio, unpriced_calls
        FROM marts.budget_status WHERE period = strftime(as_of, '%Y-%m')
        ORDER BY workspace_id, budget""")


def flagged_reconciliation(wh: Warehouse, limit: int = 100) -> list[dict]:
    return _dicts(wh, """
        SELECT workspace_id, strftime(day, '%Y-%m-%d') AS day, project, computed_usd, billed_usd, drift_usd,
               round(drift_pct, 4) AS drift_pct, status
        FROM marts.cost_reconciliation WHERE flagged ORDER BY day DESC, abs(drift_usd) DESC LIMIT ?""", [limit])


def unpriced_rows(wh: Warehouse) -> list[dict]:
    return _dicts(wh, """
        SELECT workspace_id, provider, model, strftime(first_day, '%Y-%m-%d') AS first_day,
               strftime(last_day, '%Y-%m-%d') AS last_day, unpriced_calls, input_tokens, output_tokens
        FROM marts.cost_unpriced_models ORDER BY unpriced_calls DESC, model""")


def draw_spend_vs_budget(wh: Warehouse, path: Path) -> Path | None:
    """Per budget of the current period: cumulative daily spend, the forecast to month end, the limit
    and the soft threshold. Returns the PNG's path, or None when no budget is configured."""
    status = _dicts(wh, """
        SELECT workspace_id, budget, month_start, as_of, spent_usd, forecast_usd, limit_usd, soft_threshold,
               project_pattern, model_pattern, last_day(month_start) AS month_end
        FROM marts.budget_status WHERE period = strftime(as_of, '%Y-%m') ORDER BY workspace_id, budget""")
    if not status:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    count = min(len(status), 9)
    columns = min(3, count)
    rows = (count + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.4 * rows), squeeze=False)
    for ax, budget in zip(axes.flat, status[:count]):
        daily = wh.query("""
            SELECT day, sum(cost_usd) FROM marts.cost_daily
            WHERE in_spend AND workspace_id = ? AND day >= ? AND day <= ?
              AND (? IS NULL OR project LIKE ? ESCAPE '\\') AND (? IS NULL OR model LIKE ? ESCAPE '\\')
            GROUP BY day ORDER BY day""",
            [budget["workspace_id"], budget["month_start"], budget["as_of"], budget["project_pattern"],
             budget["project_pattern"], budget["model_pattern"], budget["model_pattern"]])
        days, running, total = [], [], 0.0
        for day, cost in daily:
            total += cost or 0.0
            days.append(day)
            running.append(total)
        ax.plot(days, running, marker=".", label="spent (cumulative)")
        ax.plot([budget["as_of"], budget["month_end"]], [budget["spent_usd"], budget["forecast_usd"]],
                linestyle="--", label="forecast")
        ax.axhline(budget["limit_usd"], color="red", linewidth=1, label="limit")
        ax.axhline(budget["limit_usd"] * budget["soft_threshold"], color="orange", linewidth=1, linestyle=":",
                   label=f"soft ({budget['soft_threshold']:.0%})")
        ax.set_title(f"{budget['budget']} ({budget['workspace_id']})", fontsize=9)
        ax.set_ylabel("USD")
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[count:]:
        ax.axis("off")
    fig.suptitle(f"AI spend vs budget, {status[0]['month_start']:%Y-%m} (as of {status[0]['as_of']})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "_none_"
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join("" if row[c] is None else str(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def _dicts(wh: Warehouse, sql: str, params: list | None = None) -> list[dict]:
    with wh.connect() as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
