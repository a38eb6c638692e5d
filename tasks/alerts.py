"""Flow-failure alerts to Slack: a Prefect state hook every flow adds to its decorator.

    from tasks.alerts import ALERT_HOOKS

    @flow(name="ingest-slack", **ALERT_HOOKS)
    def ingest_slack(): ...

When the run fails (or crashes), the hook posts to PMFLOW_ALERT_CHANNEL with SLACK_BOT_TOKEN /
SLACK_API_URL: the flow, the run, why it failed, and the run's page in the Prefect UI
(PREFECT_UI_URL + /runs/flow-run/<id>), where the Retry button re-runs it. Without a channel the
alert is only logged. The message never carries a secret: the values of secret-looking environment
variables and anything shaped like a token are masked. Posting problems are logged, never raised:
an alert must not hide the failure it reports.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any

from connectors.slack import SlackClient
from pmflow.ops_settings import ops_settings
from pmflow.settings import slack_settings

_fallback_logger = logging.getLogger("pmflow.alerts")


def _logger():
    """The run's logger (its lines show in the UI) when called inside a run, else a plain one."""
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - no run context
        return _fallback_logger

MAX_REASON_CHARS = 600
MASK = "[redacted]"
_SECRET_NAME = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|DSN|CONNECTION_URL)", re.I)
_SECRET_SHAPES = [
    re.compile(r"xox[abposre]-[A-Za-z0-9-]+"),                  # Slack tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{16,}"),                 # GitHub tokens
    re.compile(r"github_pat_[A-Za-z0-9_]{16,}"),
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),                      # OpenAI keys
    re.compile(r"lin_(?:api|oauth)_[A-Za-z0-9]{16,}"),         # Linear keys
    re.compile(r"(?i)(bearer|token|authorization)[=: ]+[A-Za-z0-9._~+/-]{8,}=*"),
]
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.I)


def redact(text: str, environ: dict[str, str] | None = None) -> str:
    """`text` with every secret-looking environment value and token-shaped string masked."""
    environ = os.environ if environ is None else environ
    for name, value in environ.items():
        if value and len(value) >= 6 and _SECRET_NAME.search(name):
            text = text.replace(value, MASK)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    for shape in _SECRET_SHAPES:
        text = shape.sub(MASK, text)
    return text


def flow_run_url(flow_run_id: Any) -> str | None:
    """The run's page in the Prefect UI, or None when no UI is configured (a local, temporary run)."""
    from prefect.settings import get_current_settings

    ui_url = get_current_settings().ui_url
    return f"{str(ui_url).rstrip('/')}/runs/flow-run/{flow_run_id}" if ui_url else None


def alert_text(flow_name: str, flow_run: Any, state: Any) -> str:
    url = flow_run_url(flow_run.id)
    reason = redact(str(getattr(state, "message", "") or "no message"))
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    state_name = getattr(state, "name", None) or "Failed"
    lines = [
        f":rotating_light: pmflow flow *{flow_name}* {state_name.lower()}: run `{flow_run.name}`",
        f"Why: {reason}",
        f"Run: {url}" if url else f"Run id: {flow_run.id} (no Prefect UI configured)",
        "Retry it from the run's page (Retry); ingestion resumes from the last committed cursor.",
    ]
    return "\n".join(lines)


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """on_failure / on_crashed hook: post the alert; log (never raise) when it cannot be posted."""
    text = alert_text(getattr(flow, "name", "?"), flow_run, state)
    channel, logger = ops_settings().alert_channel, _logger()
    if not channel:
        logger.warning("Flow run failed (PMFLOW_ALERT_CHANNEL is not set, so no Slack alert):\n%s", text)
        return
    try:
        slack = slack_settings()
        token = slack.bot_token.get_secret_value() if slack.bot_token else ""
        SlackClient(token, slack.api_url, timeout_s=10, max_retries=2).post_message(channel, text)
        logger.info("Failure alert posted to Slack channel %s.", channel)
    except Exception as exc:  # noqa: BLE001 - the alert must not mask the failure it reports
        logger.error("Could not post the failure alert to Slack (%s): %s", type(exc).__name__, redact(str(exc)))


ALERT_HOOKS: dict[str, list] = {"on_failure": [alert_on_failure], "on_crashed": [alert_on_failure]}
"""Keyword arguments for @flow: a Slack alert when a run fails or crashes."""
