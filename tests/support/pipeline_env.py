"""The environment `pmflow demo` gives the pipeline, for a world served by a sandbox: every source
under the Slack team id, the sandbox's OpenAI organization and agent traces, and the world's clock
as the "as of" of journeys, costs and standups. Tests pass it to subprocesses or os.environ."""
from __future__ import annotations

from pathlib import Path


def pipeline_env(world, server, warehouse_path: Path, *, secrets: dict[str, str] | None = None) -> dict[str, str]:
    """Variables for one pipeline run of ``world`` into ``warehouse_path``. ``secrets`` replaces the
    sandbox's credentials (any value of the accepted shape works: xoxb-, lin_api_, ghp_, sk-admin)."""
    from connectors.sandbox import openai_data

    traces = Path(warehouse_path).parent / "sandbox" / f"agent-traces-{world.workspace_id}.jsonl"
    traces.parent.mkdir(parents=True, exist_ok=True)
    openai_data.org_for(world).write_agent_traces(traces)
    env = {
        "PMFLOW_WAREHOUSE": str(warehouse_path),
        "SLACK_API_URL": server.slack_api_url, "SLACK_BOT_TOKEN": world.slack_bot_token,
        "LINEAR_API_URL": server.linear_api_url, "LINEAR_API_KEY": world.linear_api_key,
        "LINEAR_WORKSPACE_ID": world.workspace_id,
        "GITHUB_API_URL": server.github_api_url, "GITHUB_TOKEN": world.github_token,
        "GITHUB_REPOS": ",".join(world.github_repos), "GITHUB_WORKSPACE_ID": world.workspace_id,
        "OPENAI_BASE_URL": server.openai_base_url, "OPENAI_ADMIN_KEY": openai_data.ADMIN_KEY,
        "PMFLOW_WORKSPACE_ID": world.workspace_id, "PMFLOW_AGENT_TRACES": str(traces),
        "PMFLOW_STANDUP_AS_OF": world.now.isoformat(), "PMFLOW_JOURNEY_AS_OF": world.now.isoformat(),
        "PMFLOW_COST_AS_OF": world.now.date().isoformat(), "PMFLOW_STANDUP_SUMMARY": "false",
    }
    env.update(secrets or {})
    return env
