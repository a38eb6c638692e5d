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


class LinearSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINEAR_", extra="ignore")

    api_key: SecretStr | None = None
    """A personal API key (lin_api_..., sent as is) or an OAuth token (lin_oauth_..., sent as Bearer)."""
    api_url: str = "https://api.linear.app/graphql"
    workspace_id: str | None = None
    """The workspace_id Linear rows are stored under. Default: the Linear organization's id. Set it to
    the Slack team id (as `pmflow demo` does) when one company's Slack and Linear are one tenant, so
    that matching and journeys join them."""
    page_size: int = 100
    """Records per page of comments, users, states and the other small streams (Linear: at most 250)."""
    issue_page_size: int = 50
    """Issues per page; each carries up to history_page_size history entries, and Linear refuses a
    query above 10,000 complexity points (about issue_page_size x history_page_size x 6)."""
    history_page_size: int = 25
    """History entries nested per issue; longer histories are finished with per-issue queries."""
    overlap_minutes: float = 10.0
    """Each run re-reads records updated this long before the previous run's newest updatedAt, so
    that writes committed late (with an earlier updatedAt) are not missed."""
    batch_rows: int = 5000
    """Rows per warehouse transaction."""
    timeout_s: float = 30.0
    max_retries: int = 5
    max_rate_limit_wait_s: float = 60.0
    """Longest wait for a rate-limit reset inside a request; longer ones fail the task, which retries later."""

    @property
    def configured(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value())


def linear_settings() -> LinearSettings:
    return LinearSettings()


class GitHubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GITHUB_", extra="ignore")

    token: SecretStr | None = None
    api_url: str = "https://api.github.com"
    repos: str = ""
    """Comma-separated repositories as owner/name."""
    workspace_id: str = ""
    """The tenant GitHub rows belong to; empty means the owner of the first repository. The sandbox
    demo sets it to the Slack team id, so that the demo's tenant is one workspace_id across sources."""
    per_page: int = 100
    """Items per listing page (GitHub: at most 100)."""
    concurrency: int = 8
    """Pull requests whose reviews and timeline are fetched at once."""
    batch_rows: int = 5000
    """Rows per warehouse transaction."""
    timeout_s: float = 30.0
    max_retries: int = 5
    max_rate_limit_wait_s: float = 900.0
    """How long a run may wait for the primary rate limit to reset before failing (and being retried)."""

    @property
    def repo_list(self) -> list[str]:
        return [r.strip() for r in self.repos.split(",") if r.strip()]

    @property
    def tenant(self) -> str:
        """GITHUB_WORKSPACE_ID, else the owner of the first repository."""
        if self.workspace_id:
            return self.workspace_id
        return self.repo_list[0].split("/")[0] if self.repo_list else ""


def github_settings() -> GitHubSettings:
    return GitHubSettings()
