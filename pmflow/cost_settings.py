"""Configuration of AI cost tracking, from the environment (DESIGN.md, "Configuration").

Secrets are SecretStr: they print as '**********' and are unwrapped only inside the HTTP client.

| variable | meaning | default |
|---|---|---|
| OPENAI_ADMIN_KEY | admin key for the organization Usage and Costs APIs | - (source skipped) |
| OPENAI_API_KEY | key for model calls (used by other flows) | - |
| OPENAI_BASE_URL | API base, e.g. the sandbox's http://127.0.0.1:8000/openai/v1 | https://api.openai.com/v1 |
| PMFLOW_WORKSPACE_ID | workspace_id for rows that carry none of their own (org usage, traces) | default |
| PMFLOW_PRICE_OVERRIDES | YAML file of negotiated prices (pmflow/costs/pricing.py) | config/prices.yaml if present |
| PMFLOW_BUDGETS | YAML file of monthly budgets (pmflow/costs/budgets.py) | config/budgets.yaml if present |
| PMFLOW_AGENT_TRACES | JSONL file or directory of *.jsonl agent traces | - (source skipped) |
| PMFLOW_COST_LOOKBACK_DAYS | first run of the Usage/Costs APIs reads this many days back | 90 |
| PMFLOW_COST_RESCAN_DAYS | each run re-reads this many days before the cursor (late or restated data) | 2 |
| PMFLOW_COST_ALERT_CHANNEL | Slack channel for budget alerts when the budget file names none | - |
| PMFLOW_COST_CHARTS_DIR | where the spend-vs-budget chart goes | charts/ next to the warehouse |
| PMFLOW_COST_DRIFT_THRESHOLD | relative drift computed vs billed that reconciliation flags | 0.05 |
| PMFLOW_COST_AS_OF | date (YYYY-MM-DD) budgets are evaluated at; for backfills and tests | today (UTC) |
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpenAIUsageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENAI_", extra="ignore")

    admin_key: SecretStr | None = None
    api_key: SecretStr | None = None
    base_url: str = "https://api.openai.com/v1"
    timeout_s: float = 30.0
    max_retries: int = 5
    page_limit: int = 31
    """Daily buckets per page (the API allows 1..31 for usage with bucket_width=1d; costs 1..180)."""


class CostSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMFLOW_", extra="ignore")

    workspace_id: str = "default"
    price_overrides: Path | None = None
    budgets: Path | None = None
    agent_traces: Path | None = None
    cost_lookback_days: int = 90
    cost_rescan_days: int = 2
    cost_alert_channel: str | None = None
    cost_charts_dir: Path | None = None
    cost_drift_threshold: float = 0.05
    cost_as_of: date | None = None
    batch_discount: float = 0.5
    """Applied to batch calls when the catalogue has no batch price for the model and date
    (OpenAI and Anthropic both bill the Batch API at 50% of the standard rate)."""
    max_tokens_per_call: int = 10_000_000
    """A single call (pipeline or trace) reporting more tokens than this is quarantined as absurd."""
    max_tokens_per_bucket: int = 1_000_000_000_000
    """An organization usage bucket reporting more tokens than this is quarantined as absurd."""

    def overrides_path(self) -> Path | None:
        return self.price_overrides or _if_exists(Path("config/prices.yaml"))

    def budgets_path(self) -> Path | None:
        return self.budgets or _if_exists(Path("config/budgets.yaml"))


def _if_exists(path: Path) -> Path | None:
    return path if path.exists() else None


def openai_usage_settings() -> OpenAIUsageSettings:
    return OpenAIUsageSettings()


def cost_settings() -> CostSettings:
    return CostSettings()
