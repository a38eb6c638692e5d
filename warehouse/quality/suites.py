"""What the data-quality suites check, per core table, as data.

Every table of warehouse/tables.py NATURAL_KEYS in the core schema gets its key checks (each key
column not null, the key unique) without being listed here. `CHECKS` adds, per table:

- timestamps: event times that must be sane: not before 2000-01-01 and not later than now plus
  PMFLOW_QUALITY_MAX_SKEW_MINUTES (dates that may lie in the future, like a cycle's end, are not
  listed);
- ordered: (earlier, later) column pairs, e.g. created_at <= updated_at;
- known_values: columns whose values come from a closed set (states, kinds);
- non_negative: counts, tokens and costs;
- references: columns that must resolve to a row of another table of the same workspace (NULL is
  not a broken reference; a check is skipped while the referenced table holds nothing for the
  workspace, e.g. before its source was first ingested).

A flow author adding a core table adds its natural key to warehouse/tables.py and, when it has
timestamps, states, amounts or references, an entry here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from warehouse.tables import NATURAL_KEYS

LINEAR_STATE_TYPES = ("triage", "backlog", "unstarted", "started", "completed", "canceled")
GITHUB_STATES = ("open", "closed")
GITHUB_REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")


@dataclass(frozen=True)
class Reference:
    """`columns` of the table must match `ref_columns` of a row of `table` in the same workspace."""

    columns: tuple[str, ...]
    table: str
    ref_columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return ",".join(self.columns)


@dataclass(frozen=True)
class TableChecks:
    timestamps: tuple[str, ...] = ()
    ordered: tuple[tuple[str, str], ...] = ()
    known_values: Mapping[str, tuple] = field(default_factory=dict)
    non_negative: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()


def _ref(columns: str, table: str, ref_columns: str | None = None) -> Reference:
    cols = tuple(c.strip() for c in columns.split(","))
    return Reference(cols, table, tuple(c.strip() for c in (ref_columns or columns).split(",")))


CHECKS: dict[str, TableChecks] = {
    # Slack
    "core.slack_channels": TableChecks(timestamps=("created_at",)),
    "core.slack_users": TableChecks(),
    "core.slack_messages": TableChecks(
        timestamps=("posted_at", "edited_at"),
        ordered=(("posted_at", "edited_at"),),
        non_negative=("reply_count",),
        references=(_ref("channel_id", "core.slack_channels"),),
    ),
    # Linear
    "core.linear_states": TableChecks(
        known_values={"type": LINEAR_STATE_TYPES},
        references=(_ref("team_id", "core.linear_teams"),),
    ),
    "core.linear_projects": TableChecks(timestamps=("started_at", "completed_at")),
    "core.linear_cycles": TableChecks(
        ordered=(("starts_at", "ends_at"),),
        references=(_ref("team_id", "core.linear_teams"),),
    ),
    "core.linear_issues": TableChecks(
        timestamps=("created_at", "updated_at", "started_at", "completed_at", "canceled_at", "archived_at"),
        ordered=(("created_at", "updated_at"),),
        known_values={"state_type": LINEAR_STATE_TYPES, "priority": (0, 1, 2, 3, 4)},
        non_negative=("estimate",),
        references=(
            _ref("team_id", "core.linear_teams"),
            _ref("parent_id", "core.linear_issues", "issue_id"),
        ),
    ),
    "core.linear_issue_history": TableChecks(
        timestamps=("changed_at",),
        references=(_ref("issue_id", "core.linear_issues"),),
    ),
    "core.linear_comments": TableChecks(
        timestamps=("created_at", "updated_at"),
        references=(_ref("issue_id", "core.linear_issues"),),
    ),
    # GitHub
    "core.github_pull_requests": TableChecks(
        timestamps=("created_at", "updated_at", "merged_at", "closed_at"),
        ordered=(("created_at", "updated_at"),),
        known_values={"state": GITHUB_STATES},
    ),
    "core.github_issues": TableChecks(
        timestamps=("created_at", "updated_at", "closed_at"),
        ordered=(("created_at", "updated_at"),),
        known_values={"state": GITHUB_STATES},
    ),
    "core.github_reviews": TableChecks(
        timestamps=("submitted_at",),
        known_values={"state": GITHUB_REVIEW_STATES},
        references=(_ref("repo,pr_number", "core.github_pull_requests", "repo,number"),),
    ),
    "core.github_comments": TableChecks(
        timestamps=("created_at", "updated_at"),
        known_values={"kind": ("issue", "review")},
    ),
    "core.github_pr_events": TableChecks(
        timestamps=("created_at",),
        references=(_ref("repo,number", "core.github_pull_requests"),),
    ),
    # AI usage
    "core.llm_usage": TableChecks(
        timestamps=("occurred_at",),
        known_values={
            "source": ("pipeline", "openai_usage", "agent_trace"),
            "price_status": ("priced", "override", "unknown_model", "no_token_price"),
        },
        non_negative=("input_tokens", "output_tokens", "cached_tokens", "requests", "cost_usd"),
    ),
    "core.agent_events": TableChecks(
        timestamps=("occurred_at",),
        non_negative=("input_tokens", "output_tokens"),
    ),
}


def core_tables() -> list[str]:
    """Every core table the suites cover: those with a natural key, and those with checks."""
    return sorted({t for t in NATURAL_KEYS if t.startswith("core.")} | set(CHECKS))


AI_USAGE_TABLES = ("core.llm_usage", "core.agent_events")


def tables_of_source(source: str) -> list[str]:
    """The core tables one source fills, by name: core.<source>_*; the source 'openai' also owns
    the AI-usage tables (core.llm_usage, core.agent_events)."""
    tables = [t for t in core_tables() if t.startswith(f"core.{source}_")]
    if source == "openai":
        tables += [t for t in AI_USAGE_TABLES if t not in tables]
    return tables
