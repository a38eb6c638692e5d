"""Builds the daily standup and the weekly digest of one team from the warehouse (no Prefect here).

Daily standup, per Linear team (or one workspace-wide report when there is no Linear data):
    focus today            top 3 open tickets by priority and risk          core.linear_issues (+ journeys)
    done                   tickets completed, PRs merged since the last     core.linear_issues, core.github_pull_requests
                           standup (previous business day, standup time)
    in progress            started tickets, with age in their stage         core.linear_issues(+history), marts.ticket_journeys
    up next                unstarted tickets by priority                    core.linear_issues
    blocked or stuck       blocking relations, blocked labels/states,       core.linear_issue_relations (when ingested),
                           at-risk journeys, PRs waiting for review         marts.ticket_journeys, core.github_reviews
    untracked work         conversations decided new_work, no ticket       marts.ticket_links, core.slack_messages
    waiting for a human    unanswered agent escalations                     core.agent_events
    by person              each assignee's done / doing / next              core.linear_issues
    AI spend               yesterday (UTC day) vs the monthly budgets       marts.cost_daily, marts.budget_status
A quiet day (nothing moved in the window) gives a short report: the headline says so, and only the
focus, what is blocked, what waits for a human and the spend follow.

Weekly digest (Friday, the team's week from Monday 00:00): accomplishments, cycle-time trend
(marts.cycle_time_weekly), funnel changes (stage entries this week vs the same span of last week,
marts.ticket_stage_intervals), top untracked conversations, cost summary.
A section whose sources are missing or empty says so in one line ("no cost data yet").
"""
from __future__ import annotations

import calendar as _calendar
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pmflow.reports.calendar import (
    BusinessCalendar,
    Window,
    daily_window,
    format_day,
    format_hours,
    format_local,
    format_short_day,
    weekly_window,
    zone,
)
from pmflow.reports.data import ReportData
from pmflow.reports.escape import plain, slack_to_plain
from pmflow.reports.model import Item, Report, Section
from pmflow.reports.sources import MISSING
from pmflow.standup_settings import StandupSettings

ALL_TEAMS = "all"
PRIORITY = {1: "urgent", 2: "high", 3: "medium", 4: "low"}
BUDGET_STATUS = {
    "ok": "on track",
    "soft_forecast": "forecast to pass its soft limit",
    "soft_exceeded": "past its soft limit",
    "hard_forecast": "forecast to pass its limit",
    "hard_exceeded": "over its limit",
}
FOCUS_SIZE = 3
TREND_WEEKS = 6


@dataclass(frozen=True)
class Team:
    key: str  # Linear team key, or ALL_TEAMS
    name: str
    timezone: str

    @property
    def filter(self) -> str | None:
        """The $team parameter of the queries: None means every team."""
        return None if self.key == ALL_TEAMS else self.key


def list_workspaces(data: ReportData) -> list[str]:
    return [row["workspace_id"] for row in data.rows("workspaces")]


def list_teams(data: ReportData, workspace_id: str, settings: StandupSettings) -> list[Team]:
    """The workspace's Linear teams (narrowed by PMFLOW_STANDUP_TEAMS), each with its time zone:
    the settings' override, else Linear's, else PMFLOW_STANDUP_TIMEZONE. No Linear teams: one
    workspace-wide pseudo-team 'all'."""
    overrides = settings.team_timezone_overrides()
    wanted = settings.team_filter
    teams = []
    for row in data.rows("teams", workspace_id=workspace_id):
        key = row["team_key"]
        if wanted and key not in wanted:
            continue
        tz = overrides.get(key) or row["timezone"] or settings.timezone
        teams.append(Team(key=key, name=row["name"] or key, timezone=zone(tz, settings.timezone).key))
    if not teams and not wanted:
        teams.append(Team(ALL_TEAMS, "All teams", zone(settings.timezone).key))
    return teams


def business_calendar(settings: StandupSettings) -> BusinessCalendar:
    return BusinessCalendar(
        holidays=frozenset(settings.holiday_dates()),
        country=settings.holiday_country.strip(),
        weekend=settings.weekend_days(),
    )


