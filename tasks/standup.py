"""Standup tasks: which reports are due, generate and store each one, post it to Slack.

Thin wrappers around pmflow/reports (report model, SQL, rendering, calendar, idempotent posting).
Configuration: pmflow/standup_settings.py (PMFLOW_STANDUP_*), Slack (SLACK_BOT_TOKEN, SLACK_API_URL)
and OpenAI (OPENAI_API_KEY, OPENAI_BASE_URL) for the optional summary.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from connectors.slack import SlackClient
from pmflow.cost_settings import openai_usage_settings
from pmflow.reports.post import publish
from pmflow.reports.standup import Target, generate, plan
from pmflow.settings import slack_settings
from pmflow.standup_settings import standup_settings
from tasks.common import TRANSIENT_RETRIES, current_run_id, warehouse


@task(**TRANSIENT_RETRIES)
def plan_standups(kind: str, as_of: datetime, workspace_id: str | None = None, force: bool = False,
                  teams: list[str] | None = None) -> list[Target]:
    """The reports due at `as_of`, one per team (of `teams` when given); daily ones on a team's
    weekend or holiday are skipped (logged) unless `force`."""
    settings = standup_settings()
    if teams:
        settings = settings.model_copy(update={"teams": ",".join(teams)})
    targets, skipped = plan(warehouse(), kind, as_of, settings, workspace_id=workspace_id, force=force)
    logger = get_run_logger()
    for s in skipped:
        logger.info("no %s standup for %s on %s: %s", kind, s.team, s.report_date, s.reason)
    if not targets and not skipped:
        logger.info("no workspace in the warehouse has tickets, pull requests or Slack messages yet")
    return targets


@task(**TRANSIENT_RETRIES)
def generate_standup(target: Target, as_of: datetime) -> dict:
    """Builds one report, stores it in marts.standups and publishes it as a markdown artifact
    (key standup-<team> or digest-<team>). Returns its key and headline."""
    openai = openai_usage_settings()
    generated = generate(
        warehouse(), target, as_of, standup_settings(),
        openai_api_key=openai.api_key.get_secret_value() if openai.api_key else None,
        openai_base_url=openai.base_url, flow_run_id=current_run_id(),
    )
    report = generated.report
    create_markdown_artifact(
        key=generated.artifact_key, markdown=generated.markdown,
        description=f"{report.kind} report of {report.team} for {report.report_date} (marts.standups)",
    )
    return {"workspace_id": report.workspace_id, "kind": report.kind, "team": report.team,
            "report_date": report.report_date, "quiet": report.quiet, "headline": report.headline,
            "blocks": len(generated.blocks), "summary": report.summary is not None,
            "artifact": generated.artifact_key}


@task(**TRANSIENT_RETRIES, tags=["slack-api"])
def post_standup(generated: dict) -> dict:
    """Posts the stored report to its team's channel, or updates the message it already has there.
    The Slack client does not retry by itself here: this task's retries come back through the
    idempotent path (pmflow/reports/post.py), so a lost answer never becomes a second message."""
    settings = standup_settings()
    channel = settings.channel_for(generated["team"])
    key = (generated["workspace_id"], generated["kind"], generated["team"], generated["report_date"])
    if not channel:
        get_run_logger().warning("PMFLOW_STANDUP_CHANNEL is not set: %s report of %s not posted",
                                 generated["kind"], generated["team"])
        return {"action": "not posted (no channel)"}
    slack = slack_settings()
    client = SlackClient(slack.bot_token.get_secret_value() if slack.bot_token else "", slack.api_url,
                         timeout_s=slack.timeout_s, max_retries=0)
    result = publish(warehouse(), key, channel, client)
    get_run_logger().info("%s report of %s: %s (channel %s, ts %s)", generated["kind"], generated["team"],
                          result.action, result.channel, result.ts)
    return asdict(result)
