"""Helpers (not fixtures) for tests that run a real Prefect server (`pmflow serve`) on 127.0.0.1.

Each such test starts `pmflow serve` on a free port with its own PREFECT_HOME (SQLite, or the
PostgreSQL it started), so it never touches a developer's server, and stops it with SIGINT, as a
person pressing Ctrl-C would.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PMFLOW = str(Path(sys.executable).with_name("pmflow"))
READY_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def yaml_deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


def serve_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of `pmflow serve` (and so of the worker and every flow run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="CRITICAL",
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE="100",
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE="100",
        # The test triggers runs itself: no scheduled run may start in the middle of it.
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def _as_a_background_job() -> None:
    """SIGINT ignored, as a non-interactive shell starts `pmflow serve &` (a script, a CI runner):
    Ctrl-C must stop it all the same."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Serve:
    """A running `pmflow serve`: its URL, a client factory, and a clean stop."""

    def __init__(self, port: int, env: dict[str, str], log: Path):
        self.port, self.env, self.log = port, env, log
        self.url = f"http://127.0.0.1:{port}/api"
        self.ui_url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [PMFLOW, "serve", "--port", str(port)], cwd=ROOT, env=env,
            stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115 - closed by the OS at exit
            preexec_fn=_as_a_background_job,
        )

    @contextmanager
    def client(self):
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.url}), get_client(sync_client=True) as client:
            yield client

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, deployments: int, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Waits until every deployment exists and a worker polls the pool; returns the seconds taken."""
        from pmflow.serve import is_healthy

        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise AssertionError(f"pmflow serve exited with {self.process.returncode}:\n{self.log_tail()}")
            if is_healthy(self.url) and "ready" in self.log.read_text(errors="replace"):
                with self.client() as client:
                    workers = client.read_workers_for_work_pool("pmflow-process")
                    if len(client.read_deployments()) >= deployments and any(getattr(w.status, "value", w.status) == "ONLINE" for w in workers):
                        return time.monotonic() - started
            time.sleep(1.0)
        raise AssertionError(f"pmflow serve not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 90.0) -> int | None:
        """Ctrl-C: SIGINT to `pmflow serve`, which stops the worker then the server."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_for_runs(serve: Serve, run_ids: list, timeout_s: float = 300.0, is_done: Callable[[Any], bool] | None = None) -> dict:
    """Polls until every flow run is in a final state; returns {id: flow_run}."""
    is_done = is_done or (lambda run: run.state is not None and run.state.is_final())
    deadline = time.monotonic() + timeout_s
    with serve.client() as client:
        while True:
            runs = {run_id: client.read_flow_run(run_id) for run_id in run_ids}
            if all(is_done(run) for run in runs.values()):
                return runs
            if time.monotonic() > deadline:
                states = {str(k): (v.state.name if v.state else None) for k, v in runs.items()}
                raise AssertionError(f"runs not finished after {timeout_s:.0f} s: {states}\n{serve.log_tail()}")
            time.sleep(1.0)


def wait_for_task_runs_final(serve: Serve, flow_run_id, timeout_s: float = 60.0) -> list:
    """The flow run's task runs, once the server has recorded all of them in a final state."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    run_filter = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    deadline = time.monotonic() + timeout_s
    with serve.client() as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=run_filter)
            if runs and all(r.state and r.state.is_final() for r in runs) or time.monotonic() > deadline:
                return runs
            time.sleep(0.5)


def flow_run_tree(serve: Serve, flow_run_id) -> list:
    """The flow run and its subflow runs (recursively)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    found, frontier = [flow_run_id], [flow_run_id]
    with serve.client() as client:
        while frontier:
            children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier)))
            frontier = [c.id for c in children if c.id not in found]
            found += frontier
    return found


def artifact_keys(serve: Serve, flow_run_ids: list) -> set[str]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with serve.client() as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=flow_run_ids)))
    return {a.key for a in artifacts if a.key}
