"""A local, wire-faithful sandbox of the services pmflow ingests, over a generated world.

    from connectors.sandbox import FaultPlan, SandboxServer, World

    world = World.generate(seed=7, size="tiny")
    with SandboxServer(world, faults=FaultPlan(rate=0.1)) as server:
        client = WebClient(token=world.slack_bot_token, base_url=server.slack_api_url)
"""
from pathlib import Path

from connectors.sandbox.faults import ALL_KINDS, PAGINATION_KINDS, TRANSIENT_KINDS, FaultPlan
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World

CONTRACTS_DIR = Path(__file__).parent / "contracts"
"""The official API descriptions (Slack OpenAPI, Linear SDL, GitHub OpenAPI subset), vendored with
their licences: the sandbox serves them and the contract tests check the connectors against them."""

__all__ = ["CONTRACTS_DIR", "ALL_KINDS", "PAGINATION_KINDS", "TRANSIENT_KINDS", "FaultPlan", "SandboxServer", "World"]
