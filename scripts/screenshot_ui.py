#!/usr/bin/env python3
"""Screenshots of the Prefect UI showing pmflow's deployments and a completed run.

    apt-get install -y chromium                       # once (Debian); the tests never need it
    .venv/bin/python scripts/screenshot_ui.py         # -> docs/img/prefect-*.png
    .venv/bin/python scripts/screenshot_ui.py --ui-url http://127.0.0.1:4200   # an existing server

Without --ui-url it starts the sandbox (tiny world), `pmflow serve` on a free port with a temporary
PREFECT_HOME and warehouse, runs the `ingest-slack/hourly` deployment to completion, takes the
screenshots, and stops everything. Pages: Deployments, Runs, and the completed run's page.
Chromium runs headless with a throwaway profile and no network besides the local UI.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1440,900", "--virtual-time-budget=20000",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("Chromium not found: apt-get install -y chromium")


def screenshot(url: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="pmflow-chromium-") as profile:
        subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={out}", url],
            check=True, capture_output=True, timeout=180,
        )
    print(f"{out} ({out.stat().st_size // 1024} KB): {url}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ingestion(api_url: str) -> str:
    """Triggers ingest-slack/hourly and waits for it; returns the flow run id."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("ingest-slack/hourly")
        run = client.create_flow_run_from_deployment(deployment.id)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            run = client.read_flow_run(run.id)
            if run.state and run.state.is_final():
                break
            time.sleep(2)
    print(f"flow run {run.name}: {run.state.name if run.state else '?'}")
    return str(run.id)


def take_all(ui_url: str, out_dir: Path, run_id: str | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    screenshot(f"{ui_url}/deployments", out_dir / "prefect-deployments.png")
    screenshot(f"{ui_url}/runs", out_dir / "prefect-runs.png")
    if run_id:
        screenshot(f"{ui_url}/runs/flow-run/{run_id}", out_dir / "prefect-flow-run.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--ui-url", help="screenshot this running Prefect UI instead of starting one")
    parser.add_argument("--run-id", help="with --ui-url: the flow run page to capture too")
    args = parser.parse_args()
    chromium()
    if args.ui_url:
        take_all(args.ui_url.rstrip("/"), args.out, args.run_id)
        return 0

    from connectors.sandbox import SandboxServer, World
    from pmflow.serve import is_healthy

    port = free_port()
    api_url, ui_url = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="pmflow-screenshot-") as tmp, \
            SandboxServer(World.generate(seed=7, size="tiny")) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=f"{tmp}/prefect", PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
            PREFECT_WORKER_QUERY_SECONDS="2", SLACK_API_URL=sandbox.slack_api_url,
            SLACK_BOT_TOKEN=sandbox.world.slack_bot_token, PMFLOW_WAREHOUSE=f"{tmp}/warehouse.duckdb",
        )
        serve = subprocess.Popen([str(Path(sys.executable).with_name("pmflow")), "serve", "--port", str(port)],
                                 cwd=ROOT, env=env, stdout=open(f"{tmp}/serve.log", "wb"), stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600
            while "ready" not in Path(f"{tmp}/serve.log").read_text(errors="replace"):
                if serve.poll() is not None or time.monotonic() > deadline:
                    print(Path(f"{tmp}/serve.log").read_text(errors="replace"), file=sys.stderr)
                    return 1
                time.sleep(1)
            assert is_healthy(api_url)
            run_id = run_ingestion(api_url)
            take_all(ui_url, args.out, run_id)
        finally:
            serve.send_signal(2)  # Ctrl-C: pmflow serve stops its worker and server
            serve.wait(timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
