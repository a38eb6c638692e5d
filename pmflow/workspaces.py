"""Several workspaces (tenants), each with its own credentials (docs/scale.md).

    PMFLOW_WORKSPACES=acme,globex
    ACME_SLACK_BOT_TOKEN=...    ACME_SLACK_API_URL=...     (any SLACK_* setting, prefixed)
    ACME_LINEAR_API_KEY=...     ACME_LINEAR_WORKSPACE_ID=  (any LINEAR_* setting, prefixed)
    ACME_GITHUB_TOKEN=...       ACME_GITHUB_REPOS=acme/api,acme/web  ACME_GITHUB_WORKSPACE_ID=...
    GLOBEX_SLACK_BOT_TOKEN=...  ...

A workspace name is a short label (letters, digits, '-' or '_'); its prefix is the name upper-cased
with '-' turned into '_' ("acme-eu" -> "ACME_EU_"). The settings classes are the single-workspace
ones (pmflow.settings) read with that prefix, so every option keeps its meaning and default.

A secret missing from the environment is looked up in a Prefect Secret block named
"<workspace>-slack-bot-token", "<workspace>-linear-api-key" or "<workspace>-github-token", when a
Prefect API is reachable. Tasks receive workspace *names* only; secrets are resolved inside the task
that uses them, so they never become task or flow parameters (which Prefect records).

No Prefect import at module level: this module is configuration, usable from benchmarks and tests.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from pmflow.settings import GitHubSettings, LinearSettings, SlackSettings

WORKSPACES_ENV = "PMFLOW_WORKSPACES"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")

SECRET_FIELDS = {"slack": "bot_token", "linear": "api_key", "github": "token"}
"""The secret setting of each source, also the suffix of its Secret block name."""

DEFAULT_WORKSPACE_LIMIT = 4
"""Slots of each per-workspace API limit ("slack-<workspace>", ...) that ensure_workspace_limits creates."""


class WorkspaceConfigError(ValueError):
    pass


def env_prefix(name: str) -> str:
    """'acme-eu' -> 'ACME_EU_'."""
    check_name(name)
    return name.upper().replace("-", "_") + "_"


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise WorkspaceConfigError(
            f"workspace name {name!r} is not valid: start with a letter, then letters, digits, '-' or '_' (at most 63)")
    return name


def configured_workspaces(environ: Mapping[str, str] | None = None) -> list[str]:
    """The names listed in PMFLOW_WORKSPACES (comma-separated, order kept, duplicates removed)."""
    raw = (environ if environ is not None else os.environ).get(WORKSPACES_ENV, "")
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(check_name(name))
    prefixes = [env_prefix(n) for n in names]
    if len(set(prefixes)) != len(prefixes):
        raise WorkspaceConfigError(f"{WORKSPACES_ENV} has names that map to the same prefix: {names}")
    return names


def select_workspaces(requested: list[str] | None, environ: Mapping[str, str] | None = None) -> list[str]:
    """`requested` (a flow parameter) checked against PMFLOW_WORKSPACES; None or [] means all of them."""
    known = configured_workspaces(environ)
    if not known:
        raise WorkspaceConfigError(f"{WORKSPACES_ENV} is not set: list the workspaces, e.g. {WORKSPACES_ENV}=acme,globex")
    if not requested:
        return known
    unknown = [n for n in requested if n not in known]
    if unknown:
        raise WorkspaceConfigError(f"unknown workspace(s) {unknown}; {WORKSPACES_ENV} lists {known}")
    return list(dict.fromkeys(requested))


@dataclass(frozen=True)
class WorkspaceConfig:
    """One workspace's settings per source, read from the environment with the workspace's prefix."""

    name: str

    @property
    def prefix(self) -> str:
        return env_prefix(self.name)

    def slack(self) -> SlackSettings:
        return _with_secret(SlackSettings(_env_prefix=f"{self.prefix}SLACK_"), self.name, "slack")

    def linear(self) -> LinearSettings:
        return _with_secret(LinearSettings(_env_prefix=f"{self.prefix}LINEAR_"), self.name, "linear")

    def github(self) -> GitHubSettings:
        return _with_secret(GitHubSettings(_env_prefix=f"{self.prefix}GITHUB_"), self.name, "github")

    def sources(self) -> list[str]:
        """The sources this workspace has credentials for (environment, else its Secret blocks):
        Slack with a bot token, Linear with an API key, GitHub with a token and repositories."""
        out = []
        if _is_set(self.slack().bot_token):
            out.append("slack")
        if _is_set(self.linear().api_key):
            out.append("linear")
        github = self.github()
        if github.repo_list and _is_set(github.token):
            out.append("github")
        return out


def _is_set(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def workspace(name: str) -> WorkspaceConfig:
    return WorkspaceConfig(check_name(name))


def secret_block_name(name: str, source: str) -> str:
    """The Prefect Secret block that may hold a workspace's secret: "acme-slack-bot-token"."""
    return f"{name.lower().replace('_', '-')}-{source}-{SECRET_FIELDS[source].replace('_', '-')}"


def _with_secret(settings, name: str, source: str):
    field = SECRET_FIELDS[source]
    value = getattr(settings, field)
    if value is not None and value.get_secret_value():
        return settings
    secret = _secret_from_block(secret_block_name(name, source))
    if secret is None:
        return settings
    return settings.model_copy(update={field: SecretStr(secret)})


def _secret_from_block(block_name: str) -> str | None:
    """The value of a Prefect Secret block, or None when there is none (or no Prefect API to ask)."""
    if os.environ.get("PMFLOW_SECRET_BLOCKS", "1").lower() in ("0", "false", "no"):
        return None
    try:
        from prefect.blocks.system import Secret
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            return None
        return str(Secret.load(block_name, _sync=True).get())
    except Exception:  # no such block, no server: the environment is the whole configuration
        return None


# -- per-workspace API limits (Prefect global concurrency limits) ---------------------------------


def limit_name(source: str, name: str) -> str:
    """The global concurrency limit a workspace's calls to `source` take a slot of: "slack-acme"."""
    return f"{source}-{name}"


def workspace_limits(names: list[str] | None = None, slots: int | None = None) -> dict[str, int]:
    """{limit name: slots} for every configured workspace and source. PMFLOW_WORKSPACE_LIMIT sets the slots."""
    slots = slots or int(os.environ.get("PMFLOW_WORKSPACE_LIMIT", DEFAULT_WORKSPACE_LIMIT))
    names = configured_workspaces() if names is None else names
    return {limit_name(source, n): slots for n in names for source in SECRET_FIELDS}


def ensure_workspace_limits(api_url: str | None = None, names: list[str] | None = None,
                            slots: int | None = None) -> list[str]:
    """Creates the missing per-workspace limits ("slack-acme": 4, "linear-acme": 4, ...) on the Prefect
    server at `api_url` (default PREFECT_API_URL); returns the names it created. Idempotent: existing
    limits keep the value set in the UI. For `pmflow serve`'s setup, or by hand:
    `python -c "from pmflow.workspaces import ensure_workspace_limits as e; print(e())"`."""
    from contextlib import nullcontext

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    created = []
    scope = temporary_settings({PREFECT_API_URL: api_url}) if api_url else nullcontext()
    with scope, get_client(sync_client=True) as client:
        for limit, n in workspace_limits(names, slots).items():
            try:
                client.read_global_concurrency_limit_by_name(limit)
            except ObjectNotFound:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=limit, limit=n))
                created.append(limit)
    return created
