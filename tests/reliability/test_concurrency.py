"""Concurrency: Slack and Linear ingestion, ticket matching, journeys and a `pmflow sql` reader, all
as separate processes at once on one warehouse file. No lock traceback anywhere, every wait bounded
(PMFLOW_LOCK_TIMEOUT), and the results are right: ingestion at the ground truth, every matching unit
decided exactly once with the explicit references linked, the journey marts equal to the reference
computed from the world's ticket histories, and every reader answer consistent.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.sandbox.linear_api import schema_path
from connectors.sandbox.world import World
from flows.ingest import ingest_linear, ingest_slack
from pmflow.journeys.ground_truth import journey_differences
from pmflow.journeys.stages import load_stage_config
from tests.support.linear_truth import linear_differences
from tests.support.slack_truth import slack_differences
from warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
LOCK_TIMEOUT_S = 90
FORBIDDEN = ("Traceback", "Could not set lock", "Conflicting lock", "IO Error", "database is locked",
             "WarehouseBusyError", "is busy")

pytestmark = [pytest.mark.usefixtures("prefect_api_url"), pytest.mark.slow,  # ~80 s; CI runs it
              pytest.mark.skipif(not schema_path().exists(), reason=f"Linear schema not found at {schema_path()}")]


def pmflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "pmflow.cli", *args]


def test_ingestion_matching_journeys_and_a_sql_reader_at_once(sandbox, warehouse_path, prefect_api_url, tmp_path,
                                                              monkeypatch):
    world = World.generate(seed=61, size="tiny")
    server = sandbox(world)
    as_of = world.now + timedelta(days=1)  # after every mutation below (the world's clock ticks 1 s each)
    monkeypatch.setenv("PMFLOW_JOURNEY_AS_OF", as_of.isoformat())
    monkeypatch.setenv("PMFLOW_LOCK_TIMEOUT", str(LOCK_TIMEOUT_S))
    ingest_slack()  # the baseline: yesterday's runs
    ingest_linear()
    wh = Warehouse(warehouse_path)
    baseline = wh.query("SELECT count(*) FROM core.slack_messages")[0][0]

    # Today's news: conversations citing tickets, tickets moving.
    channel = next(c["channel_id"] for c in world.expected_slack_channels() if not c["is_archived"])
    cited = world.tickets[:4]
    for ticket in cited:
        world.post_message(channel, f"Picking up {ticket.identifier} today, it is the one customers hit",
                           ticket=ticket.identifier)
    for ticket in world.tickets[4:10]:
        world.move_ticket(ticket.identifier, back=True)
    server.latency_s = 0.02  # ingestion holds the lock between pages, not through them

    env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "PMFLOW_WAREHOUSE": str(warehouse_path),
           "SLACK_PAGE_SIZE": "5", "SLACK_BATCH_ROWS": "10", "LINEAR_ISSUE_PAGE_SIZE": "5", "LINEAR_BATCH_ROWS": "5"}
    commands = {"ingest-slack": pmflow("run", "ingest", "--source", "slack"),
                "ingest-linear": pmflow("run", "ingest", "--source", "linear"),
                "match": pmflow("run", "match"), "journeys": pmflow("run", "journeys")}
    logs = {name: (tmp_path / f"{name}.log").open("w+") for name in commands}
    processes = {name: subprocess.Popen(argv, cwd=ROOT, env=env, stdout=logs[name], stderr=subprocess.STDOUT)
                 for name, argv in commands.items()}

    reads = []  # (seconds the query took, count, output) for each `pmflow sql` while the others run
    while any(p.poll() is None for p in processes.values()) or len(reads) < 3:
        started = time.monotonic()
        done = subprocess.run(pmflow("sql", "SELECT count(*) AS n FROM core.slack_messages", "--format", "csv"),
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=LOCK_TIMEOUT_S + 60)
        reads.append((time.monotonic() - started, done.returncode, done.stdout + done.stderr))
    for p in processes.values():
        p.wait(600)
    outputs = {}
    for name, log in logs.items():
        log.seek(0)
        outputs[name] = log.read()
        log.close()

    for name, p in processes.items():
        assert p.returncode == 0, f"{name} failed:\n{outputs[name][-4000:]}"
        assert not [w for w in FORBIDDEN if w in outputs[name]], f"{name}:\n{outputs[name][-4000:]}"
    assert all(code == 0 for _, code, _ in reads), [r for r in reads if r[1] != 0]
    assert not [r for r in reads if any(w in r[2] for w in FORBIDDEN)]
    counts = [int(out.splitlines()[1]) for _, _, out in reads]
    assert max(seconds for seconds, _, _ in reads) < LOCK_TIMEOUT_S, reads
    final = wh.query("SELECT count(*) FROM core.slack_messages")[0][0]
    assert counts == sorted(counts) and baseline <= counts[0] and counts[-1] == final, counts
    assert final == baseline + len(cited)

    # Ingestion: exactly the ground truth.
    assert slack_differences(world, wh) == []
    assert linear_differences(world, wh) == []

    # The hourly schedules run again after the burst; then the results are checked.
    for step in (pmflow("run", "match"), pmflow("run", "journeys")):
        done = subprocess.run(step, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    # Matching: every unit decided exactly once; every cited ticket linked by its reference.
    duplicates = wh.query("SELECT workspace_id, source_kind, source_id, count(*) FROM marts.ticket_links "
                          "GROUP BY ALL HAVING count(*) > 1")
    assert duplicates == []
    undecided = wh.query("SELECT u.source_id FROM staging.match_units u LEFT JOIN marts.ticket_links l "
                         "ON l.workspace_id = u.workspace_id AND l.source_id = u.source_id WHERE l.source_id IS NULL")
    assert undecided == []
    linked = dict(wh.query(
        "SELECT m.text, l.ticket_id FROM marts.ticket_links l JOIN core.slack_messages m "
        "ON m.workspace_id = l.workspace_id AND l.source_id LIKE '%' || m.ts || '%' "
        "WHERE m.text LIKE 'Picking up %' AND l.decision = 'linked' AND l.method = 'reference'"))
    identifiers = dict(wh.query("SELECT issue_id, identifier FROM core.linear_issues"))
    for ticket in cited:
        text = f"Picking up {ticket.identifier} today, it is the one customers hit"
        assert identifiers.get(linked.get(text), linked.get(text)) == ticket.identifier, (text, linked)
    # Journeys: the marts equal the reference computed from the world's histories.
    with wh.connect() as con:
        assert journey_differences(con, world.journey_histories(), load_stage_config(), as_of) == []
