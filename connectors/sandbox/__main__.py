"""Run the sandbox as a process: ``python -m connectors.sandbox serve --seed 7 --size default``.

Prints one JSON line with the base URLs (``url``, ``slack_api_url``, ``openai_base_url``),
``workspace_id`` and ``slack_bot_token`` once the server accepts connections, then serves until
SIGTERM or SIGINT.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from connectors.sandbox.faults import TRANSIENT_KINDS, FaultPlan
from connectors.sandbox.server import SandboxServer
from connectors.sandbox.world import World


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    world = World.generate(args.seed, args.size, bad_records=args.bad_records, app_kind=args.app_kind)
    faults = None
    if args.fault_rate > 0:
        kinds = tuple(kind for kind in args.fault_kinds.split(",") if kind)
        faults = FaultPlan(rate=args.fault_rate, kinds=kinds, seed=args.fault_seed)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with SandboxServer(world, faults, args.latency_ms / 1000, host=args.host, port=args.port) as server:
        print(json.dumps({"url": server.url, "slack_api_url": server.slack_api_url,
                          "openai_base_url": server.openai_base_url, "workspace_id": world.workspace_id,
                          "slack_bot_token": world.slack_bot_token}), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m connectors.sandbox", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="generate a world and serve it until SIGTERM/SIGINT")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--size", default="default", help='"tiny", "default" or an approximate message count')
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--fault-rate", type=float, default=0.0)
    serve.add_argument("--fault-kinds", default=",".join(TRANSIENT_KINDS), help="comma-separated fault kinds")
    serve.add_argument("--fault-seed", type=int, default=0)
    serve.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    serve.add_argument("--bad-records", type=int, default=0, help="malformed Slack messages to serve")
    serve.add_argument("--app-kind", choices=("internal", "non_marketplace"), default="internal")
    return parser


if __name__ == "__main__":
    sys.exit(main())