# -- daily ---------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, data: ReportData, workspace_id: str, team: Team, window: Window, settings: StandupSettings):
        self.data = data
        self.workspace_id = workspace_id
        self.team = team
        self.window = window
        self.settings = settings
        self.tz = window.tz
        self.available = data.available(workspace_id)
        self._names: dict[str, dict[str, str]] | None = None

    def rows(self, name: str, **params: Any) -> list[dict[str, Any]]:
        base = dict(workspace_id=self.workspace_id, team=self.team.filter,
                    window_start=self.window.start, window_end=self.window.end)
        base.update(params)
        return self.data.rows(name, **base)

    def notes(self, *sources: str) -> list[str]:
        seen = []
        for source in sources:
            if not self.available.get(source, False) and MISSING[source] not in seen:
                seen.append(MISSING[source])
        return seen

    def has(self, source: str) -> bool:
        return self.available.get(source, False)

    def cap(self, items: list[Item], limit: int | None = None) -> tuple[list[Item], int]:
        limit = self.settings.max_items if limit is None else limit
        return items[:limit], len(items)

    def since(self, days: float) -> datetime:
        return self.window.end - timedelta(days=days)

    def slack_names(self) -> dict[str, dict[str, str]]:
        if self._names is None:
            names: dict[str, dict[str, str]] = {"user": {}, "channel": {}}
            for row in self.data.rows("slack_names", workspace_id=self.workspace_id):
                names[row["kind"]][row["id"]] = row["name"]
            self._names = names
        return self._names

    # -- items -----------------------------------------------------------------------------------

    def ticket_item(self, row: dict, *details: str | None) -> Item:
        return Item(text=plain(row["title"], 110), ref=row["identifier"], url=row.get("url"),
                    details=[d for d in details if d])

    def pr_item(self, row: dict, *details: str | None) -> Item:
        return Item(text=plain(row["title"], 110), ref=f"{row['repo']}#{row['number']}", url=row.get("url"),
                    details=[d for d in details if d])

    def thread_item(self, row: dict, *, new_marker: bool) -> Item:
        names = self.slack_names()
        text = plain(slack_to_plain(row["text"], names["user"], names["channel"]), 120) or "(message not ingested)"
        replies = row["reply_count"] or 0
        details = [plain(row["author"], 40) if row["author"] else None,
                   f"{replies} {'reply' if replies == 1 else 'replies'}",
                   format_local(row["posted_at"], self.tz) if row["posted_at"] else None,
                   "new" if new_marker and row["is_new"] else None]
        channel = row["channel_name"] or row["channel_id"] or "slack"
        return Item(text=f"“{text}”", ref=f"#{channel}", details=[d for d in details if d])

    # -- sections shared by both reports ---------------------------------------------------------

    def untracked_rows(self, since: datetime) -> list[dict]:
        return self.rows("untracked", since=since) if self.has("marts.ticket_links") else []

    def spend_items(self, day: date) -> tuple[list[Item], list[str]]:
        if not self.has("marts.cost_daily"):
            return [], self.notes("marts.cost_daily")
        spend = self.rows("spend", day=day)[0]
        details = [f"7-day mean {money(spend['mean_7d_usd'])}/day", f"month to date {money(spend['month_usd'])}"]
        if spend["latest_day"] is not None and spend["latest_day"] < day:
            text = (f"Yesterday ({format_short_day(day)}, UTC): no cost data yet, the latest is for "
                    f"{format_short_day(spend['latest_day'])}")
        else:
            text = (f"Yesterday ({format_short_day(day)}, UTC): {money(spend['day_usd'])} over "
                    f"{spend['day_calls']:,} model calls")
        items = [Item(text=text, details=details)]
        items += self.budget_items(day)
        notes = [] if self.has("marts.budget_status") else self.notes("marts.budget_status")
        return items, notes

    def budget_items(self, day: date) -> list[Item]:
        items = []
        days_in_month = _calendar.monthrange(day.year, day.month)[1]
        for row in self.rows("budgets", day=day):
            limit = row["limit_usd"] or 0
            spent = row["spent_usd"] or 0
            share = f"{spent / limit:.0%} of {money(limit)}" if limit else f"no limit set"
            details = [f"forecast {money(row['forecast_usd'])}" if row["forecast_usd"] is not None else None,
                       f"a day's share is {money(limit / days_in_month)}" if limit else None]
            items.append(Item(
                text=f"Budget {row['budget']} ({row['period']}): {money(spent)} spent, {share}, "
                     f"{BUDGET_STATUS.get(row['status'], row['status'] or 'status unknown')}",
                details=[d for d in details if d]))
        return items


