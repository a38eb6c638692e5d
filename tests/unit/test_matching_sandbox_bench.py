"""benchmarks/matching.py --sandbox --incremental: the history fed step by step reaches every unit."""
from __future__ import annotations

from pmflow.matching.sandbox_bench import incremental_benchmark


def test_the_history_fed_step_by_step_ends_with_every_unit_decided_once(tmp_path):
    result = incremental_benchmark(7, "tiny", step_days=10, directory=str(tmp_path))
    assert result["runs"] > 3
    run_by_run, one_run = result["run_by_run"], result["one_run"]
    assert sum(run_by_run["decisions"].values()) == sum(one_run["decisions"].values()) > 0
    assert run_by_run["github"]["units"] == one_run["github"]["units"] > 0
