"""Benchmark: price 10M usage rows and rebuild the cost marts.

    .venv/bin/python benchmarks/costs.py [--rows 10000000] [--keep PATH]

Generates the rows inside DuckDB (range(), no Python loops) in a fresh warehouse: 3 workspaces,
90 days, 14 models (OpenAI, Anthropic with long-context tiers, Google, one unknown model), the
three sources (organization usage buckets, pipeline calls, agent traces), 5% batch, tickets, agents,
flows; plus billed costs and budgets. Not timed: generation. Timed, on the same 10M rows:

- first_pricing: the rows were written without prices (a bulk backfill): every distinct
  (workspace, provider, model, day, batch) is priced from genai-prices and applied in one SQL
  UPDATE of all rows, then every cost mart is built;
- nightly (`total_s`, wall clock; `total_cpu_s`, CPU seconds of all threads, which shows the work
  itself when other processes share the CPUs): what the nightly flow does once loaders have priced rows as they wrote them:
  every combination re-rated, stale rows re-priced (none), every cost mart rebuilt;
- price_change: a negotiated price for one model from mid-October (its rows re-priced) + marts.

Prints JSON with per-step and per-model seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pmflow.costs.budgets import parse_budgets, sync_budget_config  # noqa: E402
from pmflow.costs.marts import rebuild_cost_marts  # noqa: E402
from pmflow.costs.pricing import PriceBook, parse_override  # noqa: E402
from pmflow.costs.reprice import reprice  # noqa: E402
from warehouse import Warehouse  # noqa: E402

MODELS = [  # (provider, model)
    ("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"), ("openai", "gpt-4.1-mini"),
    ("openai", "gpt-5"), ("openai", "gpt-5-mini"), ("openai", "o3"), ("openai", "o4-mini"),
    ("openai", "text-embedding-3-small"), ("anthropic", "claude-sonnet-4-5"), ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-flash"), ("gcp.gemini", "gemini-2.5-pro"), ("vllm", "acme-coder-7b"),
]
AS_OF = date(2026, 11, 20)


def generate(wh: Warehouse, rows: int) -> float:
    started = time.perf_counter()
    providers = "[" + ", ".join(f"'{p}'" for p, _ in MODELS) + "]"
    models = "[" + ", ".join(f"'{m}'" for _, m in MODELS) + "]"
    with wh.connect() as con:
        con.execute(f"""
            INSERT INTO core.llm_usage BY NAME
            SELECT
                'T' || (i % 3) AS workspace_id,
                'bench:' || i AS usage_id,
                ts AS occurred_at,
                CAST(ts AS DATE) AS usage_day,
                src AS source,
                {providers}[1 + m] AS provider,
                {models}[1 + m] AS model,
                CASE WHEN src = 'openai_usage' THEN 5000 + (h % 2000000) ELSE 200 + (h % 40000) END AS input_tokens,
                CASE WHEN (h >> 8) % 2 = 0 THEN 0 ELSE (h >> 9) % 200 END * 16 AS cached_tokens,
                CASE WHEN m = 8 THEN 0 ELSE (h >> 20) % 4000 END AS output_tokens,
                CASE WHEN src = 'openai_usage' THEN 1 + (h % 500) ELSE 1 END AS requests,
                'proj_' || ((h >> 3) % 12) AS project,
                CASE WHEN src = 'openai_usage' THEN NULL ELSE 'ENG-' || ((h >> 5) % 5000) END AS ticket_id,
                CASE WHEN src = 'agent_trace' THEN 'agent-' || ((h >> 7) % 20) END AS agent,
                CASE WHEN src = 'pipeline' THEN (['match', 'standup', 'journeys'])[CAST(1 + (h >> 11) % 3 AS BIGINT)] END AS flow_name,
                CASE WHEN src = 'pipeline' THEN 'run-' || ((h >> 13) % 3000) END AS flow_run_id,
                CASE WHEN src = 'openai_usage' THEN 'completions' ELSE 'chat' END AS endpoint,
                (h >> 17) % 20 = 0 AS batch
            FROM (
                SELECT i, hash(i) AS h,
                       TIMESTAMPTZ '2026-08-23 00:00:00+00' + to_seconds(hash(i) % (90 * 86400)) AS ts,
                       CAST((hash(i) >> 30) % {len(MODELS)} AS BIGINT) AS m,
                       CASE (hash(i) >> 40) % 10 WHEN 0 THEN 'openai_usage' WHEN 1 THEN 'pipeline'
                            WHEN 2 THEN 'pipeline' ELSE 'agent_trace' END AS src
                FROM range({rows}) t(i)
            )
        """)
        con.execute("""
            INSERT INTO core.openai_costs BY NAME
            SELECT workspace_id, usage_day || ':' || project AS cost_id, usage_day,
                   CAST(usage_day AS TIMESTAMPTZ) AS bucket_start, CAST(usage_day AS TIMESTAMPTZ) AS bucket_end,
                   project AS project_id, 'all' AS line_item, sum(input_tokens) * 2.5 / 1e6 AS amount, 'usd' AS currency
            FROM core.llm_usage WHERE source = 'openai_usage' GROUP BY ALL
        """)
    config = parse_budgets({"alerts": {"channel": "#ai-costs"}, "budgets": [
        {"name": "total", "monthly_limit_usd": 50_000, "workspace_id": w} for w in ("T0", "T1", "T2")] + [
        {"name": "eng", "project": "proj_1*", "monthly_limit_usd": 5_000, "workspace_id": "T0"},
        {"name": "reasoning", "model": "o*", "monthly_limit_usd": 2_000, "workspace_id": "T1"}]}, default_workspace="T0")
    sync_budget_config(wh, config, as_of=AS_OF, drift_threshold=0.05)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", help="keep the warehouse at this path instead of a temporary directory")
    args = parser.parse_args()
    workdir = Path(args.keep).parent if args.keep else Path(tempfile.mkdtemp(prefix="pmflow-bench-costs-"))
    path = Path(args.keep) if args.keep else workdir / "warehouse.duckdb"
    try:
        wh = Warehouse(path)
        generate_s = generate(wh, args.rows)
        book = PriceBook([parse_override({"model": "gpt-4.1", "effective_from": "2026-10-15", "input_per_mtok": 1.6,
                                          "output_per_mtok": 6.4})])
        with wh.connect() as con:
            # 1. First pricing: 10M rows nobody priced yet (a bulk backfill written without prices).
            started = time.perf_counter()
            first_pricing = reprice(con, book)
            first_pricing_s = time.perf_counter() - started
            started = time.perf_counter()
            first_models = rebuild_cost_marts(con)
            first_marts_s = time.perf_counter() - started
            # 2. The nightly rebuild: rows arrive priced by the loaders; every combination is re-rated
            #    (catalogue/override changes), stale rows re-priced, every cost mart rebuilt.
            started, cpu_started = time.perf_counter(), time.process_time()
            nightly_pricing = reprice(con, book)
            nightly_pricing_s = time.perf_counter() - started
            started = time.perf_counter()
            models = rebuild_cost_marts(con)
            marts_s = time.perf_counter() - started
            nightly_cpu_s = time.process_time() - cpu_started
            # 3. A negotiated price changes for one model from mid-October: its rows are re-priced.
            changed = PriceBook(book.overrides + (parse_override({"model": "gpt-4o-mini", "effective_from": "2026-10-15",
                                                                   "input_per_mtok": 0.1, "output_per_mtok": 0.4}),))
            started = time.perf_counter()
            change_pricing = reprice(con, changed)
            change_pricing_s = time.perf_counter() - started
            started = time.perf_counter()
            rebuild_cost_marts(con)
            change_marts_s = time.perf_counter() - started
            statuses = dict(con.execute("SELECT price_status, count(*) FROM core.llm_usage GROUP BY 1").fetchall())
            mart_rows = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
                         for name in models if name.startswith("marts.")}

        def rounded(d):
            return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}

        result = {
            "benchmark": "costs",
            "rows": args.rows,
            "generate_s": round(generate_s, 3),
            "nightly": {
                "pricing": rounded(nightly_pricing),
                "pricing_s": round(nightly_pricing_s, 3),
                "models_s": rounded(models),
                "marts_s": round(marts_s, 3),
            },
            "total_s": round(nightly_pricing_s + marts_s, 3),
            "total_cpu_s": round(nightly_cpu_s, 3),
            "price_change": {"pricing": rounded(change_pricing), "pricing_s": round(change_pricing_s, 3),
                             "marts_s": round(change_marts_s, 3),
                             "total_s": round(change_pricing_s + change_marts_s, 3)},
            "first_pricing": {"pricing": rounded(first_pricing), "pricing_s": round(first_pricing_s, 3),
                              "models_s": rounded(first_models), "marts_s": round(first_marts_s, 3),
                              "total_s": round(first_pricing_s + first_marts_s, 3)},
            "price_status_rows": statuses,
            "mart_rows": mart_rows,
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        }
        print(json.dumps(result, indent=2, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
