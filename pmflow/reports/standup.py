"""Standups end to end, without Prefect: which reports are due, generate one (build, optional AI
summary, render, store in marts.standups), and the keys people find them by.

    targets, skipped = plan(wh, "daily", as_of, settings)
    for target in targets:
        generated = generate(wh, target, as_of, settings)
        print(generated.markdown)
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pmflow.reports.build import Team, build_daily, build_weekly, business_calendar, list_teams, list_workspaces
from pmflow.reports.calendar import daily_window, weekly_window, zone
from pmflow.reports.data import ReportData
from pmflow.reports.model import Report
from pmflow.reports.render import fallback_text, to_blocks, to_markdown
from pmflow.reports.store import save_report
from pmflow.reports.summary import summarise
from pmflow.standup_settings import StandupSettings
from warehouse import Batch, Warehouse

KINDS = ("daily", "weekly")
log = logging.getLogger("pmflow.reports")


@dataclass(frozen=True)
class Target:
    workspace_id: str
    kind: str
    team: Team
    report_date: date
    artifact_key: str


@dataclass(frozen=True)
class Skipped:
    workspace_id: str
    team: str
    report_date: date
    reason: str


@dataclass
class Generated:
    report: Report
    markdown: str
    blocks: list[dict]
    fallback_text: str
    artifact_key: str
    usage_rows: list[dict] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str, date]:
        return self.report.key


def resolve_as_of(as_of: datetime | None, settings: StandupSettings) -> datetime:
    moment = as_of or settings.as_of or datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan(wh: Warehouse, kind: str, as_of: datetime, settings: StandupSettings, *,
         workspace_id: str | None = None, force: bool = False) -> tuple[list[Target], list[Skipped]]:
    """The reports due at `as_of`: one per team of each workspace (or of `workspace_id`). A daily
    standup on a team's weekend day or holiday is skipped unless `force`."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    calendar = business_calendar(settings)
    with wh.read(sandboxed=False) as con:
        data = ReportData(con)
        workspaces = [workspace_id] if workspace_id else list_workspaces(data)
        teams = {ws: list_teams(data, ws, settings) for ws in workspaces}
    several = len(workspaces) > 1
    targets, skipped = [], []
    for ws in workspaces:
        for team in teams[ws]:
            tz = zone(team.timezone)
            if kind == "daily":
                window = daily_window(as_of, tz, calendar, settings.time)
                if not window.business_day and not force:
                    reason = f"holiday ({window.holiday})" if window.holiday else "not a business day"
                    skipped.append(Skipped(ws, team.key, window.report_date, reason))
                    continue
            else:
                window = weekly_window(as_of, tz, calendar)
            targets.append(Target(ws, kind, team, window.report_date, artifact_key(kind, team.key, ws if several else None)))
    return targets, skipped


def generate(wh: Warehouse, target: Target, as_of: datetime, settings: StandupSettings, *,
             openai_api_key: str | None = None, openai_base_url: str | None = None,
             flow_run_id: str | None = None) -> Generated:
    """Builds the report, adds the AI summary when a key is given, renders it, and stores it in
    marts.standups (replacing the same key's content, keeping its Slack message)."""
    calendar = business_calendar(settings)
    build = build_daily if target.kind == "daily" else build_weekly
    with wh.read(sandboxed=False) as con:
        report = build(ReportData(con), target.workspace_id, target.team, as_of, calendar, settings)
    usage_rows = []
    if settings.summary and openai_api_key:
        summary = summarise(to_markdown(report), api_key=openai_api_key, base_url=openai_base_url,
                            model=settings.summary_model)
        if summary is not None:
            report.summary, report.summary_model = summary.text, summary.model
            usage_rows += _usage_rows(target, summary, flow_run_id)
    markdown, blocks, text = to_markdown(report), to_blocks(report), fallback_text(report)
    generated_at = datetime.now(UTC)
    if usage_rows:
        wh.write(Batch(target.workspace_id, "pmflow", "standup_usage", upserts={"core.llm_usage": usage_rows}),
                 run_id=flow_run_id)
    with wh.connect() as con:
        save_report(con, report, markdown, blocks, text, generated_at, flow_run_id)
    return Generated(report, markdown, blocks, text, target.artifact_key, usage_rows)


def _usage_rows(target: Target, summary, flow_run_id: str | None) -> list[dict]:
    """The summary call as a core.llm_usage row (none when its usage is implausible: logged)."""
    from pmflow.costs.usage import InvalidUsage, pipeline_usage_row

    try:
        return [pipeline_usage_row(target.workspace_id, summary.response, summary.model, flow_run_id,
                                   agent="standup-summary", flow_name="standup", endpoint="chat.completions")]
    except InvalidUsage as exc:
        log.warning("the summary's usage was not recorded: %s", exc.reason)
        return []


def artifact_key(kind: str, team: str, workspace_id: str | None = None) -> str:
    """Prefect artifact key: standup-eng, digest-eng (prefixed by the workspace when several)."""
    prefix = "standup" if kind == "daily" else "digest"
    parts = [prefix] + ([workspace_id] if workspace_id else []) + [team]
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


def stored_markdown(wh: Warehouse, key: tuple[str, str, str, date]) -> str | None:
    """The Markdown of a stored report."""
    with wh.read(sandboxed=False) as con:
        row = con.execute(
            "SELECT markdown FROM marts.standups WHERE workspace_id = ? AND kind = ? AND team = ? AND report_date = ?",
            list(key)).fetchone()
    return row[0] if row else None


def print_standups(wh: Warehouse, workspace_id: str, as_of: datetime, settings: StandupSettings | None = None,
                   kind: str = "daily", out=None) -> int:
    """Prints the reports of a workspace due at `as_of` that are stored (one per team), and a line
    for each team without one (weekend, holiday). Returns how many reports were printed."""
    import sys

    out = out or sys.stdout
    settings = settings or StandupSettings()
    targets, skipped = plan(wh, kind, as_of, settings, workspace_id=workspace_id)
    printed = 0
    for target in targets:
        markdown = stored_markdown(wh, (target.workspace_id, kind, target.team.key, target.report_date))
        if markdown is None:
            continue
        out.write(("\n" if printed else "") + markdown)
        printed += 1
    for s in skipped:
        out.write(f"\n({s.team}: no standup for {s.report_date.isoformat()}, {s.reason} in its time zone)\n")
    return printed
