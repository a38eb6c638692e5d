"""Soak: the demo pipeline several times in a row against a growing sandbox (scripts/soak.py), each
run its own process as under a process worker: no duplicate natural key in any core table or keyed
mart after any run, each run's peak memory stable, and the work of an incremental run (requests,
rows inserted) set by the new data, not by the size the warehouse has reached.

Default run: 3 runs (a full one and two incremental ones), with a loose memory bound (two points make
a poor slope). The full soak, 20 runs with the strict bounds and the wall-time check, is *slow*:

    python3 dev.py test -m slow tests/reliability/test_soak.py
    # or, outside pytest:  .venv/bin/python scripts/soak.py --runs 20
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.sandbox.linear_api import schema_path

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.usefixtures("prefect_api_url"),
              pytest.mark.skipif(not schema_path().exists(), reason=f"Linear schema not found at {schema_path()}")]


def soak(runs: int, tmp_path: Path, prefect_api_url: str, *options: str) -> dict:
    out = tmp_path / "soak.json"
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url}
    done = subprocess.run([sys.executable, "scripts/soak.py", "--runs", str(runs), "--json", str(out),
                           "--warehouse", str(tmp_path / "data" / "warehouse.duckdb"), *options],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300 + 240 * runs)
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    verdict = json.loads(out.read_text())
    assert done.returncode == 0 and verdict["failures"] == [], (verdict["failures"], done.stdout[-3000:])
    return verdict


def check_runs(runs: list[dict]) -> None:
    assert all(r["duplicates"] == [] for r in runs)
    full, incremental = runs[0], runs[1:]
    for r in incremental:
        assert r["core_rows"] > full["core_rows"]  # the sandbox grew and the warehouse followed
        assert r["requests"] < full["requests"] / 2, (r, full)  # incremental, not a re-read
        assert 0 < r["inserted"] < full["inserted"] / 5, (r, full)


def test_three_pipeline_runs_on_a_growing_workspace(tmp_path, prefect_api_url):
    verdict = soak(3, tmp_path, prefect_api_url, "--max-rss-growth-mb", "40", "--max-rss-growth-pct", "30")
    check_runs(verdict["runs"])


@pytest.mark.slow
def test_twenty_pipeline_runs_on_a_growing_workspace(tmp_path, prefect_api_url):
    verdict = soak(20, tmp_path, prefect_api_url)
    check_runs(verdict["runs"])
