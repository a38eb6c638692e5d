"""Ingestion as real processes: killed mid-load, or two at once, the warehouse ends at the truth."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors.sandbox.world import World
from tests.support.slack_truth import slack_differences, stored_messages
from warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("prefect_api_url")


def start_ingest(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pmflow.cli", "run", "ingest", "--source", "slack"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@pytest.fixture
def ingest_env(sandbox, warehouse_path, prefect_api_url):
    def make(world, **server_options):
        server = sandbox(world, **server_options)
        env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "PMFLOW_WAREHOUSE": str(warehouse_path),
               "SLACK_API_URL": server.slack_api_url, "SLACK_BOT_TOKEN": world.slack_bot_token,
               # small pages and batches: many commits, so a kill lands between and inside them
               "SLACK_PAGE_SIZE": "5", "SLACK_BATCH_ROWS": "10"}
        return server, env
    return make


@pytest.mark.parametrize("kill_after_requests", [6, 20])
def test_sigkill_mid_load_then_rerun_reaches_ground_truth(ingest_env, warehouse_path, kill_after_requests):
    world = World.generate(seed=21, size="tiny")
    server, env = ingest_env(world, latency_s=0.05)
    process = start_ingest(env)
    deadline = time.monotonic() + 120
    while server.stats()["total"] < kill_after_requests:
        assert process.poll() is None, f"ingestion ended before the kill point:\n{process.stdout.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(30)

    partial = len(stored_messages(Warehouse(warehouse_path))) if warehouse_path.exists() else 0
    assert partial < len(world.expected_slack_messages()), "the kill came after the load had finished"

    rerun = start_ingest(env)
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    assert slack_differences(world, Warehouse(warehouse_path)) == []


def test_two_ingestions_started_at_once_both_finish_correctly(ingest_env, warehouse_path):
    world = World.generate(seed=22, size="tiny")
    _, env = ingest_env(world, latency_s=0.01)
    first, second = start_ingest(env), start_ingest(env)
    outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    assert not any("Traceback" in o for o in outputs), outputs
    assert slack_differences(world, Warehouse(warehouse_path)) == []
