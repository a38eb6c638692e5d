"""Standup: each Linear team's daily standup, or its weekly digest, from the warehouse; stored in
marts.standups, published as a markdown artifact (standup-<team>, digest-<team>) and posted to Slack.

Daily (the default): what was done since the previous business day's standup (tickets completed,
PRs merged), in progress with age in stage, up next, blocked or stuck (blocking relations, at-risk
journeys, PRs waiting for review), untracked conversations, agent escalations waiting for a human,
the day's focus, per person, and yesterday's AI spend against the budgets. On a team's weekend day
or holiday nothing is generated (unless `force`); a day where nothing moved gives a short report.
Weekly (`weekly=True`): accomplishments, cycle-time trend, funnel changes, top untracked
conversations, cost summary.

Schedule (prefect.yaml, in the team's time zone): daily at 09:00 on business days (cron Mon-Fri;
holidays are skipped by the flow), the weekly digest on Fridays at 16:00. Teams in other time zones
get a deployment of their own (`teams` parameter, cron in their zone). Runs last in the pipeline.
Requires: a warehouse with at least one source ingested; reads the matching, journey and cost marts
when they exist (a missing one gives a "no ... data yet" line). Posting (`post=True`) requires
SLACK_BOT_TOKEN and PMFLOW_STANDUP_CHANNEL; it is idempotent per team and date (a re-run updates
its message). The AI summary requires OPENAI_API_KEY. Settings: pmflow/standup_settings.py.
"""
from __future__ import annotations

from datetime import datetime

from prefect import flow

from pmflow.reports.standup import resolve_as_of
from pmflow.standup_settings import standup_settings
from tasks.standup import generate_standup, plan_standups, post_standup

try:  # failure alerts to Slack, where the shared hooks exist
    from tasks.alerts import ALERT_HOOKS
except ImportError:  # pragma: no cover
    ALERT_HOOKS = {}


@flow(name="standup", **ALERT_HOOKS)
def standup(weekly: bool = False, post: bool = False, as_of: datetime | None = None,
            workspace_id: str | None = None, teams: list[str] | None = None, force: bool = False) -> dict:
    """`post=False` is a dry run (stored and published as an artifact, not sent to Slack). `as_of`
    (default PMFLOW_STANDUP_AS_OF, else now) is the instant the reports describe. `teams` (Linear
    team keys; default PMFLOW_STANDUP_TEAMS, else all) lets one deployment per time zone run each
    team's standup at its own 09:00. `force` makes a daily standup on a weekend day or holiday."""
    kind = "weekly" if weekly else "daily"
    moment = resolve_as_of(as_of, standup_settings())
    targets = plan_standups(kind, moment, workspace_id, force, teams)
    reports = []
    for target in targets:
        generated = generate_standup(target, moment)
        if post:
            generated["post"] = post_standup(generated)
        reports.append(generated)
    return {"kind": kind, "as_of": moment, "reports": reports}
