"""Configuration from the environment (DESIGN.md, "Configuration"). Secrets are SecretStr: they
print as '**********' in logs, reprs and tracebacks, and are unwrapped only where a client needs them."""
from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLACK_", extra="ignore")

    bot_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    channels: str = ""
    """Comma-separated channel ids or names; empty means every channel the token can read."""
    page_size: int = 200
    """Messages per history/replies page (Slack: up to 999; 15 for non-Marketplace apps)."""
    calls_per_minute: int = 0
    """Client-side pace; 0 relies on 429 + Retry-After alone. Tier 3 is ~50/min; apps distributed
    outside the Marketplace get 1/min (and page_size <= 15)."""
    rescan_days: float = 14.0
    """How far back (from the newest message seen) each run re-reads a channel to see edits,
    deletions and new thread replies. Replies to threads older than this are not re-checked."""
    batch_rows: int = 5000
    """Rows per warehouse transaction."""
    timeout_s: float = 30.0
    max_retries: int = 5

    @property
    def channel_filter(self) -> set[str]:
        return {c.strip().lstrip("#") for c in self.channels.split(",") if c.strip()}


def slack_settings() -> SlackSettings:
    return SlackSettings()
