"""Shared fixtures. Prefect settings are applied before anything imports Prefect."""
from __future__ import annotations

import pytest

from pmflow.prefect_env import apply_prefect_defaults

apply_prefect_defaults()


@pytest.fixture(scope="session")
def prefect_api_url():
    """One Prefect test server per session (~14 s to start), shared by every test that runs flows.
    Its URL is what subprocesses need (PREFECT_API_URL) to report to the same server."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()


@pytest.fixture
def warehouse_path(tmp_path, monkeypatch):
    """A fresh warehouse file for one test, also exported as PMFLOW_WAREHOUSE for flows and CLIs."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PMFLOW_WAREHOUSE", str(path))
    return path


@pytest.fixture
def sandbox(monkeypatch, warehouse_path):
    """Starts a sandbox for a world and points the Slack, Linear and GitHub settings at it; stopped after the test.

    Usage: `server = sandbox(World.generate(7, "tiny"), faults=FaultPlan(...))`.
    """
    from connectors.sandbox.server import SandboxServer

    servers = []

    def start(world, faults=None, **kwargs):
        server = SandboxServer(world, faults=faults, **kwargs).start()
        servers.append(server)
        monkeypatch.setenv("SLACK_API_URL", server.slack_api_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", world.slack_bot_token)
        if any(service.name == "linear" for service in kwargs.get("services") or [server.service("linear")]):
            # Linear: the sandbox's endpoint and key; its rows go under the Slack team id, as in the demo.
            monkeypatch.setenv("LINEAR_API_URL", server.linear_api_url)
            monkeypatch.setenv("LINEAR_API_KEY", world.linear_api_key)
            monkeypatch.setenv("LINEAR_WORKSPACE_ID", world.workspace_id)
        if any(service.name == "github" for service in kwargs.get("services") or [server.service("github")]):
            # GitHub: the sandbox's REST base, token and repositories; rows under the Slack team id.
            monkeypatch.setenv("GITHUB_API_URL", server.github_api_url)
            monkeypatch.setenv("GITHUB_TOKEN", world.github_token)
            monkeypatch.setenv("GITHUB_REPOS", ",".join(world.github_repos))
            monkeypatch.setenv("GITHUB_WORKSPACE_ID", world.workspace_id)
        return server

    yield start
    for server in servers:
        server.stop()
