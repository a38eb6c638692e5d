"""`pmflow demo`: the sandbox workspace, the whole pipeline, and what it produced."""
from __future__ import annotations

import os

from pmflow.reporting import print_warehouse_summary
from warehouse import Warehouse

def run_demo(seed: int = 7, size: str = "default") -> None:
    from connectors.sandbox.server import SandboxServer
    from connectors.sandbox.world import World

    world = World.generate(seed=seed, size=int(size) if size.isdigit() else size)
    with SandboxServer(world) as server:
        print(f"Sandbox workspace {world.workspace_id} (seed {seed}, size {size}) at {server.url}")
        # The demo always talks to the sandbox, whatever real credentials the shell may hold.
        os.environ.update(SLACK_API_URL=server.slack_api_url, SLACK_BOT_TOKEN=world.slack_bot_token)
        # Linear rows go under the Slack team id too: one company, one workspace_id across sources.
        os.environ.update(LINEAR_API_URL=server.linear_api_url, LINEAR_API_KEY=world.linear_api_key,
                          LINEAR_WORKSPACE_ID=world.workspace_id)
        # GitHub rows go under the Slack team id, so the demo's tenant is one workspace_id across sources.
        os.environ.update(GITHUB_API_URL=server.github_api_url, GITHUB_TOKEN=world.github_token,
                          GITHUB_REPOS=",".join(world.github_repos), GITHUB_WORKSPACE_ID=world.workspace_id)
        from flows.pipeline import pipeline

        pipeline()
    print_warehouse_summary(Warehouse())
