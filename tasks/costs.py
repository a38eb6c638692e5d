"""Cost tracking tasks: thin Prefect wrappers around connectors/ and pmflow/costs/.

Transient faults (429, 5xx, timeouts, a busy warehouse) are retried with backoff; a refused admin
key or a malformed budget / price file fails at once with a message saying what to fix.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from connectors.openai_usage import OpenAIUsageClient
from pmflow.cost_settings import CostSettings, cost_settings, openai_usage_settings
from pmflow.costs import budgets, ingest, report
from pmflow.costs.marts import rebuild_cost_marts
from pmflow.costs.pricing import PriceBook, load_overrides
from pmflow.costs.reprice import reprice, unpriced_models
from pmflow.settings import slack_settings
from tasks.common import TRANSIENT_RETRIES, current_run_id, warehouse
from warehouse import LoadCounts

def as_of_day(value: date | str | None = None, settings: CostSettings | None = None) -> date:
    settings = settings or cost_settings()
    if isinstance(value, str):
        return date.fromisoformat(value)
    return value or settings.cost_as_of or datetime.now(UTC).date()


def price_book(settings: CostSettings | None = None) -> PriceBook:
    """The catalogue plus PMFLOW_PRICE_OVERRIDES: loaders and repricing of one run use the same."""
    settings = settings or cost_settings()
    return PriceBook(load_overrides(settings.overrides_path()), batch_discount=settings.batch_discount)


def usage_client() -> OpenAIUsageClient | None:
    """The Usage/Costs API client, or None when OPENAI_ADMIN_KEY is not set (source skipped)."""
    settings = openai_usage_settings()
    if settings.admin_key is None:
        return None
    return OpenAIUsageClient(settings.admin_key.get_secret_value(), settings.base_url,
                             timeout_s=settings.timeout_s, max_retries=settings.max_retries,
                             page_limit=settings.page_limit)


@task(**TRANSIENT_RETRIES, tags=["openai-api"])
def load_openai_usage(workspace_id: str, now: float | None = None) -> LoadCounts:
    """Organization usage buckets (completions, embeddings, moderations) -> core.llm_usage."""
    client, settings = usage_client(), cost_settings()
    if client is None:
        return LoadCounts()
    with client:
        return ingest.load_openai_usage(client, warehouse(), workspace_id, book=price_book(settings), now=now,
                                        lookback_days=settings.cost_lookback_days,
                                        rescan_days=settings.cost_rescan_days,
                                        max_tokens=settings.max_tokens_per_bucket, run_id=current_run_id())


@task(**TRANSIENT_RETRIES, tags=["openai-api"])
def load_openai_costs(workspace_id: str, now: float | None = None) -> LoadCounts:
    """What OpenAI bills (Costs API) -> core.openai_costs."""
    client, settings = usage_client(), cost_settings()
    if client is None:
        return LoadCounts()
    with client:
        return ingest.load_openai_costs(client, warehouse(), workspace_id, now=now,
                                        lookback_days=settings.cost_lookback_days,
                                        rescan_days=settings.cost_rescan_days, run_id=current_run_id())


@task(**TRANSIENT_RETRIES)
def load_agent_trace_usage(workspace_id: str) -> LoadCounts:
    """Model calls in agent traces (PMFLOW_AGENT_TRACES) -> core.llm_usage."""
    settings = cost_settings()
    if settings.agent_traces is None:
        return LoadCounts()
    return ingest.load_agent_traces(settings.agent_traces, warehouse(), workspace_id, book=price_book(settings),
                                    max_tokens=settings.max_tokens_per_call, run_id=current_run_id())


@task(**TRANSIENT_RETRIES)
def sync_cost_config(workspace_id: str, as_of: date) -> dict:
    """The budget file -> ops.cost_budgets; as_of and the drift threshold -> ops.cost_settings."""
    settings = cost_settings()
    config = budgets.load_budgets(settings.budgets_path(), default_workspace=workspace_id)
    return budgets.sync_budget_config(warehouse(), config, as_of=as_of, drift_threshold=settings.cost_drift_threshold,
                                      workspaces=[workspace_id])


@task(**TRANSIENT_RETRIES)
def reprice_usage() -> dict:
    """Prices every distinct (workspace, provider, model, day, batch) and applies it in SQL."""
    with warehouse().connect() as con:
        return reprice(con, price_book())


@task(**TRANSIENT_RETRIES)
def build_cost_marts() -> dict[str, float]:
    """Rebuilds the cost staging views and marts in one transaction; returns seconds per model."""
    with warehouse().connect() as con:
        return rebuild_cost_marts(con)


@task(**TRANSIENT_RETRIES)
def send_budget_alerts() -> dict:
    """One Slack message per budget, period and threshold crossed (ops.cost_alerts keeps it once)."""
    slack, settings = slack_settings(), cost_settings()
    poster = None
    if slack.bot_token is not None:
        from slack_sdk import WebClient

        poster = WebClient(token=slack.bot_token.get_secret_value(), base_url=slack.api_url, timeout=30)
    return budgets.send_budget_alerts(warehouse(), poster, run_id=current_run_id(),
                                      default_channel=settings.cost_alert_channel)


@task
def publish_cost_artifacts(as_of: date) -> dict:
    """Artifacts with stable keys: cost-daily (table), cost-unpriced-models (table),
    cost-reconciliation (table of flagged days) and spend-vs-budget (markdown linking the PNG)."""
    wh, settings = warehouse(), cost_settings()
    table = report.cost_table(wh, as_of)
    create_table_artifact(key="cost-daily", table=table or [{"note": "no usage in the last 7 days"}],
                          description=f"AI spend per day, provider, model and project, 7 days to {as_of}")
    with wh.connect() as con:
        unknown = unpriced_models(con)
    create_table_artifact(key="cost-unpriced-models",
                          table=[{k: str(v) for k, v in r.items()} for r in unknown] or [{"note": "every model is priced"}],
                          description="Models with no price (unknown to genai-prices and PMFLOW_PRICE_OVERRIDES): cost_usd is NULL")
    flagged = report.flagged_reconciliation(wh)
    create_table_artifact(key="cost-reconciliation", table=flagged or [{"note": "no drift above the threshold"}],
                          description="Days and projects where computed cost and the Costs API disagree")
    charts = settings.cost_charts_dir or Path(wh.path).resolve().parent / "charts"
    chart = report.draw_spend_vs_budget(wh, charts / f"spend_vs_budget_{as_of:%Y-%m}.png")
    rows = report.budget_rows(wh)
    body = [f"# AI spend vs budget, {as_of:%Y-%m} (as of {as_of})", ""]
    if chart:
        body += [f"![spend vs budget]({chart.resolve().as_uri()})", "", f"Chart: `{chart.resolve()}`", ""]
    body += [report.markdown_table(rows) if rows else "_No budgets configured (PMFLOW_BUDGETS)._"]
    if unknown:
        body += ["", f"**{len(unknown)} unpriced model(s)**: " + ", ".join(sorted({str(r['model']) for r in unknown}))]
    create_markdown_artifact(key="spend-vs-budget", markdown="\n".join(body),
                             description="Month-to-date spend and end-of-month forecast per budget")
    return {"cost_rows": len(table), "unpriced_models": len(unknown), "flagged_days": len(flagged),
            "chart": str(chart) if chart else None}
