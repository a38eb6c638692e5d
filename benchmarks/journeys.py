"""Journey marts benchmark: rebuild every journey mart over a generated workspace history.

    python benchmarks/journeys.py [--tickets 200000] [--changes 1000000] [--keep PATH]

Generates, with a fixed seed, `--changes` Linear state changes over `--tickets` tickets (two
workspaces, eight teams in different timezones, reopen loops, cancels, archived tickets), plus linked
pull requests with reviews, Linear comments, Slack thread links and agent events, loads them into a
temporary warehouse in bulk (Arrow), then rebuilds all journey marts once (pmflow.journeys.build)
and prints one JSON object: input sizes, seconds per model, mart row counts, `total_s` (wall seconds
of the rebuild, not the generation), `cpu_s` (CPU seconds of this process over all its threads
during the rebuild) and the 1-minute load average before and after, since other work on the machine
stretches wall time. Target: total_s < 10 on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pmflow.journeys.build import JOURNEY_MARTS, JourneyParams, build_journeys
from pmflow.journeys.stages import load_stage_config
from warehouse import Warehouse

AS_OF = datetime(2025, 6, 30, 12, tzinfo=UTC)
TEAMS = [("ENG", "UTC"), ("WEB", "Europe/Paris"), ("OPS", "America/New_York"), ("DATA", "Asia/Tokyo"),
         ("MOB", "America/Los_Angeles"), ("SEC", "Europe/London"), ("INF", "Australia/Sydney"), ("DES", "Asia/Kolkata")]
# (name, type); index order is used by the transition matrix below.
STATES = [("Triage", "triage"), ("Backlog", "backlog"), ("Todo", "unstarted"), ("In Progress", "started"),
          ("In Review", "started"), ("Done", "completed"), ("Canceled", "canceled")]
# Row i: probabilities of moving from state i to each state (a reopen loop goes back from Done/In Review).
TRANSITIONS = np.array([
    [0.00, 0.70, 0.20, 0.05, 0.00, 0.00, 0.05],
    [0.00, 0.00, 0.75, 0.15, 0.00, 0.00, 0.10],
    [0.00, 0.10, 0.00, 0.82, 0.00, 0.03, 0.05],
    [0.00, 0.02, 0.08, 0.00, 0.75, 0.12, 0.03],
    [0.00, 0.00, 0.00, 0.30, 0.00, 0.68, 0.02],
    [0.00, 0.00, 0.10, 0.80, 0.05, 0.00, 0.05],
    [0.00, 0.40, 0.40, 0.20, 0.00, 0.00, 0.00],
])


def generate(tickets: int, changes: int, seed: int = 7) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    ws = np.where(rng.random(tickets) < 0.7, "ws-a", "ws-b")
    team = rng.integers(0, len(TEAMS), tickets)
    ids = np.char.add("iss-", np.arange(tickets).astype(str))
    created = AS_OF - timedelta(days=365)
    created_s = rng.uniform(0, 360 * 86400, tickets)
    # Changes per ticket: 1 + a Poisson share of the rest, scaled so the total is exactly `changes`.
    per_ticket = 1 + rng.poisson((changes - tickets) / tickets, tickets)
    per_ticket = _fit_total(per_ticket, changes, rng)
    owner = np.repeat(np.arange(tickets), per_ticket)
    step = np.arange(changes) - np.repeat(np.cumsum(per_ticket) - per_ticket, per_ticket)
    # Walk the Markov chain: initial state Triage or Backlog, one transition per change.
    state = np.where(rng.random(tickets) < 0.3, 0, 1)
    cumulative = TRANSITIONS.cumsum(axis=1)
    from_state = np.empty(changes, np.int64)
    to_state = np.empty(changes, np.int64)
    current = state.copy()
    for k in range(int(per_ticket.max())):
        rows = np.nonzero(step == k)[0]
        who = owner[rows]
        nxt = (rng.random(len(rows))[:, None] > cumulative[current[who]]).sum(axis=1)
        from_state[rows], to_state[rows] = current[who], nxt
        current[who] = nxt
    gaps_h = rng.exponential(30.0, changes)
    offsets = np.zeros(changes)
    starts = np.cumsum(per_ticket) - per_ticket
    cumsum = np.cumsum(gaps_h)
    offsets = cumsum - np.repeat(cumsum[starts] - gaps_h[starts], per_ticket)
    changed_s = created_s[owner] + offsets * 3600
    names = np.array([s[0] for s in STATES])
    types = np.array([s[1] for s in STATES])
    team_keys = np.array([t[0] for t in TEAMS])
    archived = (np.isin(current, [5, 6])) & (rng.random(tickets) < 0.1)
    last_change = np.zeros(tickets)
    np.maximum.at(last_change, owner, changed_s)
    def ts(seconds: np.ndarray) -> pa.Array:
        """Seconds after `created` as UTC timestamps; NaN becomes NULL."""
        missing = np.isnan(seconds)
        micros = np.where(missing, 0, np.round(seconds * 1e6)).astype(np.int64) + int(created.timestamp() * 1e6)
        return pa.array(micros, pa.timestamp("us", tz="UTC"), mask=missing)

    issues = pa.table({
        "workspace_id": ws, "issue_id": ids, "identifier": np.char.add(np.char.add(team_keys[team], "-"), np.arange(tickets).astype(str)),
        "title": np.char.add("Ticket ", np.arange(tickets).astype(str)),
        "state_name": names[current], "state_type": types[current],
        "team_id": np.char.add("team-", team_keys[team]), "team_key": team_keys[team],
        "created_at": ts(created_s), "updated_at": ts(last_change),
        "archived_at": ts(np.where(archived, last_change + 86400, np.nan)),
    })
    history = pa.table({
        "workspace_id": ws[owner], "history_id": np.char.add("h-", np.arange(changes).astype(str)),
        "issue_id": ids[owner], "from_state": names[from_state], "to_state": names[to_state],
        "from_state_type": types[from_state], "to_state_type": types[to_state], "changed_at": ts(changed_s),
    })
    teams = pa.table({
        "workspace_id": np.repeat(["ws-a", "ws-b"], len(TEAMS)),
        "team_id": np.tile(np.char.add("team-", team_keys), 2), "key": np.tile(team_keys, 2),
        "name": np.tile(team_keys, 2), "timezone": np.tile([t[1] for t in TEAMS], 2),
    })
    # Linked PRs for a quarter of the tickets, opened around their first "In Progress".
    pr_tickets = rng.choice(tickets, tickets // 4, replace=False)
    n_pr = len(pr_tickets)
    pr_open = created_s[pr_tickets] + rng.uniform(24, 400, n_pr) * 3600
    merged = rng.random(n_pr) < 0.8
    pr_close = pr_open + rng.exponential(40, n_pr) * 3600
    repo = np.where(rng.random(n_pr) < 0.5, "acme/api", "acme/web")
    pulls = pa.table({
        "workspace_id": ws[pr_tickets], "repo": repo, "number": np.arange(1, n_pr + 1, dtype=np.int32),
        "title": ids[pr_tickets], "state": np.where(pr_close < (AS_OF - created).total_seconds(), "closed", "open"),
        "author": np.char.add("dev-", rng.integers(0, 40, n_pr).astype(str)), "draft": np.zeros(n_pr, bool),
        "created_at": ts(pr_open), "updated_at": ts(pr_close),
        "merged_at": ts(np.where(merged, pr_close, np.nan)),
        "closed_at": ts(pr_close),
        "first_commit_at": ts(pr_open - rng.exponential(20, n_pr) * 3600),
    })
    reviews = pa.table({
        "workspace_id": ws[pr_tickets], "repo": repo, "pr_number": np.arange(1, n_pr + 1, dtype=np.int32),
        "review_id": np.arange(n_pr, dtype=np.int64), "author": np.char.add("rev-", rng.integers(0, 40, n_pr).astype(str)),
        "state": np.full(n_pr, "APPROVED"), "submitted_at": ts(pr_open + (pr_close - pr_open) * rng.uniform(0.1, 0.9, n_pr)),
    })
    slack_tickets = rng.choice(tickets, tickets // 5, replace=False)
    thread_epoch = created.timestamp() + created_s[slack_tickets] + rng.uniform(-48, 200, len(slack_tickets)) * 3600
    links = pa.table({
        "workspace_id": np.concatenate([ws[pr_tickets], ws[slack_tickets]]),
        "source_kind": np.concatenate([np.full(n_pr, "github_pr"), np.full(len(slack_tickets), "slack_thread")]),
        "source_id": np.concatenate([np.char.add(np.char.add(repo, "#"), np.arange(1, n_pr + 1).astype(str)),
                                     np.char.add("C0123:", np.char.mod("%.6f", thread_epoch))]),
        "ticket_id": np.concatenate([ids[pr_tickets], ids[slack_tickets]]),
        "decision": np.full(n_pr + len(slack_tickets), "linked"),
    })
    n_comments = tickets // 2
    commented = rng.integers(0, tickets, n_comments)
    comments = pa.table({
        "workspace_id": ws[commented], "comment_id": np.char.add("c-", np.arange(n_comments).astype(str)),
        "issue_id": ids[commented], "created_at": ts(created_s[commented] + rng.uniform(0, 300, n_comments) * 3600),
    })
    n_events = 100_000
    agent_ticket = rng.integers(0, tickets, n_events)
    kinds = rng.choice(["task", "decision", "escalation", "handoff"], n_events, p=[0.4, 0.4, 0.1, 0.1])
    event_s = created_s[agent_ticket] + rng.uniform(0, 300, n_events) * 3600
    events = pa.table({
        "workspace_id": ws[agent_ticket], "event_id": np.char.add("e-", np.arange(n_events).astype(str)),
        "occurred_at": ts(event_s), "started_at": ts(event_s - rng.uniform(1, 600, n_events)),
        "agent": np.char.add("agent-", rng.integers(0, 12, n_events).astype(str)), "kind": kinds,
        "ticket_id": ids[agent_ticket], "trace_id": np.char.add("t-", agent_ticket.astype(str)),
        "outcome": np.where(kinds == "task", np.where(rng.random(n_events) < 0.8, "success", "failure"), None),
        "input_tokens": rng.integers(100, 5000, n_events), "output_tokens": rng.integers(10, 800, n_events),
    })
    return {"core.linear_teams": teams, "core.linear_issues": issues, "core.linear_issue_history": history,
            "core.github_pull_requests": pulls, "core.github_reviews": reviews, "marts.ticket_links": links,
            "core.linear_comments": comments, "core.agent_events": events}


def _fit_total(counts: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Adjusts counts (each >= 1) so that they sum to exactly `total`."""
    counts = counts.copy()
    diff = total - int(counts.sum())
    while diff != 0:
        pick = rng.integers(0, len(counts), abs(diff))
        if diff > 0:
            np.add.at(counts, pick, 1)
        else:
            np.subtract.at(counts, pick, 1)
            counts = np.maximum(counts, 1)
        diff = total - int(counts.sum())
    return counts


