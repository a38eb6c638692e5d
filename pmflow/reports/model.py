"""The report as data: sections of items, rendered later as Markdown or Slack Block Kit.

Every string field of an Item, and the notes of a Section, may hold data from the warehouse (a
ticket title, a person's name, chat text): renderers escape all of them. Only the structure (section
titles, separators, emphasis, links built from `url`) is the renderer's own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass
class Item:
    """One line of a section: `ref` (ENG-12, acme/api#7) linked to `url`, then `text`, then `details`
    joined with ' · '."""

    text: str = ""
    ref: str | None = None
    url: str | None = None
    details: list[str] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    items: list[Item] = field(default_factory=list)
    total: int | None = None
    """How many items there are in all (more than len(items) when the list was cut)."""
    empty: str = ""
    """What to say when there are no items (and no notes)."""
    notes: list[str] = field(default_factory=list)
    """Honest remarks about the data: "no GitHub data yet"."""
    numbered: bool = False
    show_count: bool = True

    @property
    def count(self) -> int:
        return self.total if self.total is not None else len(self.items)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.items))


@dataclass
class Report:
    kind: str  # daily | weekly
    workspace_id: str
    team: str  # Linear team key, or "all"
    team_name: str
    timezone: str
    report_date: date
    window_start: datetime
    window_end: datetime
    title: str
    context: str
    headline: str
    """One line: the counts ("3 done · 5 in progress ..."), or "Nothing moved since ..." on a quiet day."""
    sections: list[Section] = field(default_factory=list)
    quiet: bool = False
    summary: str | None = None
    summary_model: str | None = None

    @property
    def key(self) -> tuple[str, str, str, date]:
        return (self.workspace_id, self.kind, self.team, self.report_date)

    @property
    def marker(self) -> str:
        return report_marker(self.kind, self.team, self.report_date)

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)


def report_marker(kind: str, team: str, report_date: date) -> str:
    """The footer of a report's Slack message, by which a retried post finds a message whose
    answer was lost."""
    return f"pmflow {kind} report · {team} · {report_date.isoformat()}"
