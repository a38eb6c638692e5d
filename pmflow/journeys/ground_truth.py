"""A plain-Python reference for the stage visits of a ticket, and a comparison with the marts.

`reference_visits` recomputes, one ticket at a time, what marts.ticket_stage_intervals should hold
(same rules: initial state at creation, state changes, archiving, the open-PR lift, the last change
of an instant wins, consecutive equal stages merge, nothing after as_of). `journey_differences`
lists where the warehouse disagrees. Tests use both on random histories; the hook for the sandbox's
ground truth is `journey_differences(con, world_histories, config, as_of)`, once the Linear sandbox
generates ticket histories (see tests/unit/test_journey_reference.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from pmflow.journeys.stages import StageConfig


@dataclass(frozen=True)
class Change:
    at: datetime
    state_name: str | None
    state_type: str | None
    history_id: str = ""


@dataclass(frozen=True)
class PullRequest:
    opened_at: datetime
    ended_at: datetime | None = None
    draft: bool = False


@dataclass(frozen=True)
class TicketHistory:
    workspace_id: str
    ticket_id: str
    team_key: str
    created_at: datetime
    initial_state: tuple[str | None, str | None]
    """(name, type) the ticket was created in."""
    changes: Sequence[Change] = ()
    archived_at: datetime | None = None
    pull_requests: Sequence[PullRequest] = field(default_factory=tuple)


@dataclass(frozen=True)
class Visit:
    stage: str
    entered_at: datetime
    exited_at: datetime | None


def reference_visits(ticket: TicketHistory, config: StageConfig, as_of: datetime) -> list[Visit]:
    model = config.model_for(ticket.workspace_id, ticket.team_key)
    # (at, seq, tiebreak, stage or None, pr_delta); seq orders an instant: creation, change/PR, archive.
    events: list[tuple[datetime, int, str, object, int]] = []

    def state(name, kind, at, seq, tiebreak):
        stage = model.stage_for((kind or "").lower(), name or "")
        if stage is not None:
            events.append((at, seq, tiebreak, stage, 0))

    state(ticket.initial_state[0], ticket.initial_state[1], ticket.created_at, 0, "")
    for change in ticket.changes:
        state(change.state_name, change.state_type, change.at, 1, change.history_id)
    if ticket.archived_at is not None:
        state("", "archived", ticket.archived_at, 2, "")
    for number, pr in enumerate(ticket.pull_requests):
        if pr.draft and pr.ended_at is None:
            continue
        events.append((pr.opened_at, 1, f"pr{number}", None, 1))
        if pr.ended_at is not None:
            events.append((pr.ended_at, 1, f"pr{number}", None, -1))
    events = sorted((e for e in events if e[0] <= as_of), key=lambda e: (e[0], e[1], e[2]))

    visits: list[Visit] = []
    current, open_prs = None, 0
    for index, (at, _, _, stage, delta) in enumerate(events):
        current = stage if stage is not None else current
        open_prs += delta
        if index + 1 < len(events) and events[index + 1][0] == at:
            continue  # only the last change of an instant counts
        if current is None:
            continue
        effective = model.open_pr_stage if open_prs > 0 and current in model.open_pr_from else current
        if visits and visits[-1].stage == effective:
            continue
        if visits:
            visits[-1] = Visit(visits[-1].stage, visits[-1].entered_at, at)
        visits.append(Visit(effective, at, None))
    return visits


def journey_differences(con: duckdb.DuckDBPyConnection, tickets: Iterable[TicketHistory], config: StageConfig,
                        as_of: datetime) -> list[str]:
    """Where marts.ticket_stage_intervals disagrees with the reference, one line per ticket (empty:
    they agree). The marts must have been built with the same config and as_of."""
    differences = []
    for ticket in tickets:
        expected = [(v.stage, v.entered_at, v.exited_at) for v in reference_visits(ticket, config, as_of)]
        actual = [tuple(row) for row in con.execute(
            "SELECT stage, entered_at, exited_at FROM marts.ticket_stage_intervals "
            "WHERE workspace_id = ? AND ticket_id = ? ORDER BY visit_seq",
            [ticket.workspace_id, ticket.ticket_id]).fetchall()]
        if actual != expected:
            differences.append(f"{ticket.workspace_id}/{ticket.ticket_id}: expected {expected}, got {actual}")
    return differences
