"""Retries where they matter: transient faults (5xx, 429, timeouts) are retried with exponential
backoff and jitter; a 4xx that will not heal fails the task at once, with a clear message."""
from __future__ import annotations

import time

import pytest
from prefect import flow

from connectors.errors import PermanentError, TransientError
from connectors.sandbox import FaultPlan, SandboxServer, World
from tasks.common import TRANSIENT_RETRIES, retry_transient_only
from tasks.slack import identify_slack_workspace

# The production policy, with the delays taken out so the test does not wait 2 + 4 + 8 s.
fast_identify = identify_slack_workspace.with_options(retry_delay_seconds=0, retry_jitter_factor=None)


@flow
def identify() -> str:
    return fast_identify().workspace_id


@pytest.fixture
def slack(monkeypatch, tmp_path):
    world = World.generate(seed=2, size="tiny")
    with SandboxServer(world) as server:
        monkeypatch.setenv("SLACK_API_URL", server.slack_api_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", world.slack_bot_token)
        monkeypatch.setenv("SLACK_MAX_RETRIES", "0")  # the client's own retries off: count task attempts
        monkeypatch.setenv("PMFLOW_WAREHOUSE", str(tmp_path / "wh.duckdb"))
        yield server


def attempts(flow_state) -> int:
    """How many times the flow's one task ran (Prefect's run_count)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    run_filter = FlowRunFilter(id=FlowRunFilterId(any_=[flow_state.state_details.flow_run_id]))
    deadline = time.monotonic() + 60  # the server records task runs from events, a moment later
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=run_filter)
            if runs and runs[0].state and runs[0].state.is_final() or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert len(runs) == 1
    return runs[0].run_count


def auth_calls(server) -> int:
    return server.stats()["requests"].get("slack", {}).get("auth.test", 0)


def test_the_policy_is_exponential_backoff_with_jitter_on_transient_faults_only():
    assert TRANSIENT_RETRIES["retries"] == 3
    assert TRANSIENT_RETRIES["retry_delay_seconds"](3) == [2, 4, 8]
    assert TRANSIENT_RETRIES["retry_jitter_factor"] == 0.5
    assert TRANSIENT_RETRIES["retry_condition_fn"] is retry_transient_only
    assert fast_identify.retries == 3 and fast_identify.retry_condition_fn is retry_transient_only


def test_a_persistent_5xx_is_retried_then_fails(slack):
    slack.faults = FaultPlan(rate=1.0, kinds=("server_error",), endpoints=frozenset({"auth.test"}),
                             max_consecutive=10**6)
    state = identify(return_state=True)
    assert state.is_failed()
    assert auth_calls(slack) == 4 and attempts(state) == 4  # the first attempt and 3 retries
    with pytest.raises(TransientError, match="HTTP 50"):
        state.result()


def test_a_transient_5xx_heals_within_the_retries(slack):
    slack.faults = FaultPlan(rate=1.0, kinds=("server_error",), endpoints=frozenset({"auth.test"}), max_consecutive=2)
    assert identify() == slack.world.workspace_id
    assert auth_calls(slack) == 3


def test_a_bad_token_fails_at_once(slack, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-slack-token")
    state = identify(return_state=True)
    assert state.is_failed() and auth_calls(slack) == 1 and attempts(state) == 1
    with pytest.raises(PermanentError, match="invalid_auth"):
        state.result()


def test_an_http_4xx_fails_at_once(slack, monkeypatch):
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/no-such-api/")  # the sandbox answers HTTP 404
    state = identify(return_state=True)
    assert state.is_failed()
    with pytest.raises(PermanentError, match="refused: not_found"):
        state.result()
    assert attempts(state) == 1
