"""Ticket matching tasks: decide new or changed units per workspace, write back, publish artifacts.

Thin wrappers around pmflow.matching (engine, writeback): the tasks build the clients from the
environment (OPENAI_API_KEY / OPENAI_BASE_URL for embeddings and adjudication, LINEAR_API_KEY /
LINEAR_API_URL for write-back) and pass keys and small summaries, never the units themselves.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from connectors.errors import TransientError
from pmflow.matching.engine import match_workspace, matching_workspaces
from pmflow.matching.writeback import write_back
from pmflow.matching_settings import MatchSettings, match_settings, openai_model_settings
from tasks.common import TRANSIENT_RETRIES, current_run_id, warehouse

TODAY_ROWS = 500


def openai_client(settings: MatchSettings | None = None):
    """An openai client when OPENAI_API_KEY is set (base URL OPENAI_BASE_URL), else None.

    The client retries 429, 5xx and timeouts itself (max_retries, exponential backoff)."""
    settings = settings or match_settings()
    model_settings = openai_model_settings()
    if model_settings.api_key is None or not model_settings.api_key.get_secret_value():
        return None
    from openai import OpenAI

    return OpenAI(api_key=model_settings.api_key.get_secret_value(), base_url=model_settings.base_url or None,
                  max_retries=settings.llm_max_retries, timeout=settings.llm_timeout_s)


def linear_write_client():
    """The Linear connector's client (LINEAR_API_KEY, LINEAR_API_URL), or None without a key."""
    from connectors.linear import LinearClient
    from pmflow.settings import linear_settings

    settings = linear_settings()
    if not settings.configured:
        return None
    return LinearClient(settings.api_key.get_secret_value(), settings.api_url, timeout_s=settings.timeout_s,
                        max_retries=settings.max_retries, max_rate_limit_wait_s=settings.max_rate_limit_wait_s)


def _raise_transient_if_openai(exc: Exception) -> None:
    """OpenAI rate limits, 5xx, timeouts, connection errors and cut (unparsable) bodies that outlived
    the client's own retries become TransientError, which the task's retry policy retries later; anything else
    (a bad key, a bad request) fails the task at once."""
    try:
        import openai
    except ImportError:  # pragma: no cover
        return
    transient = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError, openai.APIConnectionError,
                 json.JSONDecodeError)  # a body cut short: the client does not retry it, the task does
    if isinstance(exc, transient):
        raise TransientError(f"OpenAI still failing after retries: {type(exc).__name__}") from exc


@task(**TRANSIENT_RETRIES)
def list_match_workspaces(workspace_id: str | None = None) -> list[str]:
    """The workspaces that have units (or just the one asked for)."""
    return [workspace_id] if workspace_id else matching_workspaces(warehouse())


@task(**TRANSIENT_RETRIES, tags=["openai-api"])
def match_workspace_units(workspace_id: str) -> dict:
    """Decides the workspace's new and changed units; returns the run's summary."""
    settings = match_settings()
    try:
        report, _ = match_workspace(warehouse(), workspace_id, settings, openai_client=openai_client(settings),
                                    run_id=current_run_id())
    except Exception as exc:
        _raise_transient_if_openai(exc)
        raise
    logger = get_run_logger()
    if report.skipped:
        logger.warning("%s: %s", workspace_id, report.skipped)
    else:
        logger.info("%s: %d units decided %s (llm %d, embedding requests %d)", workspace_id, report.units,
                    dict(report.decisions), report.llm_calls, report.embedding_requests)
    return report.as_dict()


@task(tags=["linear-api"])
def write_back_decisions(workspace_id: str, mode: str | None = None) -> dict:
    """Write-back per PMFLOW_MATCH_WRITEBACK (or `mode`): off, dry_run (the plan as an artifact), on.

    No Prefect retries: the ledger already makes every action at most once, and a transient
    failure leaves the action `pending`, settled by the next run."""
    settings = match_settings()
    mode = mode or settings.writeback
    if mode == "off":
        return {"mode": "off"}
    client = linear_write_client() if mode == "on" else None
    try:
        report = write_back(warehouse(), workspace_id, settings, client, mode=mode)
    finally:
        if client is not None:
            client.close()
    if mode == "dry_run":
        create_table_artifact(
            key="ticket-writeback-plan",
            table=report.planned or [{"note": "nothing to write back"}],
            description=f"{workspace_id}: what write-back would do (dry run; nothing was sent to Linear)",
        )
    return {"mode": mode, "planned": len(report.planned), "done": report.done, "failed": report.failed,
            "pending": report.pending, "suggested": report.suggested, "recovered": report.recovered,
            "skipped_over_cap": report.skipped_over_cap}


@task(**TRANSIENT_RETRIES)
def publish_match_artifacts(workspace_ids: list[str], now: datetime | None = None) -> dict:
    """Artifacts "ticket-links-today" (the decisions made in the last 24 hours) and
    "untracked-work" (new work found, newest first)."""
    now = now or datetime.now(UTC)
    wh = warehouse()
    if not workspace_ids:
        decisions, untracked = [], []
    else:
        marks = ", ".join("?" for _ in workspace_ids)
        decisions = wh.frame(
            f"""SELECT workspace_id, source_kind, source_id, decision, ticket_id, method, round(score, 3) AS score,
                       reason, preview, source_url, decided_at
                FROM marts.ticket_links WHERE workspace_id IN ({marks}) AND decided_at >= ?
                ORDER BY decided_at DESC, source_at DESC LIMIT {TODAY_ROWS}""",
            [*workspace_ids, now - timedelta(days=1)],
        )
        untracked = wh.frame(
            f"""SELECT workspace_id, source_kind, source_id, source_at, round(score, 3) AS score, preview, source_url,
                       json_extract_string(candidates, '$[0].ticket_id') AS closest_ticket
                FROM marts.ticket_links WHERE workspace_id IN ({marks}) AND decision = 'new_work'
                ORDER BY source_at DESC LIMIT {TODAY_ROWS}""",
            list(workspace_ids),
        )
        decisions, untracked = _records(decisions), _records(untracked)
    counts: dict[str, int] = {}
    for row in decisions:
        counts[row["decision"]] = counts.get(row["decision"], 0) + 1
    create_table_artifact(
        key="ticket-links-today",
        table=decisions or [{"note": "no unit was decided in the last 24 hours"}],
        description="Ticket matching decisions of the last 24 hours: " +
                    (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"),
    )
    create_markdown_artifact(key="untracked-work", markdown=_untracked_markdown(untracked),
                             description="Work discussed in Slack or GitHub with no Linear ticket")
    return {"decided_last_24h": len(decisions), "untracked": len(untracked)}


def _records(frame) -> list[dict]:
    frame = frame.astype(object).where(frame.notna(), None)
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def _untracked_markdown(rows: list[dict]) -> str:
    if not rows:
        return "# Untracked work\n\nNo untracked work found."
    lines = ["# Untracked work", "", f"{len(rows)} conversations about work with no Linear ticket (newest first).", "",
             "| when | where | what | confidence | closest ticket |", "|---|---|---|---|---|"]
    for row in rows:
        what = " ".join(str(row.get("preview") or "").split()).replace("|", "\\|")[:140]
        where = f"[{row['source_kind']}]({row['source_url']})" if row.get("source_url") else row["source_kind"]
        when = str(row.get("source_at") or "")[:16]
        lines.append(f"| {when} | {where} | {what} | {row.get('score')} | {row.get('closest_ticket') or ''} |")
    return "\n".join(lines)
