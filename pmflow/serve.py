"""`pmflow serve`: a local Prefect server, the work pool, every deployment of prefect.yaml, a worker.

    pmflow serve                  # UI on http://127.0.0.1:4200; Ctrl-C stops everything it started

Steps, each idempotent (running it again, or against a server already up, changes nothing else):
1. Starts `prefect server start` on PMFLOW_SERVE_HOST:PMFLOW_SERVE_PORT, unless a Prefect server
   already answers there (then it is used, and left running on exit). The server keeps its history
   in PREFECT_HOME (SQLite), or in PostgreSQL when PREFECT_API_DATABASE_CONNECTION_URL says so.
2. Creates the process work pool (PMFLOW_WORK_POOL, default pmflow-process) and the global
   concurrency limits per external API (tag:slack-api ...), when missing: limits changed in the UI
   are kept.
3. Runs `prefect deploy --all` on prefect.yaml: schedules, parameters, concurrency and tags are data
   there.
4. Starts a process worker on the pool. Flow runs inherit the worker's environment: export
   SLACK_BOT_TOKEN, PMFLOW_WAREHOUSE... before `pmflow serve`.

Ctrl-C (or SIGTERM) stops the worker, then the server, each with its child processes.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from pmflow.ops_settings import OpsSettings, ops_settings
from pmflow.prefect_env import apply_prefect_defaults

PROJECT_DIR = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0


class ServeError(RuntimeError):
    pass


def project_dir() -> Path:
    """Where prefect.yaml is: the current directory if it has one, else the pmflow checkout."""
    cwd = Path.cwd()
    return cwd if (cwd / "prefect.yaml").exists() else PROJECT_DIR


def prefect_bin() -> str:
    local = Path(sys.executable).with_name("prefect")
    return str(local) if local.exists() else (shutil.which("prefect") or "prefect")


def api_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/api"


def is_healthy(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout_s) as response:
            return response.status == 200
    except OSError:
        return False


def wait_healthy(url: str, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_healthy(url):
            return
        if process is not None and process.poll() is not None:
            raise ServeError(f"the Prefect server exited with code {process.returncode} before answering at {url}")
        time.sleep(0.5)
    raise ServeError(f"the Prefect server did not answer at {url} within {timeout_s:.0f} s")


def child_env(host: str, port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(
        PREFECT_API_URL=api_url(host, port),
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
    )
    return env


def start(command: Sequence[str], env: dict[str, str], *, log_path: Path | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """A child in its own session, so a terminal's Ctrl-C reaches only `pmflow serve`, which then
    stops its children in order."""
    stdout = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed with the process
    return subprocess.Popen(list(command), env=env, cwd=cwd, stdout=stdout, stderr=subprocess.STDOUT if stdout else None,
                            start_new_session=True)


def stop(process: subprocess.Popen, name: str, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM to the child's process group (its own children too), then SIGKILL after `timeout_s`."""
    if process.poll() is not None:
        return
    print(f"pmflow serve: stopping the {name}...", flush=True)
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def setup_server(url: str, settings: OpsSettings) -> list[str]:
    """Creates the work pool and the global concurrency limits that are missing; returns what it created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.workers.process import ProcessWorker

    created = []
    with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        try:
            client.read_work_pool(settings.work_pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=settings.work_pool,
                type="process",
                description="pmflow: flow runs as local processes (pmflow serve)",
                base_job_template=ProcessWorker.get_default_base_job_template(),
            ))
            created.append(f"work pool {settings.work_pool}")
        for name, limit in settings.concurrency_limits().items():
            try:
                client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
                created.append(f"concurrency limit {name}={limit}")
    return created


def deploy_all(env: dict[str, str], directory: Path) -> str:
    """`prefect deploy --all` on the project's prefect.yaml; returns its output."""
    result = subprocess.run(
        [prefect_bin(), "--no-prompt", "deploy", "--all", "--prefect-file", str(directory / "prefect.yaml")],
        env=env, cwd=directory, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise ServeError(f"`prefect deploy --all` failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def deployment_names(url: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        return sorted(f"{flows.get(d.flow_id, '?')}/{d.name}" for d in client.read_deployments())


def serve(host: str | None = None, port: int | None = None, *, deploy: bool = True, worker: bool = True) -> int:
    apply_prefect_defaults()
    settings = ops_settings()
    host, port = host or settings.serve_host, port or settings.serve_port
    url, env, directory = api_url(host, port), child_env(host, port), project_dir()
    children: list[tuple[str, subprocess.Popen]] = []

    def _terminate(signum, frame):  # SIGTERM ends serve like Ctrl-C does
        raise KeyboardInterrupt

    # Set SIGINT too: a process started in the background by a non-interactive shell (`pmflow serve &`
    # in a script, a CI runner) inherits SIGINT ignored, and Ctrl-C would never reach it.
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if is_healthy(url):
            print(f"pmflow serve: using the Prefect server already at {url}", flush=True)
        else:
            from prefect.settings import get_current_settings

            home = Path(get_current_settings().home)
            home.mkdir(parents=True, exist_ok=True)
            log = home / "pmflow-server.log"
            print(f"pmflow serve: starting the Prefect server on {host}:{port} (log: {log})...", flush=True)
            server = start([prefect_bin(), "server", "start", "--host", host, "--port", str(port)], env, log_path=log)
            children.append(("Prefect server", server))
            wait_healthy(url, SERVER_START_TIMEOUT_S, server)
        for item in setup_server(url, settings):
            print(f"pmflow serve: created {item}", flush=True)
        if deploy:
            print(f"pmflow serve: deploying {directory / 'prefect.yaml'}...", flush=True)
            deploy_all(env, directory)
        if worker:
            children.append(("worker", start(
                [prefect_bin(), "worker", "start", "--pool", settings.work_pool, "--type", "process"], env, cwd=directory,
            )))
        ui = url.removesuffix("/api")
        names = deployment_names(url)
        print(
            f"\npmflow serve: ready. Prefect UI: {ui}\n"
            f"  deployments: {', '.join(names) or 'none'}\n"
            f"  run one now: PREFECT_API_URL={url} prefect deployment run '{names[0] if names else 'FLOW/DEPLOYMENT'}'\n"
            "  Ctrl-C stops the worker and the server.\n",
            flush=True,
        )
        while True:
            for name, process in children:
                if process.poll() is not None:
                    raise ServeError(f"the {name} exited unexpectedly (code {process.returncode})")
            time.sleep(1.0)
    except KeyboardInterrupt:
        print("\npmflow serve: shutting down.", flush=True)
        return 0
    except ServeError as exc:
        print(f"pmflow serve: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for name, process in reversed(children):
            stop(process, name)
