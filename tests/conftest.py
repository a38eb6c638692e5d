"""Shared fixtures. Prefect settings are applied before anything imports Prefect."""
from __future__ import annotations

import pytest

from pmflow.prefect_env import apply_prefect_defaults

apply_prefect_defaults()


@pytest.fixture
def warehouse_path(tmp_path, monkeypatch):
    """A fresh warehouse file for one test, also exported as PMFLOW_WAREHOUSE for flows and CLIs."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PMFLOW_WAREHOUSE", str(path))
    return path
