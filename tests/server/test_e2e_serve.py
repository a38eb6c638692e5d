"""End to end on a real Prefect server: `pmflow serve` (server, work pool, `prefect deploy --all`,
worker) on 127.0.0.1 with a temporary PREFECT_HOME (SQLite), flows against the sandbox.

- every deployment of prefect.yaml exists with its schedules (right time zone), tags, pool and limit;
- each deployment triggered through the API completes and publishes its artifacts;
- a persistent fault: the run fails after its retries, the Slack alert (with the run's URL) reaches
  the sandbox, "Retry" as the UI does it resumes from the committed cursors once the fault clears,
  and nothing is duplicated in the warehouse;
- Ctrl-C stops the worker and the server.

The two that run flows are *slow* (about 4 min together): CI runs them, after the default run.
"""
from __future__ import annotations

import threading
import time
from urllib.parse import parse_qsl

import pytest

from connectors.sandbox import FaultPlan, SandboxServer, World
from connectors.sandbox.faults import Fault
from tests.server.serving import (
    ROOT,
    Serve,
    artifact_keys,
    flow_run_tree,
    free_port,
    serve_env,
    wait_for_runs,
    wait_for_task_runs_final,
    yaml_deployments,
)
from warehouse import Warehouse

pytestmark = pytest.mark.server

# Artifacts each flow must publish (flows not listed must publish at least one, in their run tree).
EXPECTED_ARTIFACTS = {
    "flows/ingest.py:ingest_slack": {"ingest-slack-load-report", "data-quality-slack"},
    "flows/pipeline.py:pipeline": {"ingest-slack-load-report", "data-quality-slack"},
    "flows/ingest.py:ingest_linear": {"ingest-linear-load-report", "data-quality-linear"},
    "flows/ingest.py:ingest_github": {"ingest-github-load-report", "data-quality-github"},
    "flows/match_tickets.py:match_tickets": {"ticket-links-today", "untracked-work"},
    "flows/journeys.py:journeys": {"journey-funnel", "stuck-work"},
    "flows/costs.py:costs": {"cost-daily", "spend-vs-budget"},
}


class ChannelFaults(FaultPlan):
    """Records every conversations.history request's parameters; answers HTTP 500 to conversations.history for the
    channels in `failing` (a persistent fault, however often the client retries)."""

    def __init__(self) -> None:
        super().__init__(rate=0.0)
        self.failing: set[str] = set()
        self.history: list[dict] = []
        self._log_lock = threading.Lock()

    def draw(self, service, endpoint, applicable, request_key):
        if service == "slack" and endpoint == "conversations.history":
            body, query = request_key[2], dict(request_key[3])
            query.update(parse_qsl(body.decode("utf-8", "replace")) if body and not body.startswith(b"{") else {})
            with self._log_lock:
                self.history.append(query)
            if query.get("channel") in self.failing:
                return Fault("server_error", 500)
        return None


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    world = World.generate(seed=7, size="tiny")
    faults = ChannelFaults()
    alert_channel = sorted(world.slack.channels.values(), key=lambda c: c.id)[0]
    with SandboxServer(world, faults=faults) as sandbox:
        env = {
            "SLACK_API_URL": sandbox.slack_api_url,
            "SLACK_BOT_TOKEN": world.slack_bot_token,
            "SLACK_MAX_RETRIES": "1",
            "SLACK_RESCAN_DAYS": "0",  # a run re-reads from its cursor exactly: resumption is visible
            "LINEAR_API_URL": sandbox.linear_api_url,
            "LINEAR_API_KEY": world.linear_api_key,
            "LINEAR_WORKSPACE_ID": world.workspace_id,
            "GITHUB_API_URL": sandbox.github_api_url,
            "GITHUB_TOKEN": world.github_token,
            "GITHUB_REPOS": ",".join(world.github_repos),
            "GITHUB_WORKSPACE_ID": world.workspace_id,
            "PMFLOW_WORKSPACE_ID": world.workspace_id,
            "OPENAI_BASE_URL": sandbox.openai_base_url,
            "OPENAI_ADMIN_KEY": "sk-admin-e2e-test-key-0123456789",
            "PMFLOW_WAREHOUSE": str(tmp / "warehouse.duckdb"),
            "PMFLOW_ALERT_CHANNEL": alert_channel.name,
            "PMFLOW_STANDUP_CHANNEL": alert_channel.name,
        }
        serve = Serve(free_port(), serve_env(tmp / "prefect-home", env), tmp / "serve.log")
        try:
            serve.ready_s = serve.wait_ready(len(yaml_deployments()))
            print(f"\npmflow serve ready in {serve.ready_s:.1f} s")
            yield {"serve": serve, "sandbox": sandbox, "world": world, "faults": faults, "env": env,
                   "alert_channel": alert_channel, "warehouse": Warehouse(env["PMFLOW_WAREHOUSE"])}
        finally:
            serve.stop()