def build_daily(data: ReportData, workspace_id: str, team: Team, as_of: datetime,
                calendar: BusinessCalendar, settings: StandupSettings) -> Report:
    """The daily standup of `team` for the team-local date of `as_of`."""
    window = daily_window(as_of, zone(team.timezone), calendar, settings.time)
    b = _Builder(data, workspace_id, team, window, settings)
    has_linear = b.has("core.linear_issues")
    has_github = b.has("core.github_pull_requests")
    has_journeys = b.has("marts.ticket_journeys")

    done = b.rows("done_tickets")
    merged = b.rows("merged_prs")
    in_progress = b.rows("in_progress")
    up_next = b.rows("up_next")
    blocked = b.rows("blocked", has_journeys=has_journeys, stuck_hours=settings.stuck_days * 24)
    waits = b.rows("review_waits", review_wait_hours=settings.review_wait_hours)
    untracked = b.untracked_rows(b.since(settings.untracked_days))
    escalations = b.rows("escalations", since=b.since(settings.escalation_days))
    activity = b.rows("activity")[0]
    # Quiet: there is work data and none of it moved. Without any, the full report says what is missing.
    quiet = (has_linear or has_github) and not any(activity.values())

    blocked_items = _blocked_items(b, blocked) + [
        b.pr_item(w, f"waiting for review {format_hours(w['hours_waiting'])}", _by(w["author"]),
                  f"for {w['identifier']}" if w["identifier"] else None)
        for w in waits
    ]
    blocked_ids = {row["identifier"] for row in blocked}

    # Focus: the top open tickets by priority and risk.
    focus = _focus(b, in_progress, up_next, blocked)
    sections = [Section("focus", "🎯 Focus today", focus, empty="Nothing open to focus on.",
                        notes=b.notes("core.linear_issues"), numbered=True, show_count=False)]

    done_items = [b.ticket_item(r, _who(r)) for r in done] + [
        b.pr_item(r, f"PR {_by(r['author'])}", f"for {r['identifier']}" if r["identifier"] else None) for r in merged]
    since_text = format_local(window.start, b.tz)
    if not quiet:
        items, total = b.cap(done_items)
        sections.append(Section("done", f"✅ Done since {since_text}", items, total=total,
                                empty="Nothing completed or merged.",
                                notes=b.notes("core.linear_issues", "core.github_pull_requests")))
        items, total = b.cap([
            b.ticket_item(r, _who(r), f"{r['stage']} {format_hours(r['hours_in_stage'])}", PRIORITY.get(r["priority"]),
                          "at risk" if r["at_risk"] else None)
            for r in in_progress])
        sections.append(Section("in_progress", "🔨 In progress", items, total=total, empty="Nothing in progress.",
                                notes=b.notes("core.linear_issues")))
        items, total = b.cap([b.ticket_item(r, _who(r), PRIORITY.get(r["priority"])) for r in up_next])
        sections.append(Section("up_next", "⏭️ Up next", items, total=total, empty="Nothing queued.",
                                notes=b.notes("core.linear_issues")))

    blocked_notes = b.notes("core.linear_issues", "core.github_pull_requests")
    if has_linear and not has_journeys:
        blocked_notes.append(f"no journey data yet: stuck means no update for {format_hours(settings.stuck_days * 24)}")
    items, total = b.cap(blocked_items)
    if not quiet or items:
        sections.append(Section("blocked", "🚧 Blocked or stuck", items, total=total, empty="Nothing blocked.",
                                notes=blocked_notes))

    if not quiet:
        items, total = b.cap([b.thread_item(r, new_marker=True) for r in untracked])
        sections.append(Section("untracked", "💬 Untracked work", items, total=total,
                                empty=f"No conversation in the last {settings.untracked_days} days is work without a ticket.",
                                notes=b.notes("marts.ticket_links")))

    items, total = b.cap([_escalation_item(e) for e in escalations])
    if not quiet or items:
        sections.append(Section("waiting", "🙋 Waiting for a human", items, total=total,
                                empty="No agent is waiting for a decision.", notes=b.notes("core.agent_events")))

    if not quiet:
        people = _people(done, in_progress, up_next)
        items, total = b.cap(people, max(settings.max_items, 12))
        sections.append(Section("people", "👥 By person", items, total=total, empty="No assigned tickets.",
                                notes=b.notes("core.linear_issues"), show_count=False))

    spend_items, spend_notes = b.spend_items(window.report_date - timedelta(days=1))
    sections.append(Section("spend", "💸 AI spend", spend_items, notes=spend_notes, show_count=False,
                            empty="No AI spend recorded."))

    if quiet:
        headline = (f"Nothing moved since {since_text}: no ticket changed state, no pull request moved. "
                    f"Still {len(in_progress)} in progress, {len(up_next)} up next.")
    elif not has_linear and not has_github:
        headline = "No Linear or GitHub data yet: this standup fills in once their ingestion has run."
    else:
        parts = [f"{len(done)} done"]
        if has_github:
            parts.append(f"{plural(len(merged), 'PR')} merged")
        parts += [f"{len(in_progress)} in progress", f"{len(up_next)} up next",
                  f"{len(blocked_ids) + len(waits)} blocked or stuck"]
        if untracked:
            parts.append(f"{len(untracked)} untracked")
        if escalations:
            parts.append(f"{len(escalations)} waiting for a human")
        headline = " · ".join(parts)

    return Report(
        kind="daily", workspace_id=workspace_id, team=team.key, team_name=team.name, timezone=team.timezone,
        report_date=window.report_date, window_start=window.start, window_end=window.end,
        title=f"{_team_label(team)} standup · {format_day(window.report_date)}",
        context=_context(team, window, "since"),
        headline=headline, sections=sections, quiet=quiet,
    )


