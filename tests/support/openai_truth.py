"""Compare the warehouse's OpenAI organization usage and billed costs with the sandbox organization's
ground truth (connectors/sandbox/openai_data.py: expected_usage, expected_costs)."""
from __future__ import annotations

import math

from warehouse import Warehouse

USAGE_COLUMNS = ("endpoint", "usage_day", "project", "model", "batch", "input_tokens", "cached_tokens",
                 "output_tokens", "requests")
COST_COLUMNS = ("usage_day", "project_id", "line_item", "amount")


def stored_usage(wh: Warehouse) -> list[tuple]:
    return wh.query(f"SELECT {', '.join(USAGE_COLUMNS)} FROM core.llm_usage WHERE source = 'openai_usage' "
                    "ORDER BY ALL")


def truth_usage(org) -> list[tuple]:
    return sorted(tuple(r[k] for k in USAGE_COLUMNS) for r in org.expected_usage())


def stored_costs(wh: Warehouse) -> list[tuple]:
    return wh.query(f"SELECT {', '.join(COST_COLUMNS)} FROM core.openai_costs ORDER BY ALL")


def truth_costs(org) -> list[tuple]:
    return sorted(tuple(r[k] for k in COST_COLUMNS) for r in org.expected_costs())


def openai_differences(org, wh: Warehouse, *, limit: int = 20) -> list[str]:
    """Every way core.llm_usage (source openai_usage) and core.openai_costs differ from the
    organization (empty: they agree; amounts to a relative 1e-12): missing, unexpected, differing."""
    problems: list[str] = []
    for table, stored, expected, width in (("core.llm_usage", stored_usage(wh), truth_usage(org), 5),
                                           ("core.openai_costs", stored_costs(wh), truth_costs(org), 3)):
        have = {tuple(row[:width]): tuple(row[width:]) for row in stored}
        want = {tuple(row[:width]): tuple(row[width:]) for row in expected}
        if len(have) != len(stored):
            problems.append(f"{table}: {len(stored) - len(have)} rows stored twice")
        problems += [f"{table}: missing {key}" for key in sorted(want.keys() - have.keys(), key=repr)[:limit]]
        problems += [f"{table}: unexpected {key}" for key in sorted(have.keys() - want.keys(), key=repr)[:limit]]
        for key in sorted(want.keys() & have.keys(), key=repr):
            if not all(a == b or (isinstance(a, float) and math.isclose(a, b, rel_tol=1e-12))
                       for a, b in zip(have[key], want[key])):
                problems.append(f"{table} {key}: expected {want[key]}, stored {have[key]}")
    return problems[: limit * 4]
