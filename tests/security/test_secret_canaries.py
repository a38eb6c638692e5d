"""Secrets never leak: a canary value in every secret variable (SLACK_BOT_TOKEN, LINEAR_API_KEY,
GITHUB_TOKEN, OPENAI_API_KEY, OPENAI_ADMIN_KEY), then runs that exercise the paths where secrets
usually escape, all as real `pmflow` processes:

1. the whole pipeline (ingestion of every source, matching with OpenAI embeddings and adjudication,
   journeys, costs with the admin key, the standup with an AI summary) with transient faults on
   every service (429, 5xx, timeouts, cut bodies, resets: retries and their log lines);
2. Linear with a key the API rejects (PMFLOW_DEBUG=1: the traceback is printed), and
3. GitHub with a repository that does not exist (a failing task, a failed flow, a Slack alert).

Afterwards no canary is found in: the processes' stdout/stderr, any log line the Prefect API holds,
any artifact, flow run or task run (parameters, state messages, results), any column of any table
of the warehouse (every row cast to text), the bytes of any file under the data directory (the
warehouse file included), or any message posted to Slack (alerts).
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.sandbox.faults import ALL_KINDS, FaultPlan
from connectors.sandbox.linear_api import schema_path
from connectors.sandbox.world import World
from tests.support.pipeline_env import pipeline_env
from warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.usefixtures("prefect_api_url"),
              pytest.mark.skipif(not schema_path().exists(), reason=f"Linear schema not found at {schema_path()}")]


def canaries() -> dict[str, str]:
    """One distinct canary per secret, inside the shape the sandbox accepts for it."""
    tag = secrets.token_hex(4)
    return {"SLACK_BOT_TOKEN": f"xoxb-111-222-CANARYslack{tag}",
            "LINEAR_API_KEY": f"lin_api_CANARYlinear{tag}",
            "GITHUB_TOKEN": f"ghp_CANARYgithub{tag}aaaaaaaaaaaaaaaa",
            "OPENAI_API_KEY": f"sk-proj-CANARYopenai{tag}",
            "OPENAI_ADMIN_KEY": f"sk-admin-CANARYadmin{tag}"}


def needles(values: dict[str, str]) -> dict[str, str]:
    """What to look for: the distinctive middle of each canary (a masked prefix would hide nothing)."""
    return {name: value[value.index("CANARY"):] for name, value in values.items()}


def found_in(text: str, wanted: dict[str, str]) -> list[str]:
    return [name for name, needle in wanted.items() if needle in text]


def pmflow(args: list[str], env: dict) -> str:
    done = subprocess.run([sys.executable, "-m", "pmflow.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    return f"$ pmflow {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"


def prefect_records() -> list[tuple[str, str]]:
    """(what, text) for every log line, artifact, flow run and task run the Prefect API holds."""
    from prefect.client.orchestration import get_client

    records = []
    with get_client(sync_client=True) as client:
        for reader, what in ((client.read_logs, "log"), (client.read_artifacts, "artifact"),
                             (client.read_flow_runs, "flow run"), (client.read_task_runs, "task run")):
            offset = 0
            while True:
                batch = reader(limit=200, offset=offset)
                records += [(what, item.model_dump_json()) for item in batch]
                if len(batch) < 200:
                    break
                offset += 200
    return records


def warehouse_leaks(wh: Warehouse, wanted: dict[str, str]) -> list[str]:
    leaks = []
    tables = wh.query("SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal")
    assert len(tables) > 30, tables
    for schema, table in tables:
        for name, needle in wanted.items():
            (hits,), = wh.query(f'SELECT count(*) FROM "{schema}"."{table}" AS t WHERE contains(t::VARCHAR, ?)',
                                [needle])
            if hits:
                leaks.append(f"{schema}.{table}: {name} in {hits} rows")
    return leaks


def test_no_secret_reaches_logs_artifacts_the_warehouse_files_or_slack(sandbox, warehouse_path, prefect_api_url):
    world = World.generate(seed=81, size="tiny")
    faults = FaultPlan(rate=0.08, kinds=tuple(k for k in ALL_KINDS if k not in ("repeat_cursor", "duplicate_page")),
                       seed=9, retry_after_s=0, timeout_delay_s=2.5, slow_delay_s=0.1)
    server = sandbox(world, faults=faults)
    values = canaries()
    wanted = needles(values)
    channel = next(c["channel_id"] for c in world.expected_slack_channels() if not c["is_archived"])
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url,
           **pipeline_env(world, server, warehouse_path, secrets=values),
           "PMFLOW_STANDUP_SUMMARY": "true", "PMFLOW_ALERT_CHANNEL": channel,
           "SLACK_TIMEOUT_S": "2", "LINEAR_TIMEOUT_S": "2", "GITHUB_TIMEOUT_S": "2",
           "SLACK_PAGE_SIZE": "20", "LINEAR_ISSUE_PAGE_SIZE": "10", "GITHUB_PER_PAGE": "20"}

    transcripts = [pmflow(["run", "pipeline"], env)]
    assert "-> 0\n" in transcripts[0], transcripts[0][-4000:]
    assert sum(server.stats()["faults"].values()) >= 5, server.stats()["faults"]
    # The canaries were the credentials the services saw (a leak check of unused secrets proves nothing).
    assert values["LINEAR_API_KEY"] in server.service("linear")._windows
    assert values["GITHUB_TOKEN"] in server.service("github")._rates
    openai_calls = server.stats()["requests"].get("openai", {})
    assert any("embeddings" in e for e in openai_calls) and any("usage" in e for e in openai_calls), openai_calls
    server.faults = None
    bad_key = {**env, "LINEAR_API_KEY": f"not-a-linear-key-{values['LINEAR_API_KEY']}", "PMFLOW_DEBUG": "1"}
    transcripts.append(pmflow(["run", "ingest", "--source", "linear"], bad_key))
    missing_repo = {**env, "GITHUB_REPOS": env["GITHUB_REPOS"] + ",nowhere/does-not-exist"}
    transcripts.append(pmflow(["run", "ingest", "--source", "github"], missing_repo))
    assert "-> 0\n" not in transcripts[1] and "Traceback" in transcripts[1], transcripts[1][-3000:]
    assert "-> 0\n" not in transcripts[2], transcripts[2][-3000:]

    leaks = [f"output of {t.splitlines()[0]}: {found_in(t, wanted)}" for t in transcripts if found_in(t, wanted)]
    records = prefect_records()
    assert any(what == "log" and "Traceback" in text for what, text in records), "no traceback was logged"
    leaks += [f"Prefect {what}: {found_in(text, wanted)}: {text[:300]}" for what, text in records
              if found_in(text, wanted)]
    leaks += warehouse_leaks(Warehouse(warehouse_path), wanted)
    data_dir = warehouse_path.parent
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in files), "the run wrote no charts: the data directory is not exercised"
    for path in files:
        content = path.read_bytes()
        leaks += [f"file {path.relative_to(data_dir)}: {name}" for name, needle in wanted.items()
                  if needle.encode() in content]
    posted = [m["text"] or "" for m in world.expected_slack_messages() if m["channel_id"] == channel]
    assert any("pmflow flow" in text for text in posted), "no failure alert reached Slack"
    leaks += [f"Slack post: {found_in(text, wanted)}" for text in posted if found_in(text, wanted)]
    assert leaks == []
