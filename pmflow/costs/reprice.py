"""Prices core.llm_usage in bulk: price the distinct (workspace, provider, model, day, batch), join in SQL.

Ten million calls use a few thousand combinations, so the catalogue is consulted a few thousand
times (cached) and DuckDB does the arithmetic. Loaders already price rows as they write them (same
arithmetic, pmflow.costs.pricing.price_rows); this step keeps core.llm_price_rates (the rate applied
to each combination) and re-prices what went stale: every run re-rates every combination, so an
override file change or a catalogue upgrade takes effect on old rows too, but only the rows of
combinations whose rate changed (and rows nobody priced) are touched.
"""
from __future__ import annotations

import time

import duckdb

from pmflow.costs.pricing import PriceBook

_KEY = ("workspace_id", "provider", "model", "usage_day", "batch")


def _rate_expr(kind: str) -> str:
    """The per-million rate of `kind` (input, cached, output) for row u with rates r, tiers applied
    to single calls only (an aggregated bucket's tokens are not one request)."""
    base = {"input": "r.input_per_mtok", "cached": "r.cached_input_per_mtok", "output": "r.output_per_mtok"}[kind]
    return (
        "CASE WHEN u.source <> 'openai_usage' AND r.tier2_start IS NOT NULL AND u.input_tokens > r.tier2_start "
        f"THEN r.tier2_{kind} "
        "WHEN u.source <> 'openai_usage' AND r.tier1_start IS NOT NULL AND u.input_tokens > r.tier1_start "
        f"THEN r.tier1_{kind} ELSE {base} END"
    )


COST_EXPR = (
    "CASE WHEN r.price_status IN ('priced', 'override') THEN ("
    f"(coalesce(u.input_tokens, 0) - coalesce(u.cached_tokens, 0)) * {_rate_expr('input')} "
    f"+ coalesce(u.cached_tokens, 0) * {_rate_expr('cached')} "
    f"+ coalesce(u.output_tokens, 0) * {_rate_expr('output')}) / 1e6 END"
)


_RATE_COLUMNS = (
    "workspace_id", "provider", "model", "usage_day", "batch", "price_status", "rate_source", "priced_provider",
    "catalogue_model", "input_per_mtok", "cached_input_per_mtok", "output_per_mtok", "tier1_start", "tier1_input",
    "tier1_cached", "tier1_output", "tier2_start", "tier2_input", "tier2_cached", "tier2_output",
)


def reprice(con: duckdb.DuckDBPyConnection, book: PriceBook, *, full: bool = False) -> dict:
    """Fills usage_day, rebuilds core.llm_price_rates, and prices in SQL the rows that need it: rows
    never priced (price_status NULL) and rows of every combination whose rate changed since the last
    run (a catalogue upgrade, an override edit), or every row with `full`. Only rows whose cost or
    status actually changes are written. One transaction; returns counts and timings."""
    timings: dict[str, float] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        started = time.perf_counter()
        con.execute(
            "UPDATE core.llm_usage SET usage_day = CAST(timezone('UTC', occurred_at) AS DATE) WHERE usage_day IS NULL"
        )
        con.execute("UPDATE core.llm_usage SET batch = false WHERE batch IS NULL")
        timings["fill_days_s"] = time.perf_counter() - started

        started = time.perf_counter()
        combos = con.sql(
            "SELECT DISTINCT workspace_id, provider, model, usage_day, batch FROM core.llm_usage"
        ).to_arrow_table()
        rates = book.rates_table(combos)
        timings["price_combinations_s"] = time.perf_counter() - started

        started = time.perf_counter()
        columns = ", ".join(_RATE_COLUMNS)
        con.register("_pmflow_rates", rates)
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _pmflow_changed_rates AS "
                f"SELECT {columns} FROM _pmflow_rates "
                + ("" if full else f"EXCEPT SELECT {columns} FROM core.llm_price_rates")
            )
            con.execute("DELETE FROM core.llm_price_rates")
            con.execute(f"INSERT INTO core.llm_price_rates ({columns}, priced_at) SELECT {columns}, now() FROM _pmflow_rates")
        finally:
            con.unregister("_pmflow_rates")
        changed_combos = con.execute("SELECT count(*) FROM _pmflow_changed_rates").fetchall()[0][0]
        on = " AND ".join(f"u.{k} IS NOT DISTINCT FROM r.{k}" if k in ("provider", "model") else f"u.{k} = r.{k}"
                          for k in _KEY)
        differs = f"(u.cost_usd IS DISTINCT FROM {COST_EXPR} OR u.price_status IS DISTINCT FROM r.price_status)"
        repriced = 0
        if changed_combos:
            repriced += con.execute(
                f"UPDATE core.llm_usage AS u SET cost_usd = {COST_EXPR}, price_status = r.price_status "
                f"FROM _pmflow_changed_rates AS r WHERE {on} AND {differs}"
            ).fetchall()[0][0]
        repriced += con.execute(
            f"UPDATE core.llm_usage AS u SET cost_usd = {COST_EXPR}, price_status = r.price_status "
            f"FROM core.llm_price_rates AS r WHERE u.price_status IS NULL AND {on}"
        ).fetchall()[0][0]
        con.execute("DROP TABLE _pmflow_changed_rates")
        timings["apply_prices_s"] = time.perf_counter() - started
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"combinations": rates.num_rows, "changed_combinations": changed_combos, "rows_repriced": repriced,
            **timings}


UNPRICED_SQL = """
SELECT workspace_id, coalesce(provider, '') AS provider, coalesce(model, '(none)') AS model, price_status,
       min(usage_day) AS first_day, max(usage_day) AS last_day, count(*) AS rows,
       sum(coalesce(input_tokens, 0)) AS input_tokens, sum(coalesce(output_tokens, 0)) AS output_tokens
FROM core.llm_usage
WHERE price_status NOT IN ('priced', 'override')
GROUP BY ALL
ORDER BY rows DESC, model
"""


def unpriced_models(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Models whose calls carry no cost (unknown to the catalogue and the overrides), for an artifact."""
    cursor = con.execute(UNPRICED_SQL)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