def _blocked_items(b: _Builder, rows: list[dict]) -> list[Item]:
    """One item per ticket, its reasons joined."""
    by_ticket: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_ticket[row["identifier"]].append(row)
    items = []
    for reasons in by_ticket.values():
        first = reasons[0]
        details = [_who(first)]
        blockers = sorted({r["detail"] for r in reasons if r["reason"] == "blocked_by"})
        if blockers:
            details.append("blocked by " + ", ".join(blockers))
        for r in reasons:
            if r["reason"] == "label":
                details.append(f"labelled {r['detail']}")
            elif r["reason"] == "state":
                details.append(f"in {r['detail']}")
            elif r["reason"] == "at_risk":
                details.append(_risk_text(r))
            elif r["reason"] == "idle":
                details.append(f"no update for {format_hours(r['hours_since_update'])}")
        items.append(b.ticket_item(first, *details))
    return items


def _risk_text(row: dict) -> str:
    text = f"at risk: {format_hours(row['hours_in_stage'])} in {row['stage']}"
    if row.get("stage_p80_hours") is not None:
        text += f" (team p80 {format_hours(row['stage_p80_hours'])})"
    return text


def _focus(b: _Builder, in_progress: list[dict], up_next: list[dict], blocked: list[dict]) -> list[Item]:
    """Top open tickets: priority (urgent 4 .. low 1, none 0) x 2, at risk +3, blocked +2, in
    progress +1 (finish before starting), completion probability under 50% +1; ties: longest in
    stage, then identifier."""
    blocked_by: dict[str, list[dict]] = defaultdict(list)
    for row in blocked:
        blocked_by[row["identifier"]].append(row)
    candidates: dict[str, tuple[float, float, dict, list[str], str]] = {}
    for status, rows in (("in progress", in_progress), ("up next", up_next)):
        for row in rows:
            reasons: list[str] = []
            score = 2 * (5 - row["priority_rank"]) if row["priority_rank"] < 5 else 0
            if PRIORITY.get(row["priority"]):
                reasons.append(PRIORITY[row["priority"]])
            if row.get("at_risk"):
                score += 3
                reasons.append(_risk_text(row))
            blocks = blocked_by.get(row["identifier"], [])
            idle = any(r["reason"] == "idle" for r in blocks)
            blockers = sorted({r["detail"] for r in blocks if r["reason"] == "blocked_by"})
            if blockers:
                score += 2
                reasons.append("blocked by " + ", ".join(blockers))
            elif any(r["reason"] in ("label", "state") for r in blocks):
                score += 2
                reasons.append("blocked")
            elif idle:
                score += 1
                reasons.append(f"no update for {format_hours(blocks[0]['hours_since_update'])}")
            if status == "in progress":
                score += 1
                if not row.get("at_risk") and not idle:
                    reasons.append(f"{row['stage']} {format_hours(row['hours_in_stage'])}")
            else:
                reasons.append("up next")
            probability = row.get("completion_probability")
            if probability is not None and probability < 0.5 and status == "in progress":
                score += 1
                reasons.append(f"{probability:.0%} likely to finish")
            hours = row.get("hours_in_stage") or 0.0
            candidates.setdefault(row["identifier"], (score, hours, row, reasons, status))
    ranked = sorted(candidates.values(), key=lambda c: (-c[0], -c[1], c[2]["identifier"]))
    return [b.ticket_item(row, _who(row), *reasons) for _, _, row, reasons, _ in ranked[:FOCUS_SIZE]]


