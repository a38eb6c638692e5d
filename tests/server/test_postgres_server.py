"""A PostgreSQL-backed Prefect server for several workers (docs/operations.md), with a real
PostgreSQL started and stopped by the test: initdb into a temporary directory, pg_ctl on 127.0.0.1
with a free port. `pmflow serve` runs on it with one worker, a second worker joins the pool, and
runs from two deployments complete; their history is in PostgreSQL, not in SQLite."""
from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from connectors.sandbox import SandboxServer, World
from tests.server.serving import PMFLOW, ROOT, Serve, free_port, serve_env, wait_for_runs, yaml_deployments

# Slow (measured 3.3 min on a 2-core machine at load average ~9): run it with `pytest -m slow`.
pytestmark = [pytest.mark.server, pytest.mark.slow]

NOBODY = 65534


def pg_bin(name: str) -> str | None:
    candidates = [shutil.which(name), *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: drop to nobody when the tests run as root."""
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if os.geteuid() == 0 else []


def _run(*args: str) -> None:
    result = subprocess.run([*as_postgres_user(), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@contextmanager
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port>; yields (Prefect connection URL, port).

    Its directory is a fresh one under /tmp (pytest's are private to root, and PostgreSQL runs as
    nobody when the tests run as root), removed afterwards."""
    if not (pg_bin("initdb") and pg_bin("pg_ctl")):
        pytest.skip("PostgreSQL binaries not found (Debian: apt-get install postgresql)")
    directory = Path(tempfile.mkdtemp(prefix="pmflow-pg-"))
    if os.geteuid() == 0:
        os.chown(directory, NOBODY, NOBODY)
    data, port = directory / "data", free_port()
    try:
        _run(pg_bin("initdb"), "-D", str(data), "-U", "prefect", "--auth=trust", "-E", "UTF8", "--no-locale")
        options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        _run(pg_bin("pg_ctl"), "-D", str(data), "-l", str(directory / "postgres.log"), "-w", "-t", "60", "-o", options, "start")
        try:
            asyncio.run(_create_database(port))
            yield f"postgresql+asyncpg://prefect@127.0.0.1:{port}/prefect", port
        finally:
            _run(pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def _create_database(port: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(host="127.0.0.1", port=port, user="prefect", database="postgres")
    try:
        await connection.execute("CREATE DATABASE prefect")
    finally:
        await connection.close()


async def _completed_runs_in_postgres(port: int) -> int:
    import asyncpg

    connection = await asyncpg.connect(host="127.0.0.1", port=port, user="prefect", database="prefect")
    try:
        return await connection.fetchval("SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED'")
    finally:
        await connection.close()


def test_a_postgresql_backed_server_runs_flows_from_two_workers(tmp_path):
    world = World.generate(seed=9, size="tiny")
    with postgres() as (database_url, pg_port), SandboxServer(world) as sandbox:
        env = serve_env(tmp_path / "prefect-home", {
            "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
            "SLACK_API_URL": sandbox.slack_api_url,
            "SLACK_BOT_TOKEN": world.slack_bot_token,
            "LINEAR_API_URL": sandbox.linear_api_url,
            "LINEAR_API_KEY": world.linear_api_key,
            "PMFLOW_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        })
        serve = Serve(free_port(), env, tmp_path / "serve.log")
        second_worker = None
        try:
            started = time.monotonic()
            serve.wait_ready(len(yaml_deployments()))
            print(f"\nPostgreSQL-backed pmflow serve ready in {time.monotonic() - started:.1f} s")
            second_worker = subprocess.Popen(
                [str(Path(PMFLOW).with_name("prefect")), "worker", "start", "--pool", "pmflow-process", "--type", "process",
                 "--name", "second-worker"],
                cwd=ROOT, env={**env, "PREFECT_API_URL": serve.url},
                stdout=open(tmp_path / "worker2.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                # as a terminal starts it: Prefect's worker stops on SIGTERM by sending itself SIGINT,
                # so with SIGINT ignored (inherited from a background CI runner) it never would
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
            deadline = time.monotonic() + 120
            while True:
                with serve.client() as client:
                    online = [w for w in client.read_workers_for_work_pool("pmflow-process")
                              if getattr(w.status, "value", w.status) == "ONLINE"]
                if len(online) >= 2 or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert len(online) == 2, [w.name for w in online]

            with serve.client() as client:
                ids = {(d.entrypoint, d.name): d.id for d in client.read_deployments()}
                runs = [client.create_flow_run_from_deployment(ids[key]).id
                        for key in (("flows/ingest.py:ingest_slack", "hourly"), ("flows/ingest.py:ingest_linear", "hourly"))]
            finished = wait_for_runs(serve, runs)
            assert all(run.state.is_completed() for run in finished.values()), \
                [(r.name, r.state.name, r.state.message) for r in finished.values()]
            print(f"two runs completed {time.monotonic() - started:.1f} s after start")

            assert asyncio.run(_completed_runs_in_postgres(pg_port)) >= 2
            assert not list((tmp_path / "prefect-home").glob("*.db")), "no SQLite database: history is in PostgreSQL"
        finally:
            if second_worker is not None:
                second_worker.terminate()
                second_worker.wait(timeout=60)
            assert serve.stop() == 0, serve.log_tail()
