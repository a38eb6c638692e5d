"""Soak: the demo pipeline N times in a row against a growing sandbox workspace.

    .venv/bin/python scripts/soak.py --runs 20                 # the full soak (about 1 min a run)
    .venv/bin/python scripts/soak.py --runs 3 --json out.json  # what the default test run does

This process holds the sandbox; between two runs its world changes the way a team's day does (new
messages citing tickets, late replies, an edit, tickets moving and commented, a PR retitled,
reviewed and commented). Each run is the whole pipeline of `pmflow demo` (ingest Slack, Linear,
GitHub; match; journeys; costs; standup) as its own process, `pmflow run pipeline`, as a deployment
runs it under a process worker.

Checked after every run, printed, and written as JSON (--json):
- no duplicates: the natural key of every core table and keyed mart is unique;
- stable memory: each run's peak resident set size (its process's ru_maxrss); from the second run
  on it must not grow by more than --max-rss-growth-mb per run on average (least squares), nor end
  more than --max-rss-growth-pct above the second run's;
- work that grows with new data only: the requests the sandbox answered and the rows inserted per
  incremental run stay within a band of the first incremental run (the changes per run are the
  same), whatever the size the warehouse has reached; with 10 runs or more, the median CPU time of
  the last five incremental runs stays within --max-time-ratio of the first five (CPU, not wall
  time, so that other work on the machine does not decide the verdict; both are recorded).
Exit status 1 when a check fails. The runs report to PREFECT_API_URL when set (else each starts
Prefect's temporary server).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Keys of the marts that are not in warehouse/tables.py (their documented keys).
MART_KEYS = {
    "marts.ticket_links": ("workspace_id", "source_kind", "source_id"),
    "marts.standups": ("workspace_id", "kind", "team", "report_date"),
    "marts.cost_daily": ("workspace_id", "day", "source", "provider", "model", "project"),
}


def run_pipeline(env: dict[str, str], log: Path) -> tuple[int, float, float]:
    """One `pmflow run pipeline` process: its exit status, peak resident set size in MB and CPU seconds."""
    with log.open("w") as out:
        child = subprocess.Popen([sys.executable, "-m", "pmflow.cli", "run", "pipeline"], cwd=ROOT, env=env,
                                 stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss: kilobytes


def mutate(world, rng: random.Random, run: int) -> dict:
    """One working day's changes; the same amount every run."""
    channels = [c["channel_id"] for c in world.expected_slack_channels() if not c["is_archived"]]
    tickets = [t.identifier for t in world.tickets]
    for n in range(6):
        ticket = rng.choice(tickets)
        world.post_message(rng.choice(channels), f"run {run}: looked at {ticket} again, notes in the doc ({n})",
                           ticket=ticket)
    threads = [m for m in world.expected_slack_messages()
               if m["reply_count"] and m["channel_id"] in channels and not m["is_deleted"]]
    for message in rng.sample(threads, min(3, len(threads))):
        world.add_reply(message["channel_id"], message["ts"])
    own = [m for m in world.expected_slack_messages() if (m["text"] or "").startswith("run ") and not m["is_deleted"]]
    if own:
        edited = rng.choice(own)
        world.edit_message(edited["channel_id"], edited["ts"], edited["text"] + " (edited)")
    moved = 0
    for identifier in rng.sample(tickets, len(tickets)):
        try:
            if rng.random() < 0.5:
                world.move_ticket(identifier, back=True)
            else:
                world.move_ticket(identifier, "In Progress")
        except (ValueError, KeyError):  # already there, or no state before it
            continue
        moved += 1
        if moved == 2:
            break
    world.add_ticket_comment(rng.choice(tickets), f"run {run}: status update")
    repo = rng.choice(world.github_repos)
    pulls = [p for _, p in world.github.pulls(repo)]
    pull = rng.choice(pulls)
    world.github_update_pr(repo, pull.number, title=f"{pull.title.split(' (r')[0]} (r{run})")
    world.github_add_review(repo, rng.choice(pulls).number, "COMMENTED", body=f"run {run} review")
    world.github_add_comment(repo, rng.choice(pulls).number, f"run {run} comment")
    return {"messages": 6, "replies": 3, "edits": 1, "ticket_moves": 2, "ticket_comments": 1, "pr_changes": 3}


def duplicates(wh) -> list[str]:
    from warehouse.tables import NATURAL_KEYS

    existing = {f"{s}.{t}" for s, t in wh.query("SELECT schema_name, table_name FROM duckdb_tables()")}
    problems = []
    for table, keys in {**NATURAL_KEYS, **MART_KEYS}.items():
        if table not in existing or not table.startswith(("core.", "marts.")):
            continue
        cols = ", ".join(keys)
        (n,), = wh.query(f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY ALL HAVING count(*) > 1)")
        if n:
            problems.append(f"{table}: {n} keys ({cols}) stored more than once")
    return problems