def _people(done: list[dict], in_progress: list[dict], up_next: list[dict]) -> list[Item]:
    groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"done": [], "doing": [], "next": []})
    for key, rows in (("done", done), ("doing", in_progress), ("next", up_next)):
        for row in rows:
            groups[row["assignee_name"] or ""][key].append(row["identifier"])
    items = []
    for name in sorted(groups, key=lambda n: (n == "", n.lower())):
        g = groups[name]
        details = [f"{label} {_ids(g[key])}" for key, label in (("done", "done"), ("doing", "doing"), ("next", "next"))
                   if g[key]]
        items.append(Item(text=plain(name, 40) if name else "Unassigned", details=details))
    return items


def _escalation_item(row: dict) -> Item:
    question = plain(row["question"], 140) if row["question"] else "(no question given)"
    details = [f"{row['agent'] or 'an agent'} escalated {format_hours(row['hours_waiting'])} ago"]
    if row["identifier"] is None and row["ticket_id"]:
        details.append(f"ticket {row['ticket_id']}")
    return Item(text=question, ref=row["identifier"], url=row["url"], details=details)


# -- weekly --------------------------------------------------------------------------------------


def build_weekly(data: ReportData, workspace_id: str, team: Team, as_of: datetime,
                 calendar: BusinessCalendar, settings: StandupSettings) -> Report:
    """The weekly digest of `team` for the team-local week of `as_of` (Monday 00:00 to `as_of`)."""
    window = weekly_window(as_of, zone(team.timezone), calendar)
    b = _Builder(data, workspace_id, team, window, settings)
    previous = dict(previous_start=window.start - timedelta(days=7), previous_end=window.end - timedelta(days=7))
    monday = window.start.astimezone(b.tz).date()
    last_day = window.end.astimezone(b.tz).date()

    done = b.rows("done_tickets")
    merged = b.rows("merged_prs")
    accomplishments = [b.ticket_item(r, _who(r), PRIORITY.get(r["priority"])) for r in done] + [
        b.pr_item(r, f"PR {_by(r['author'])}", f"for {r['identifier']}" if r["identifier"] else None) for r in merged]
    items, total = b.cap(accomplishments, settings.max_items * 2)
    sections = [Section("accomplishments", "🏁 Accomplishments", items, total=total,
                        empty="Nothing completed or merged this week.",
                        notes=b.notes("core.linear_issues", "core.github_pull_requests"))]

    trend = b.rows("cycle_time_trend", week_start=monday, weeks=TREND_WEEKS) if team.filter else []
    by_week = {r["week_start"]: r for r in trend}
    trend_items = []
    if trend:
        for n in range(TREND_WEEKS - 1, -1, -1):
            week = monday - timedelta(weeks=n)
            row = by_week.get(week)
            label = "this week" if week == monday else f"week of {format_short_day(week)}"
            if row is None:
                trend_items.append(Item(text=f"{label[:1].upper()}{label[1:]}: nothing delivered"))
                continue
            details = [f"median cycle {format_hours(row['cycle_p50_hours'])}" if row["cycle_p50_hours"] is not None
                       else "no cycle time",
                       f"p85 {format_hours(row['cycle_p85_hours'])}" if row["cycle_p85_hours"] is not None else None]
            trend_items.append(Item(text=f"{label[:1].upper()}{label[1:]}: {row['tickets_delivered']} delivered",
                                    details=[d for d in details if d]))
    sections.append(Section("cycle_time", "⏱️ Cycle-time trend", trend_items, show_count=False,
                            empty=f"No ticket delivered in the last {TREND_WEEKS} weeks.",
                            notes=b.notes("marts.cycle_time_weekly")))

    funnel = b.rows("funnel_changes", **previous) if b.has("marts.ticket_stage_intervals") else []
    funnel_items = [Item(text=f"{r['stage']}: {r['this_week']} entered",
                         details=[f"same days last week {r['last_week']} ({_delta(r['this_week'] - r['last_week'])})"])
                    for r in funnel if r["this_week"] or r["last_week"]]
    sections.append(Section("funnel", "🔀 Funnel changes", funnel_items, show_count=False,
                            empty="No ticket entered a stage this week or the same days last week.",
                            notes=b.notes("marts.ticket_stage_intervals")))

    untracked = sorted(b.untracked_rows(window.start), key=lambda r: (-(r["reply_count"] or 0), r["posted_at"]))
    items, total = b.cap([b.thread_item(r, new_marker=False) for r in untracked], 5)
    sections.append(Section("untracked", "💬 Top untracked conversations", items, total=total,
                            empty="No conversation this week is work without a ticket.",
                            notes=b.notes("marts.ticket_links")))

    cost_items, cost_notes, week_usd = _cost_items(b, monday, last_day)
    sections.append(Section("costs", "💸 AI cost summary", cost_items, notes=cost_notes, show_count=False,
                            empty="No AI spend recorded."))

    parts = [f"{plural(len(done), 'ticket')} delivered"]
    if b.has("core.github_pull_requests"):
        parts.append(f"{plural(len(merged), 'PR')} merged")
    this_week, last_week = by_week.get(monday), by_week.get(monday - timedelta(weeks=1))
    if this_week and this_week["cycle_p50_hours"] is not None:
        cycle = f"median cycle {format_hours(this_week['cycle_p50_hours'])}"
        if last_week and last_week["cycle_p50_hours"] is not None:
            cycle += f" (last week {format_hours(last_week['cycle_p50_hours'])})"
        parts.append(cycle)
    if untracked:
        parts.append(f"{plural(len(untracked), 'untracked conversation')}")
    if week_usd is not None:
        parts.append(f"AI spend {money(week_usd)}")
    return Report(
        kind="weekly", workspace_id=workspace_id, team=team.key, team_name=team.name, timezone=team.timezone,
        report_date=window.report_date, window_start=window.start, window_end=window.end,
        title=f"{_team_label(team)} weekly digest · week of {format_short_day(monday)} {monday.year}",
        context=_context(team, window, "from"),
        headline=" · ".join(parts), sections=sections,
    )


