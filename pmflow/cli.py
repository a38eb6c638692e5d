"""The `pmflow` command line. Prefect and the flows are imported inside the commands that run them,
so `pmflow sql` and `--help` stay fast."""
from __future__ import annotations

import enum
import os
import sys
from typing import Annotated

import typer

from pmflow.prefect_env import apply_prefect_defaults

app = typer.Typer(
    help="pmflow: Slack, Linear, GitHub and AI usage in one DuckDB warehouse, on Prefect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
run_app = typer.Typer(help="Run one flow once, against what the environment configures.", no_args_is_help=True)
app.add_typer(run_app, name="run")


class Source(str, enum.Enum):
    slack = "slack"
    linear = "linear"
    github = "github"


class OutputFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the generated sandbox workspace.")] = 7,
    size: Annotated[str, typer.Option(help="Sandbox size: tiny, default, or a message count.")] = "default",
) -> None:
    """Start the sandbox workspace and run the whole pipeline against it, into the local warehouse."""
    apply_prefect_defaults()
    from pmflow.demo import run_demo

    _exit_on_known_errors(run_demo, seed=seed, size=size)


@run_app.command("ingest")
def run_ingest(
    source: Annotated[Source, typer.Option(help="Which source to ingest.")] = Source.slack,
) -> None:
    """Ingest a source once (SLACK_BOT_TOKEN / SLACK_API_URL ...); no sandbox is started."""
    apply_prefect_defaults()
    from flows.ingest import ingest_github, ingest_linear, ingest_slack
    from pmflow.reporting import print_load_counts

    flows = {Source.slack: ingest_slack, Source.linear: ingest_linear, Source.github: ingest_github}
    print_load_counts(_exit_on_known_errors(flows[source]))


@run_app.command("standup")
def run_standup(
    weekly: Annotated[bool, typer.Option("--weekly", help="The weekly digest instead of the daily standup.")] = False,
    post: Annotated[bool, typer.Option("--post/--dry-run", help="Post to Slack (PMFLOW_STANDUP_CHANNEL), or only store and print.")] = False,
    as_of: Annotated[str | None, typer.Option(help="The instant reported on, ISO 8601 with offset [PMFLOW_STANDUP_AS_OF, now].")] = None,
    workspace: Annotated[str | None, typer.Option(help="Only this workspace id (default: every workspace in the warehouse).")] = None,
    team: Annotated[list[str] | None, typer.Option("--team", help="Only this Linear team key (repeatable).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Also on a team's weekend day or holiday.")] = False,
) -> None:
    """Generate each team's standup (or weekly digest) from the warehouse, store it in marts.standups,
    print it, and with --post send it to Slack (a re-run updates the message, never posts twice)."""
    from datetime import datetime

    apply_prefect_defaults()
    moment = None
    if as_of:
        try:
            moment = datetime.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"{as_of!r} is not an ISO 8601 date-time", param_hint="--as-of") from None
        if moment.tzinfo is None:
            raise typer.BadParameter("give a UTC offset, e.g. 2026-11-20T09:00:00+01:00", param_hint="--as-of")
    from flows.standup import standup
    from pmflow.reports.standup import stored_markdown
    from warehouse import Warehouse

    result = _exit_on_known_errors(standup, weekly=weekly, post=post, as_of=moment, workspace_id=workspace,
                                   teams=team or None, force=force)
    if not result["reports"]:
        print(f"No {result['kind']} report due at {result['as_of'].isoformat()} (weekend, holiday, or no data yet).")
    for n, generated in enumerate(result["reports"]):
        key = (generated["workspace_id"], generated["kind"], generated["team"], generated["report_date"])
        print(("\n" if n else "") + (stored_markdown(Warehouse(), key) or ""), end="")
        if "post" in generated:
            print(f"\n[{generated['team']}: {generated['post'].get('action')}]")


