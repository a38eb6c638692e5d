"""Ingestion: bring each source's new and changed records into the warehouse, incrementally.

Schedule: hourly (prefect.yaml). Requires, per source:
- Slack: SLACK_BOT_TOKEN (SLACK_API_URL for a server other than slack.com; SLACK_CHANNELS to narrow).
Writes raw.* and core.* tables, advances ops.sync_state with the data, quarantines bad records in
ops.quarantine, and publishes a load report artifact (read / inserted / updated / quarantined).
"""
from __future__ import annotations

from prefect import flow, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.alerts import ALERT_HOOKS
from tasks.common import publish_load_report, total
from tasks.quality import check_data_quality
from tasks.slack import identify_slack_workspace, sync_slack_channel, sync_slack_channels, sync_slack_users
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
