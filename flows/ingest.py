"""Ingestion: bring each source's new and changed records into the warehouse, incrementally.

Schedule: hourly (prefect.yaml). Requires, per source:
- Slack: SLACK_BOT_TOKEN (SLACK_API_URL for a server other than slack.com; SLACK_CHANNELS to narrow).
- Linear: LINEAR_API_KEY (LINEAR_API_URL for a server other than api.linear.app; LINEAR_WORKSPACE_ID
  to store Linear under another workspace_id than the organization id, e.g. the Slack team id).
- GitHub: GITHUB_TOKEN and GITHUB_REPOS (owner/name, comma-separated; GITHUB_API_URL for a server
  other than api.github.com; GITHUB_WORKSPACE_ID, default the owner of the first repository).
Writes raw.* and core.* tables, advances ops.sync_state with the data, quarantines bad records in
ops.quarantine, and publishes a load report artifact (read / inserted / updated / quarantined).
"""
from __future__ import annotations

from prefect import flow, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.alerts import ALERT_HOOKS
from tasks.common import publish_load_report, total
from tasks.github import merge_counts, resolve_github_repos, sync_github_repo
from tasks.linear import (
    identify_linear_workspace,
    sync_linear_catalog,
    sync_linear_comments,
    sync_linear_issues,
)
from tasks.quality import check_data_quality
from tasks.slack import (
    identify_slack_workspace,
    sync_slack_channel,
    sync_slack_channels,
    sync_slack_users,
)
from warehouse import LoadCounts


@flow(name="ingest-slack", task_runner=ThreadPoolTaskRunner(max_workers=4), **ALERT_HOOKS)
def ingest_slack() -> dict[str, LoadCounts]:
    """Users, channels, then every channel's messages and threads (channels fetched concurrently)."""
    workspace = identify_slack_workspace()
    users = sync_slack_users(workspace.workspace_id)
    channel_ids, channels = sync_slack_channels(workspace.workspace_id)
    messages = sync_slack_channel.map(unmapped(workspace.workspace_id), channel_ids)
    counts = {"slack.users": users, "slack.channels": channels, "slack.messages": total(messages.result())}
    publish_load_report("ingest-slack", counts)
    check_data_quality("slack", workspace_id=workspace.workspace_id)
    return counts


@flow(name="ingest-linear", task_runner=ThreadPoolTaskRunner(max_workers=2), **ALERT_HOOKS)
def ingest_linear() -> dict[str, LoadCounts]:
    """Teams, states, users, projects, cycles and labels; then issues (with the state history of
    the changed ones) and comments, concurrently."""
    workspace_id = identify_linear_workspace()
    catalog = sync_linear_catalog(workspace_id)
    issues = sync_linear_issues.submit(workspace_id)
    comments = sync_linear_comments.submit(workspace_id)
    counts = {**catalog, **issues.result(), "linear.comments": comments.result()}
    publish_load_report("ingest-linear", counts)
    check_data_quality("linear", workspace_id=workspace_id)
    return counts


@flow(name="ingest-github", task_runner=ThreadPoolTaskRunner(max_workers=4), **ALERT_HOOKS)
def ingest_github() -> dict[str, LoadCounts]:
    """Every repository of GITHUB_REPOS, concurrently (the warehouse serialises the writes): issues,
    pull requests, and the reviews and timelines of the changed PRs, then comments."""
    workspace_id, repos = resolve_github_repos()
    per_repo = sync_github_repo.map(unmapped(workspace_id), repos)
    counts = merge_counts(per_repo.result())
    publish_load_report("ingest-github", counts)
    check_data_quality("github", workspace_id=workspace_id)
    return counts