def load(warehouse: Warehouse, tables: dict[str, pa.Table]) -> None:
    with warehouse.connect() as con:
        for table, rows in tables.items():
            con.register("_bench_rows", rows)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _bench_rows")
            con.unregister("_bench_rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the warehouse here instead of a temporary file")
    args = parser.parse_args()
    started = time.perf_counter()
    tables = generate(args.tickets, args.changes)
    generated_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "journeys.duckdb"
        warehouse = Warehouse(path)
        started = time.perf_counter()
        load(warehouse, tables)
        loaded_s = time.perf_counter() - started
        with warehouse.connect() as con:
            load_before = os.getloadavg()[0]
            started, cpu_started = time.perf_counter(), time.process_time()
            timings = build_journeys(con, load_stage_config(), JourneyParams(as_of=AS_OF))
            total_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
            load_after = os.getloadavg()[0]
            rows = {m: con.execute(f"SELECT count(*) FROM {m}").fetchone()[0] for m in JOURNEY_MARTS}
    print(json.dumps({
        "benchmark": "journeys",
        "inputs": {table.split(".")[1]: t.num_rows for table, t in tables.items()},
        "cpu_count": os.cpu_count(),
        "generate_s": round(generated_s, 3),
        "load_s": round(loaded_s, 3),
        "models_s": {name: round(seconds, 3) for name, seconds in timings.items()},
        "mart_rows": rows,
        "total_s": round(total_s, 3),
        "cpu_s": round(cpu_s, 3),
        "load_average_1m": [round(load_before, 2), round(load_after, 2)],
        "target_s": 10,
    }, indent=2))


if __name__ == "__main__":
    main()