def core_rows(wh) -> int:
    tables = [f"core.{t}" for (t,) in wh.query("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'core'")]
    return sum(wh.query(f"SELECT count(*) FROM {t}")[0][0] for t in tables)


def inserted_rows(wh) -> int:
    """Every row ingestion has inserted so far (ops.load_log)."""
    return wh.query("SELECT coalesce(sum(inserted), 0) FROM ops.load_log")[0][0]


def soak(runs: int, *, seed: int, size: str, warehouse: Path) -> list[dict]:
    from connectors.sandbox.server import SandboxServer
    from connectors.sandbox.world import World
    from tests.support.pipeline_env import pipeline_env
    from warehouse import Warehouse

    world = World.generate(seed=seed, size=size)
    rng = random.Random(f"soak:{seed}")
    records = []
    with SandboxServer(world) as server:
        env = {**os.environ, **pipeline_env(world, server, warehouse)}
        for name in ("OPENAI_API_KEY", "PMFLOW_ALERT_CHANNEL", "PMFLOW_MATCH_WRITEBACK"):
            env.pop(name, None)
        wh = Warehouse(warehouse)
        before = 0
        for run in range(1, runs + 1):
            changes = mutate(world, rng, run) if run > 1 else {}
            server.reset_stats()
            log = warehouse.parent / f"soak-run-{run}.log"
            started = time.perf_counter()
            status, peak_rss_mb, cpu_s = run_pipeline(env, log)
            if status != 0:
                raise SystemExit(f"run {run} failed with exit status {status}:\n{log.read_text()[-3000:]}")
            total = inserted_rows(wh)
            record = {"run": run, "seconds": round(time.perf_counter() - started, 2), "cpu_s": round(cpu_s, 2),
                      "rss_mb": round(peak_rss_mb, 1),
                      "requests": server.stats()["total"], "inserted": total - before,
                      "core_rows": core_rows(wh), "duplicates": duplicates(wh), "changes": changes}
            before = total
            records.append(record)
            print(json.dumps(record), flush=True)
    return records


def check(records: list[dict], *, max_rss_growth_mb: float, max_rss_growth_pct: float,
          max_time_ratio: float, work_band: float) -> list[str]:
    failures = [f"run {r['run']}: {d}" for r in records for d in r["duplicates"]]
    incremental = records[1:]
    if len(incremental) >= 2:
        rss = [r["rss_mb"] for r in incremental]
        xs = list(range(len(rss)))
        slope = statistics.linear_regression(xs, rss).slope
        if slope > max_rss_growth_mb:
            failures.append(f"peak memory grows {slope:.1f} MB per run from run 2 on: {rss}")
        if rss[-1] > rss[0] * (1 + max_rss_growth_pct / 100):
            failures.append(f"memory ended {rss[-1]:.0f} MB, more than {max_rss_growth_pct}% above run 2's {rss[0]:.0f}")
        first = incremental[0]
        for r in incremental[1:]:
            for what in ("requests", "inserted"):
                if r[what] > first[what] * work_band + 10:
                    failures.append(f"run {r['run']}: {r[what]} {what}, run 2 had {first[what]} for the same changes")
    if len(incremental) >= 10:
        early = statistics.median(r["cpu_s"] for r in incremental[:5])
        late = statistics.median(r["cpu_s"] for r in incremental[-5:])
        if late > early * max_time_ratio:
            failures.append(f"incremental runs slowed from {early:.1f} to {late:.1f} CPU seconds (median of 5)")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", default="tiny", help="tiny, default, or a message count")
    parser.add_argument("--warehouse", type=Path, default=None, help="default: a new file in a temporary directory")
    parser.add_argument("--json", type=Path, default=None, help="write the runs and the verdict here")
    parser.add_argument("--max-rss-growth-mb", type=float, default=3.0, help="per run, least-squares slope")
    parser.add_argument("--max-rss-growth-pct", type=float, default=25.0)
    parser.add_argument("--max-time-ratio", type=float, default=1.5)
    parser.add_argument("--work-band", type=float, default=1.5)
    args = parser.parse_args(argv)
    if args.warehouse is None:
        import tempfile

        args.warehouse = Path(tempfile.mkdtemp(prefix="pmflow-soak-")) / "warehouse.duckdb"
    size = int(args.size) if args.size.isdigit() else args.size
    records = soak(args.runs, seed=args.seed, size=size, warehouse=args.warehouse)
    failures = check(records, max_rss_growth_mb=args.max_rss_growth_mb, max_rss_growth_pct=args.max_rss_growth_pct,
                     max_time_ratio=args.max_time_ratio, work_band=args.work_band)
    verdict = {"runs": records, "failures": failures, "warehouse": str(args.warehouse)}
    if args.json:
        args.json.write_text(json.dumps(verdict, indent=1))
    print("soak: " + ("OK" if not failures else "FAILED\n  " + "\n  ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