def deployment_ids(serve: Serve) -> dict[tuple[str, str], object]:
    """(entrypoint, deployment name) -> deployment id."""
    with serve.client() as client:
        return {(d.entrypoint, d.name): d.id for d in client.read_deployments()}


# Parameters a triggered run overrides (as a person would in the UI's "Custom run" form).
OVERRIDES = {
    ("flows/standup.py:standup", "daily"): {"force": True},  # the test may run on a weekend
}


def run_deployments(serve: Serve, ids: list) -> dict:
    with serve.client() as client:
        names = {d.id: (d.entrypoint, d.name) for d in client.read_deployments()}
        return {client.create_flow_run_from_deployment(i, parameters=OVERRIDES.get(names[i])).id: i for i in ids}


def test_every_deployment_is_on_the_server_as_prefect_yaml_says(stack):
    serve = stack["serve"]
    with serve.client() as client:
        deployments = {(d.entrypoint, d.name): d for d in client.read_deployments()}
        limits = {limit.name: limit.limit for limit in client.read_global_concurrency_limits(limit=100)}
    assert len(deployments) == len(yaml_deployments())
    for spec in yaml_deployments():
        deployment = deployments[(spec["entrypoint"], spec["name"])]
        served = sorted((s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules)
        declared = sorted((s["cron"], s["timezone"], s.get("active", True)) for s in spec.get("schedules") or [])
        assert served == declared, spec["entrypoint"]
        assert deployment.work_pool_name == "pmflow-process"
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy == spec["concurrency_limit"]["collision_strategy"]
        assert set(deployment.tags) == set(spec["tags"])
        assert deployment.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    hourly = deployments[("flows/ingest.py:ingest_slack", "hourly")]
    assert [(s.schedule.cron, s.schedule.timezone) for s in hourly.schedules] == [("0 * * * *", "UTC")]
    for name in ("tag:slack-api", "tag:linear-api", "tag:github-api", "tag:openai-api", "tag:warehouse-write"):
        assert name in limits


@pytest.mark.slow  # ~3 min: every deployment runs; CI runs it (.ci/run)
def test_each_deployment_triggered_through_the_api_completes_with_its_artifacts(stack):
    """Ingestion first (all sources at once), then everything that reads what it wrote."""
    serve = stack["serve"]
    ids = deployment_ids(serve)
    by_deployment = {v: k for k, v in ids.items()}
    ingestion = [i for (entrypoint, _), i in ids.items() if entrypoint.startswith("flows/ingest.py:")]
    for wave in (ingestion, [i for i in ids.values() if i not in ingestion]):
        started = time.monotonic()
        runs = run_deployments(serve, wave)
        finished = wait_for_runs(serve, list(runs))
        print(f"\n{len(runs)} deployments ran concurrently in {time.monotonic() - started:.1f} s")
        for run_id, run in finished.items():
            entrypoint, name = by_deployment[runs[run_id]]
            assert run.state.is_completed(), f"{entrypoint}/{name}: {run.state.name} {run.state.message}\n{serve.log_tail()}"
            keys = artifact_keys(serve, flow_run_tree(serve, run_id))
            assert keys >= EXPECTED_ARTIFACTS.get(entrypoint, set()) and keys, f"{entrypoint}/{name}: artifacts {keys}"
        if wave is ingestion:  # before the standup posts to Slack
            stored = stack["warehouse"].query("SELECT count(*) FROM core.slack_messages")[0][0]
            assert stored == len(stack["world"].expected_slack_messages())


@pytest.mark.slow  # ~1 min; CI runs it (.ci/run)
def test_a_persistent_fault_fails_alerts_and_a_retry_from_the_ui_resumes_from_the_cursor(stack):
    serve, sandbox, world, faults, wh = stack["serve"], stack["sandbox"], stack["world"], stack["faults"], stack["warehouse"]
    ingest = deployment_ids(serve)[("flows/ingest.py:ingest_slack", "hourly")]
    ws = world.workspace_id
    if not wh.query("SELECT count(*) FROM ops.sync_state WHERE source = 'slack' AND stream = 'messages'")[0][0]:
        wait_for_runs(serve, list(run_deployments(serve, [ingest])))  # when run alone
    cursors_before = dict(wh.query(
        "SELECT partition_key, cursor FROM ops.sync_state WHERE workspace_id = ? AND source = 'slack' AND stream = 'messages'", [ws]))
    channels = sorted(cursors_before)
    open_channels = [c for c in channels if not world.slack.channels[c].is_archived]
    broken = open_channels[-1]
    for channel in open_channels:
        world.post_message(channel, f"new work in {channel}: the export job times out")
    faults.failing = {broken}
    faults.history.clear()
    alerts_before = sandbox.stats()["requests"]["slack"].get("chat.postMessage", 0)

    run_id = next(iter(run_deployments(serve, [ingest])))
    run = wait_for_runs(serve, [run_id])[run_id]

    # The run failed after the retries, on the broken channel only.
    assert run.state.is_failed(), run.state
    attempts = [q for q in faults.history if q.get("channel") == broken]
    assert len(attempts) == 4 * 2  # 4 task attempts (3 retries) x 2 client attempts (SLACK_MAX_RETRIES=1)
    task_runs = wait_for_task_runs_final(serve, run_id)
    failed = [t for t in task_runs if t.state.is_failed()]
    assert len(failed) == 1 and failed[0].run_count == 4, [(t.name, t.state.name, t.run_count) for t in task_runs]
    # The alert reached the sandbox, with the run's URL and no secret.
    assert sandbox.stats()["requests"]["slack"].get("chat.postMessage", 0) == alerts_before + 1
    alert = [m.text for m in stack["alert_channel"].by_ts.values() if f"/runs/flow-run/{run_id}" in m.text]
    assert len(alert) == 1, "one alert naming this run"
    assert alert[0].count(f"{serve.ui_url}/runs/flow-run/{run_id}") == 1
    for secret in (world.slack_bot_token, world.linear_api_key, world.github_token, stack["env"]["OPENAI_ADMIN_KEY"]):
        assert secret not in alert[0]
    # The healthy channels committed their new cursors; the broken one kept its old cursor.
    cursors_failed = dict(wh.query(
        "SELECT partition_key, cursor FROM ops.sync_state WHERE workspace_id = ? AND source = 'slack' AND stream = 'messages'", [ws]))
    assert cursors_failed[broken] == cursors_before[broken]
    assert all(float(cursors_failed[c]) > float(cursors_before[c]) for c in open_channels if c != broken)

    # The fault clears; "Retry" as the UI sends it (same flow run, back to Scheduled).
    faults.failing = set()
    faults.history.clear()
    from prefect.states import Scheduled

    with serve.client() as client:
        client.set_flow_run_state(run_id, Scheduled(name="AwaitingRetry", message="Retry from the UI"), force=True)
    run = wait_for_runs(serve, [run_id], is_done=lambda r: r.state.is_completed() or (r.state.is_final() and r.run_count > 1))[run_id]
    assert run.state.is_completed(), f"{run.state.name} {run.state.message}\n{serve.log_tail()}"
    assert run.run_count == 2

    # Every channel was read from its last committed cursor (SLACK_RESCAN_DAYS=0: oldest == cursor).
    oldest = {q["channel"]: q.get("oldest") for q in faults.history}
    assert oldest == {c: cursors_failed[c] for c in channels}
    # Nothing is duplicated, nothing is missing.
    expected = {(m["channel_id"], m["ts"]) for m in world.expected_slack_messages()}
    stored = wh.query("SELECT channel_id, ts FROM core.slack_messages WHERE workspace_id = ?", [ws])
    assert len(stored) == len(set(stored)) and set(stored) == expected
    raw = wh.query("SELECT count(*), count(DISTINCT (record_key, payload_hash)) FROM raw.slack_messages")[0]
    assert raw[0] == raw[1]
    assert wh.query("SELECT count(*) = count(DISTINCT (workspace_id, source, stream, partition_key)) FROM ops.sync_state") == [(True,)]


def test_ctrl_c_stops_the_worker_and_the_server(stack):
    from pmflow.serve import is_healthy

    serve = stack["serve"]
    started = time.monotonic()
    assert serve.stop() == 0, serve.log_tail()
    print(f"\npmflow serve stopped in {time.monotonic() - started:.1f} s")
    assert not is_healthy(serve.url)
    assert "stopping the worker" in serve.log.read_text() and "stopping the Prefect server" in serve.log.read_text()
