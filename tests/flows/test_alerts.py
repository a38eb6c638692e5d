"""Flow-failure alerts: a failed run posts to Slack (the sandbox) with the run's URL, never a secret."""
from __future__ import annotations

import pytest
from prefect import flow

from connectors.sandbox import SandboxServer, World
from tasks.alerts import ALERT_HOOKS, MASK, alert_text, flow_run_url, redact

TOKEN = "xoxb-1234567890-abcdefghijklmnop"


@pytest.fixture
def slack_sandbox(monkeypatch, tmp_path):
    world = World.generate(seed=3, size="tiny")
    with SandboxServer(world) as server:
        monkeypatch.setenv("SLACK_API_URL", server.slack_api_url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("PMFLOW_WAREHOUSE", str(tmp_path / "wh.duckdb"))
        yield server


def channel_messages(world: World, channel_name: str) -> list[str]:
    channel = next(c for c in world.slack.channels.values() if c.name == channel_name)
    return [m.text for m in channel.by_ts.values()]


@flow(name="ops-test-failing", **ALERT_HOOKS)
def failing_flow(reason: str) -> None:
    raise RuntimeError(reason)


def test_a_failed_run_posts_an_alert_with_the_run_url_and_no_secret(slack_sandbox, monkeypatch):
    channel = next(iter(slack_sandbox.world.slack.channels.values())).name
    monkeypatch.setenv("PMFLOW_ALERT_CHANNEL", channel)
    before = len(channel_messages(slack_sandbox.world, channel))

    state = failing_flow(f"could not reach Slack with token {TOKEN}", return_state=True)

    assert state.is_failed()
    assert slack_sandbox.stats()["requests"]["slack"].get("chat.postMessage") == 1
    posted = channel_messages(slack_sandbox.world, channel)[before:]
    assert len(posted) == 1
    text = posted[0]
    run_id = state.state_details.flow_run_id
    assert f"/runs/flow-run/{run_id}" in text and text.startswith(":rotating_light:")
    assert "ops-test-failing" in text and "could not reach Slack" in text
    assert TOKEN not in text and MASK in text


def test_without_an_alert_channel_the_failure_is_only_logged(slack_sandbox, monkeypatch):
    monkeypatch.delenv("PMFLOW_ALERT_CHANNEL", raising=False)
    state = failing_flow("boom", return_state=True)
    assert state.is_failed()
    assert "chat.postMessage" not in slack_sandbox.stats()["requests"].get("slack", {})


def test_an_alert_that_cannot_be_posted_does_not_hide_the_failure(slack_sandbox, monkeypatch):
    monkeypatch.setenv("PMFLOW_ALERT_CHANNEL", "no-such-channel")
    state = failing_flow("boom", return_state=True)
    assert state.is_failed() and "boom" in state.message


def test_redact_masks_environment_secrets_token_shapes_and_url_credentials():
    env = {"SLACK_BOT_TOKEN": "xoxb-secret-value-1", "OPENAI_ADMIN_KEY": "plain-admin-secret", "HOME": "/home/me"}
    text = ("token xoxb-secret-value-1, admin plain-admin-secret, gh ghp_abcdefghijklmnopqrstuvwxyz0123, "
            "openai sk-proj-abcdefghijklmnop1234, db postgresql+asyncpg://prefect:hunter2@db:5432/prefect, "
            "Authorization: Bearer abc.def.ghi-jkl, home /home/me")
    redacted = redact(text, env)
    for secret in ("xoxb-secret", "plain-admin-secret", "ghp_", "sk-proj", "hunter2", "abc.def.ghi"):
        assert secret not in redacted
    assert "/home/me" in redacted and "postgresql+asyncpg://" in redacted and "@db:5432" in redacted


def test_alert_text_links_the_run_in_the_ui(monkeypatch):
    from types import SimpleNamespace

    from prefect.settings import PREFECT_UI_URL, temporary_settings

    run = SimpleNamespace(id="0b9c1a8e-0000-4000-8000-000000000001", name="brave-otter")
    state = SimpleNamespace(name="Failed", message="Flow run encountered an exception: TransientError: HTTP 500")
    with temporary_settings({PREFECT_UI_URL: "http://127.0.0.1:4200"}):
        assert flow_run_url(run.id) == f"http://127.0.0.1:4200/runs/flow-run/{run.id}"
        text = alert_text("ingest-slack", run, state)
    assert f"Run: http://127.0.0.1:4200/runs/flow-run/{run.id}" in text
    assert "ingest-slack" in text and "brave-otter" in text and "HTTP 500" in text
