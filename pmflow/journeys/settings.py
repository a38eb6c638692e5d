"""Journey analytics configuration from the environment (PMFLOW_JOURNEY_*), as in pmflow/settings.py.

Agent events are read from the cost tracking's trace files and default workspace (PMFLOW_AGENT_TRACES,
PMFLOW_WORKSPACE_ID in pmflow/cost_settings.py), so both read the same traces into the same workspace."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class JourneySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PMFLOW_JOURNEY_", extra="ignore")

    as_of: datetime | None = None
    """PMFLOW_JOURNEY_AS_OF: the instant the marts describe (ISO 8601 with offset); default: now. For
    backfills and reproducible reports; the flow's as_of parameter wins."""
    stages: Path | None = None
    """PMFLOW_JOURNEY_STAGES: a YAML/TOML/JSON file layered over pmflow/journeys/stages.yaml."""
    charts_dir: Path | None = None
    """PMFLOW_JOURNEY_CHARTS_DIR: where chart PNGs go (default: charts/ next to the warehouse file)."""
    funnel_window_days: int = 28
    """PMFLOW_JOURNEY_FUNNEL_WINDOW_DAYS: the funnel counts stage entries in the last N days."""
    flow_days: int = 90
    """PMFLOW_JOURNEY_FLOW_DAYS: days of cumulative flow (marts.journey_flow_daily) and of the charts."""
    at_risk_min_visits: int = 5
    """PMFLOW_JOURNEY_AT_RISK_MIN_VISITS: finished visits a stage needs before its p80 flags at_risk."""


def journey_settings() -> JourneySettings:
    return JourneySettings()