def _cost_items(b: _Builder, first_day: date, last_day: date) -> tuple[list[Item], list[str], float | None]:
    if not b.has("marts.cost_daily"):
        return [], b.notes("marts.cost_daily"), None
    rows = b.rows("cost_week", first_day=first_day, last_day=last_day)
    this_week = sum(r["this_week_usd"] for r in rows)
    last_week = sum(r["last_week_usd"] for r in rows)
    calls = sum(r["this_week_calls"] for r in rows)
    change = f"{(this_week - last_week) / last_week:+.0%}" if last_week else "no spend then"
    items = [Item(text=f"{format_short_day(first_day)} to {format_short_day(last_day)} (UTC days): "
                       f"{money(this_week)} over {calls:,} model calls",
                  details=[f"same days last week {money(last_week)} ({change})"])]
    for r in [r for r in rows if r["this_week_usd"] > 0][:3]:
        items.append(Item(text=f"{r['model']}: {money(r['this_week_usd'])}", details=[f"{r['this_week_calls']:,} calls"]))
    items += b.budget_items(last_day)
    notes = [] if b.has("marts.budget_status") else b.notes("marts.budget_status")
    return items, notes, this_week


# -- small helpers -------------------------------------------------------------------------------


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def money(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "$?"
    return f"${value:,.2f}"


def _delta(value: int) -> str:
    return f"{value:+d}" if value else "same"


def _ids(identifiers: list[str], limit: int = 3) -> str:
    shown = ", ".join(identifiers[:limit])
    return shown + (f" +{len(identifiers) - limit}" if len(identifiers) > limit else "")


def _who(row: dict) -> str:
    return plain(row.get("assignee_name"), 40) if row.get("assignee_name") else "unassigned"


def _by(author: str | None) -> str:
    return f"by {plain(author, 40)}" if author else "by unknown"


def _team_label(team: Team) -> str:
    return "Workspace" if team.key == ALL_TEAMS else team.key


def _context(team: Team, window: Window, word: str) -> str:
    parts = [team.name if team.key != ALL_TEAMS else "All teams"]
    parts.append(f"{word} {format_local(window.start, window.tz)} to {format_local(window.end, window.tz)} "
                 f"({window.tz.key})")
    if window.holiday:
        parts.append(f"{format_short_day(window.report_date)} is a holiday ({window.holiday})")
    elif not window.business_day:
        parts.append(f"{format_short_day(window.report_date)} is not a business day")
    return " · ".join(parts)


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
