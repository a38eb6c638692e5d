"""Configuration of operations (serve, alerts, data quality), from the environment.

| variable | meaning | default |
|---|---|---|
| PMFLOW_ALERT_CHANNEL | Slack channel (id or name) that flow-failure alerts go to; empty: alerts are only logged | - |
| PMFLOW_QUALITY_MAX_SKEW_MINUTES | how far in the future a timestamp may be before the quality checks flag it | 60 |
| PMFLOW_QUALITY_MAX_ROWS_QUARANTINED | offending rows copied to ops.quarantine per failing check (the count is always exact) | 1000 |
| PMFLOW_SERVE_HOST, PMFLOW_SERVE_PORT | where `pmflow serve` starts the Prefect server and UI | 127.0.0.1, 4200 |
| PMFLOW_WORK_POOL | the process work pool the deployments use (prefect.yaml names it too) | pmflow-process |
| PMFLOW_LIMIT_SLACK_API, _LINEAR_API, _GITHUB_API, _OPENAI_API | task slots per external API (Prefect global concurrency limits tag:<api>-api) | 4, 2, 4, 4 |
| PMFLOW_LIMIT_WAREHOUSE_WRITE | slots of tag:warehouse-write (long single-transaction writers) | 1 |

Slack alerts use the Slack settings of pmflow.settings (SLACK_BOT_TOKEN, SLACK_API_URL).
"""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMFLOW_", extra="ignore")

    alert_channel: str = ""
    quality_max_skew_minutes: float = 60.0
    quality_max_rows_quarantined: int = 1000
    serve_host: str = "127.0.0.1"
    serve_port: int = 4200
    work_pool: str = "pmflow-process"
    limit_slack_api: int = 4
    limit_linear_api: int = 2
    limit_github_api: int = 4
    limit_openai_api: int = 4
    limit_warehouse_write: int = 1

    def concurrency_limits(self) -> dict[str, int]:
        """Global concurrency limits `pmflow serve` creates (when missing). A task takes a slot of
        `tag:<name>` for each of its tags named <name>, so `@task(tags=["slack-api"])` is all a task
        needs to share the Slack budget with every other run on the server."""
        return {
            "tag:slack-api": self.limit_slack_api,
            "tag:linear-api": self.limit_linear_api,
            "tag:github-api": self.limit_github_api,
            "tag:openai-api": self.limit_openai_api,
            "tag:warehouse-write": self.limit_warehouse_write,
        }


def ops_settings() -> OpsSettings:
    return OpsSettings()
