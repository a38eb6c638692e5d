"""The cost marts (warehouse/models/marts/*cost*|*budget*), rebuilt together with their staging views."""
from __future__ import annotations

import duckdb

from warehouse.models import build_models, load_models

COST_MARTS = (
    "marts.cost_daily", "marts.cost_by_project", "marts.cost_by_ticket", "marts.cost_by_agent",
    "marts.cost_by_flow", "marts.cost_per_delivered_ticket", "marts.cost_unpriced_models",
    "marts.budget_status", "marts.cost_reconciliation",
)


def cost_models() -> list[str]:
    available = load_models()
    return [name for name in COST_MARTS if name in available]


def rebuild_cost_marts(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Builds the cost marts and the staging views they read, in one transaction; seconds per model."""
    return build_models(con, cost_models())