@run_app.command("match")
def run_match(
    workspace: Annotated[str | None, typer.Option(help="Only this workspace id (default: every workspace with units).")] = None,
    writeback: Annotated[str | None, typer.Option(help="off, dry_run or on [PMFLOW_MATCH_WRITEBACK, off].")] = None,
) -> None:
    """Match new and changed Slack threads, GitHub PRs and issues to Linear tickets (marts.ticket_links);
    write back to Linear only with --writeback on (dry_run lists what it would do)."""
    if writeback not in (None, "off", "dry_run", "on"):
        raise typer.BadParameter("choose off, dry_run or on", param_hint="--writeback")
    apply_prefect_defaults()
    from flows.match_tickets import match_tickets

    result = _exit_on_known_errors(match_tickets, workspace_id=workspace, writeback=writeback)
    for workspace_id, outcome in result["workspaces"].items():
        match = outcome["match"]
        if match.get("skipped"):
            print(f"{workspace_id}: {match['skipped']}")
            continue
        decided = ", ".join(f"{n} {k}" for k, n in sorted(match["decisions"].items())) or "nothing new"
        print(f"{workspace_id}: {match['units']} units decided ({decided}); write-back {outcome['writeback']}")


@run_app.command("journeys")
def run_journeys() -> None:
    """Rebuild the journey marts (stages, time in stage, funnel, stuck work, cycle time) and their charts."""
    apply_prefect_defaults()
    from flows.journeys import journeys

    result = _exit_on_known_errors(journeys)
    print(f"Rebuilt {len(result['marts_s'])} journey models in {sum(result['marts_s'].values()):.1f} s.")


@run_app.command("costs")
def run_costs() -> None:
    """Load AI usage and costs (OPENAI_ADMIN_KEY, PMFLOW_AGENT_TRACES), price them, rebuild the cost
    marts and budgets, and alert once per threshold crossed."""
    apply_prefect_defaults()
    from flows.costs import costs

    result = _exit_on_known_errors(costs)
    alerts = result["alerts"]
    print(f"Cost marts rebuilt; budget alerts sent: {len(alerts['sent'])}, not sent: {len(alerts['skipped'])}.")


@run_app.command("pipeline")
def run_pipeline() -> None:
    """Run every step of the pipeline once, against what the environment configures."""
    apply_prefect_defaults()
    from flows.pipeline import pipeline

    _exit_on_known_errors(pipeline)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A read-only SQL query (SELECT, DESCRIBE, SHOW, EXPLAIN...).")],
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
) -> None:
    """Query the warehouse read-only. Writes, ATTACH, COPY, file reads and SET are refused.

    To browse it in the DuckDB CLI instead: `duckdb -readonly data/warehouse.duckdb`.
    """
    from pmflow.sql import run_read_only_query, write_result

    columns, rows = _exit_on_known_errors(run_read_only_query, query)
    write_result(columns, rows, format.value, sys.stdout)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Host of the Prefect server and UI [PMFLOW_SERVE_HOST, 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port of the Prefect server and UI [PMFLOW_SERVE_PORT, 4200].")] = None,
    deploy: Annotated[bool, typer.Option(help="Deploy every flow of prefect.yaml.")] = True,
    worker: Annotated[bool, typer.Option(help="Start a process worker on the work pool.")] = True,
) -> None:
    """Local Prefect server + work pool + deployments (prefect.yaml) + worker; Ctrl-C stops them."""
    from pmflow.serve import serve as run_serve

    raise typer.Exit(code=run_serve(host, port, deploy=deploy, worker=worker))


def _exit_on_known_errors(function, *args, **kwargs):
    """Runs `function`; errors pmflow knows how to explain end the command with that explanation,
    not a traceback (set PMFLOW_DEBUG=1 for the traceback)."""
    from connectors.errors import ConnectorError
    from warehouse import WarehouseError

    try:
        return function(*args, **kwargs)
    except (WarehouseError, ConnectorError) as exc:
        if os.environ.get("PMFLOW_DEBUG"):
            raise
        typer.secho(f"pmflow: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None


if __name__ == "__main__":
    app()
