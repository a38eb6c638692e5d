"""The Linear part of the sandbox world: organization, teams, workflow states, users, projects,
cycles, labels, issues with their full history, comments; mutations and ground truth.

Times are aware UTC datetimes with millisecond precision (Linear's wire format is
``2026-11-20T17:00:00.000Z``). Every mutation holds the world's lock, takes its time from the
world's logical clock (one second per mutation after ``now``, shared with Slack) and bumps
``version``.

Ground-truth mapping (what a correct ingestion stores, see the ``expected_*`` methods):
- an issue's ``state_name``/``state_type``/``team_key`` are its current state's and team's;
  ``label_ids`` in the order served; ``assignee_id`` may be NULL or a deactivated user.
- ``core.linear_issue_history`` holds the history entries that change the state (``fromState`` or
  ``toState`` set): the creation entry (``from_state`` NULL) and every move, forward or back.
  Entries that change something else (priority, labels, assignee) are served but not expected.
- users are every user, deactivated ones included (``is_active`` false).
- bad records (``add_bad_records``) are served but never expected: each one is quarantined.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

STATE_TYPES = ("triage", "backlog", "unstarted", "started", "completed", "canceled")
OPEN_TYPES = ("triage", "backlog", "unstarted")


def iso(moment: datetime | None) -> str | None:
    """Linear's DateTime: ISO 8601 in UTC with milliseconds and a Z."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value.astimezone(UTC)


def ms(moment: datetime) -> datetime:
    """Truncated to milliseconds, as Linear stores times."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class LinearError(ValueError):
    """An error a resolver reports as a GraphQL error (``extensions.code``)."""

    def __init__(self, message: str, code: str = "INVALID_INPUT"):
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Organization:
    id: str
    name: str
    url_key: str
    created_at: datetime


@dataclass(slots=True)
class Team:
    id: str
    key: str
    name: str
    timezone: str
    created_at: datetime
    updated_at: datetime
    triage_enabled: bool = False
    cycles_enabled: bool = False


@dataclass(slots=True)
class State:
    id: str
    team_id: str
    name: str
    type: str
    position: float
    color: str
    created_at: datetime
    updated_at: datetime
    bad_reason: str | None = None  # served, but quarantined by a correct ingestion


@dataclass(slots=True)
class User:
    id: str
    name: str
    display_name: str
    email: str
    active: bool
    admin: bool
    created_at: datetime
    updated_at: datetime
    handle: str | None = None  # the world Person's handle (also their Slack name)
    listed: bool = True  # False: deleted, yet still referenced (a bad record)


@dataclass(slots=True)
class Project:
    id: str
    name: str
    state: str
    team_ids: list[str]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    target_date: date | None = None
    completed_at: datetime | None = None
    canceled_at: datetime | None = None


@dataclass(slots=True)
class Cycle:
    id: str
    team_id: str
    number: int
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None


@dataclass(slots=True)
class Label:
    id: str
    name: str
    team_id: str | None
    color: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class HistoryEntry:
    """One IssueHistory entry; a state change when from/to state is set, else another change."""

    id: str
    issue_id: str
    created_at: datetime | str  # a str only for a bad record (an invalid timestamp)
    actor_id: str | None
    from_state_id: str | None = None
    to_state_id: str | None = None
    from_priority: int | None = None
    to_priority: int | None = None
    from_assignee_id: str | None = None
    to_assignee_id: str | None = None
    added_label_ids: list[str] | None = None
    bad_reason: str | None = None

    @property
    def is_state_change(self) -> bool:
        return self.from_state_id is not None or self.to_state_id is not None


@dataclass(slots=True)
class Comment:
    id: str
    issue_id: str
    user_id: str
    body: str
    created_at: datetime | str
    updated_at: datetime
    edited_at: datetime | None = None
    bad_reason: str | None = None


@dataclass(slots=True)
class Issue:
    id: str
    identifier: str
    team_id: str
    number: int
    title: str
    description: str | None
    state_id: str
    priority: int
    estimate: float | None
    url: str
    created_at: datetime | str  # a str only for a bad record
    updated_at: datetime
    creator_id: str | None
    assignee_id: str | None = None
    project_id: str | None = None
    cycle_id: str | None = None
    parent_id: str | None = None
    label_ids: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    canceled_at: datetime | None = None
    archived_at: datetime | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    comment_ids: list[str] = field(default_factory=list)
    bad_reason: str | None = None
    set_piece: str | None = None  # the edge case this ticket was generated for, if any


class LinearWorkspace:
    """All Linear state of one world. Mutations hold ``lock`` and bump ``version``."""

    def __init__(self, *, organization: Organization, api_key: str, lock: threading.RLock,
                 clock: Callable[[], datetime], id_factory: Callable[[], str]):
        self.organization = organization
        self.api_key = api_key
        self.lock = lock
        self.clock = clock
        self.new_id = id_factory
        self.teams: dict[str, Team] = {}
        self.states: dict[str, State] = {}
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.cycles: dict[str, Cycle] = {}
        self.labels: dict[str, Label] = {}
        self.issues: dict[str, Issue] = {}
        self.comments: dict[str, Comment] = {}
        self.by_identifier: dict[str, Issue] = {}
        self.bad_records: list[dict] = []
        self.version = 0

    # ---- lookups -------------------------------------------------------------------------
    def issue(self, id_or_identifier: str) -> Issue:
        issue = self.issues.get(id_or_identifier) or self.by_identifier.get(id_or_identifier)
        if issue is None:
            raise LinearError(f"Entity not found: Issue {id_or_identifier}", "INVALID_INPUT")
        return issue

    def team_states(self, team_id: str) -> list[State]:
        return sorted((s for s in self.states.values() if s.team_id == team_id and s.bad_reason is None),
                      key=lambda s: s.position)

    def state_named(self, team_id: str, name: str) -> State:
        for state in self.team_states(team_id):
            if state.name.lower() == name.lower():
                return state
        raise LinearError(f"team {self.teams[team_id].key} has no state named {name!r}")

    def add_issue(self, issue: Issue) -> None:
        self.issues[issue.id] = issue
        if issue.identifier:
            self.by_identifier[issue.identifier] = issue

    # ---- state changes (used by the generator and the mutations) ---------------------------
    def record_creation(self, issue: Issue, state: State, at: datetime, actor_id: str | None) -> None:
        issue.state_id = state.id
        issue.history.append(HistoryEntry(self.new_id(), issue.id, at, actor_id, None, state.id))
        _stamp_state_times(issue, state, at)
        issue.updated_at = max(issue.updated_at, at)

    def move(self, issue: Issue, state: State, at: datetime, actor_id: str | None) -> HistoryEntry:
        entry = HistoryEntry(self.new_id(), issue.id, at, actor_id, issue.state_id, state.id)
        issue.history.append(entry)
        issue.state_id = state.id
        _stamp_state_times(issue, state, at)
        issue.updated_at = max(issue.updated_at, at)
        return entry

    # ---- mutations (thread-safe, for incremental tests) ------------------------------------
    def move_issue(self, identifier: str, state: str | None = None, *, back: bool = False,
                   actor_id: str | None = None) -> str:
        """Move a ticket to the state named ``state``, or (``back=True``) one state back in its
        team's workflow (In Review -> In Progress, Done -> In Review, Canceled -> where it was).
        Returns the new history entry's id."""
        with self.lock:
            issue = self.issue(identifier)
            if (state is None) == (not back):
                raise ValueError("give either a state name or back=True")
            target = self._state_back(issue) if back else self.state_named(issue.team_id, state)
            if target.id == issue.state_id:
                raise ValueError(f"{issue.identifier} is already in {target.name}")
            entry = self.move(issue, target, self.clock(), actor_id or issue.assignee_id or issue.creator_id)
            self.version += 1
            return entry.id

    def _state_back(self, issue: Issue) -> State:
        current = self.states[issue.state_id]
        if current.type == "canceled":
            last = next((h for h in reversed(issue.history) if h.to_state_id == current.id and h.from_state_id), None)
            if last is not None:
                return self.states[last.from_state_id]
        workflow = [s for s in self.team_states(issue.team_id) if s.type != "canceled"]
        index = next(i for i, s in enumerate(workflow) if s.id == current.id)
        if index == 0:
            raise ValueError(f"{issue.identifier} is in the first state of its workflow")
        return workflow[index - 1]

    def update_issue(self, identifier: str, *, title: str | None = None, description: str | None = None,
                     priority: int | None = None, estimate: float | None = None,
                     assignee_id: str | None = None, unassign: bool = False) -> str:
        """Change fields of a ticket; priority and assignee changes add (non-state) history entries.
        Returns the issue id."""
        with self.lock:
            issue = self.issue(identifier)
            at = self.clock()
            if title is not None:
                issue.title = title
            if description is not None:
                issue.description = description
            if estimate is not None:
                issue.estimate = estimate
            if priority is not None and priority != issue.priority:
                issue.history.append(HistoryEntry(self.new_id(), issue.id, at, issue.creator_id,
                                                  from_priority=issue.priority, to_priority=priority))
                issue.priority = priority
            if (assignee_id is not None or unassign) and assignee_id != issue.assignee_id:
                if assignee_id is not None and assignee_id not in self.users:
                    raise ValueError(f"unknown user {assignee_id}")
                issue.history.append(HistoryEntry(self.new_id(), issue.id, at, issue.creator_id,
                                                  from_assignee_id=issue.assignee_id, to_assignee_id=assignee_id))
                issue.assignee_id = assignee_id
            issue.updated_at = at
            self.version += 1
            return issue.id

    def archive_issue(self, identifier: str) -> str:
        with self.lock:
            issue = self.issue(identifier)
            issue.archived_at = issue.updated_at = self.clock()
            self.version += 1
            return issue.id

    def add_comment(self, identifier: str, body: str, *, user_id: str | None = None, comment_id: str | None = None) -> str:
        """A new comment (default author: the ticket's assignee or creator); returns its id.
        ``comment_id``: the client's own id (Linear accepts a UUID), refused when it exists."""
        with self.lock:
            issue = self.issue(identifier)
            if comment_id is not None and comment_id in self.comments:
                raise LinearError(f"Entity already exists: Comment {comment_id}")
            at = self.clock()
            comment = Comment(comment_id or self.new_id(), issue.id, user_id or issue.assignee_id or issue.creator_id,
                              body, at, at)
            self.comments[comment.id] = comment
            issue.comment_ids.append(comment.id)
            self.version += 1
            return comment.id

    def create_issue(self, team_id: str, title: str, *, issue_id: str | None = None, description: str | None = None,
                     state_id: str | None = None, assignee_id: str | None = None, priority: int = 0,
                     estimate: float | None = None, label_ids: list[str] | None = None, parent_id: str | None = None,
                     project_id: str | None = None, creator_id: str | None = None) -> Issue:
        """A new ticket in the team's Triage (or Backlog) state unless ``state_id`` says otherwise; its
        identifier takes the team's next number. ``issue_id`` (the client's own id) is refused when it exists."""
        with self.lock:
            team = self.teams.get(team_id)
            if team is None:
                raise LinearError(f"Entity not found: Team {team_id}")
            if issue_id is not None and issue_id in self.issues:
                raise LinearError(f"Entity already exists: Issue {issue_id}")
            states = self.team_states(team.id)
            state = (self.states.get(state_id) if state_id else
                     next((s for s in states if s.type == ("triage" if team.triage_enabled else "backlog")), states[0]))
            if state is None or state.team_id != team.id:
                raise LinearError(f"Entity not found: WorkflowState {state_id}")
            number = 1 + max((i.number for i in self.issues.values() if i.team_id == team.id and not i.bad_reason),
                             default=0)
            identifier = f"{team.key}-{number}"
            creator = creator_id or next(u.id for u in self.users.values() if u.admin)
            at = self.clock()
            issue = Issue(issue_id or self.new_id(), identifier, team.id, number, title, description, state.id,
                          priority, estimate, f"https://linear.app/{self.organization.url_key}/issue/{identifier}",
                          at, at, creator, assignee_id=assignee_id, parent_id=parent_id, project_id=project_id,
                          label_ids=list(label_ids or []))
            self.record_creation(issue, state, at, creator)
            self.add_issue(issue)
            self.version += 1
            return issue

    def edit_comment(self, comment_id: str, body: str) -> str:
        """Change a comment's body; sets editedAt and updatedAt (the issue's updatedAt does not move)."""
        with self.lock:
            comment = self.comments.get(comment_id)
            if comment is None:
                raise LinearError(f"Entity not found: Comment {comment_id}")
            comment.body = body
            comment.edited_at = comment.updated_at = self.clock()
            self.version += 1
            return comment.id

    def add_bad_records(self) -> list[dict]:
        """Serve one record of each kind a correct ingestion must quarantine (and go on loading the
        rest); returns them as {"stream", "record_key", "reason"} (reason: what it is, in words).

        All are served through the real schema (a conforming server can send them): a workflow
        state of an unknown type and a ticket in it; a ticket whose identifier and title are empty;
        a ticket assigned to, and a comment written by, a deleted user (absent from ``users``); a
        ticket created on February 30th; a state change dated "yesterday"; a comment dated in
        month 13. A ticket without assignee is not bad: there are many in every world.
        """
        with self.lock:
            at = self.clock()
            team = min(self.teams.values(), key=lambda t: t.key)
            host = min(self.good_issues(), key=lambda i: i.created_at)
            todo = next(s for s in self.team_states(team.id) if s.type == "unstarted")
            creator = host.creator_id
            paused = State(self.new_id(), team.id, "Paused", "paused", 3.5, "#000000", at, at,
                           bad_reason="unknown state type")
            self.states[paused.id] = paused
            deleted = User(self.new_id(), "Deleted User", "deleted", "deleted@example.invalid", False, False,
                           at, at, listed=False)
            self.users[deleted.id] = deleted

            def bad_issue(number: int, reason: str, **changes) -> Issue:
                issue = Issue(self.new_id(), f"{team.key}-{number}", team.id, number, f"Bad record {number}", None,
                              todo.id, 0, None, f"https://linear.app/{self.organization.url_key}/issue/{team.key}-{number}",
                              at, at, creator, bad_reason=reason)
                for name, value in changes.items():
                    setattr(issue, name, value)
                self.add_issue(issue)
                return issue

            issues = [
                bad_issue(9001, "unknown state type", state_id=paused.id),
                bad_issue(9002, "missing fields", identifier="", title=""),
                bad_issue(9003, "deleted user", assignee_id=deleted.id),
                bad_issue(9004, "invalid timestamp", created_at="2026-02-30T09:00:00.000Z"),
            ]
            entry = HistoryEntry(self.new_id(), host.id, "yesterday", creator, host.state_id, host.state_id,
                                 bad_reason="invalid timestamp")
            host.history.append(entry)
            host.updated_at = at
            comments = [
                Comment(self.new_id(), host.id, deleted.id, "a comment by someone since deleted", at, at,
                        bad_reason="deleted user"),
                Comment(self.new_id(), host.id, creator, "a comment from month 13", "2026-13-01T10:00:00.000Z", at,
                        bad_reason="invalid timestamp"),
            ]
            for comment in comments:
                self.comments[comment.id] = comment
                host.comment_ids.append(comment.id)
            self.version += 1
            records = ([{"stream": "states", "record_key": paused.id, "reason": paused.bad_reason}]
                       + [{"stream": "issues", "record_key": i.id, "reason": i.bad_reason} for i in issues]
                       + [{"stream": "history", "record_key": entry.id, "reason": entry.bad_reason}]
                       + [{"stream": "comments", "record_key": c.id, "reason": c.bad_reason} for c in comments])
            self.bad_records += records
            return records

    # ---- ground truth ----------------------------------------------------------------------
    def good_issues(self) -> list[Issue]:
        return sorted((i for i in self.issues.values() if i.bad_reason is None), key=lambda i: i.id)

    def expected_issues(self, workspace_id: str) -> list[dict]:
        with self.lock:
            rows = []
            for issue in self.good_issues():
                state, team = self.states[issue.state_id], self.teams[issue.team_id]
                rows.append({
                    "workspace_id": workspace_id, "issue_id": issue.id, "identifier": issue.identifier,
                    "title": issue.title, "description": issue.description, "state_id": state.id,
                    "state_name": state.name, "state_type": state.type, "team_id": team.id, "team_key": team.key,
                    "project_id": issue.project_id, "cycle_id": issue.cycle_id, "parent_id": issue.parent_id,
                    "assignee_id": issue.assignee_id, "creator_id": issue.creator_id, "priority": issue.priority,
                    "estimate": issue.estimate, "label_ids": list(issue.label_ids), "url": issue.url,
                    "created_at": issue.created_at, "updated_at": issue.updated_at, "started_at": issue.started_at,
                    "completed_at": issue.completed_at, "canceled_at": issue.canceled_at,
                    "archived_at": issue.archived_at,
                })
            return rows

    def expected_history(self, workspace_id: str) -> list[dict]:
        with self.lock:
            rows = []
            for issue in self.good_issues():
                for entry in issue.history:
                    if not entry.is_state_change or entry.bad_reason:
                        continue
                    before = self.states[entry.from_state_id] if entry.from_state_id else None
                    after = self.states[entry.to_state_id] if entry.to_state_id else None
                    rows.append({
                        "workspace_id": workspace_id, "history_id": entry.id, "issue_id": issue.id,
                        "from_state_id": before.id if before else None, "to_state_id": after.id if after else None,
                        "from_state": before.name if before else None, "to_state": after.name if after else None,
                        "from_state_type": before.type if before else None,
                        "to_state_type": after.type if after else None,
                        "changed_at": entry.created_at, "actor_id": entry.actor_id,
                    })
            return rows

    def expected_comments(self, workspace_id: str) -> list[dict]:
        with self.lock:
            good = {i.id for i in self.good_issues()}
            return [
                {"workspace_id": workspace_id, "comment_id": c.id, "issue_id": c.issue_id, "user_id": c.user_id,
                 "body": c.body, "created_at": c.created_at, "updated_at": c.updated_at, "edited_at": c.edited_at}
                for c in sorted(self.comments.values(), key=lambda c: c.id)
                if c.bad_reason is None and c.issue_id in good
            ]

    def expected_teams(self, workspace_id: str) -> list[dict]:
        with self.lock:
            return [{"workspace_id": workspace_id, "team_id": t.id, "key": t.key, "name": t.name,
                     "timezone": t.timezone} for t in sorted(self.teams.values(), key=lambda t: t.id)]

    def expected_states(self, workspace_id: str) -> list[dict]:
        with self.lock:
            return [{"workspace_id": workspace_id, "state_id": s.id, "team_id": s.team_id, "name": s.name,
                     "type": s.type, "position": s.position}
                    for s in sorted(self.states.values(), key=lambda s: s.id) if s.bad_reason is None]

    def expected_users(self, workspace_id: str) -> list[dict]:
        with self.lock:
            return [{"workspace_id": workspace_id, "user_id": u.id, "name": u.name, "display_name": u.display_name,
                     "email": u.email, "is_active": u.active}
                    for u in sorted(self.users.values(), key=lambda u: u.id) if u.listed]

    def expected_projects(self, workspace_id: str) -> list[dict]:
        with self.lock:
            return [{"workspace_id": workspace_id, "project_id": p.id, "name": p.name, "state": p.state,
                     "started_at": p.started_at, "target_date": p.target_date, "completed_at": p.completed_at}
                    for p in sorted(self.projects.values(), key=lambda p: p.id)]

    def expected_cycles(self, workspace_id: str) -> list[dict]:
        with self.lock:
            return [{"workspace_id": workspace_id, "cycle_id": c.id, "team_id": c.team_id, "number": c.number,
                     "starts_at": c.starts_at, "ends_at": c.ends_at}
                    for c in sorted(self.cycles.values(), key=lambda c: c.id)]

    def expected_labels(self, workspace_id: str) -> list[dict]:
        with self.lock:
            return [{"workspace_id": workspace_id, "label_id": label.id, "name": label.name, "team_id": label.team_id}
                    for label in sorted(self.labels.values(), key=lambda label: label.id)]

    def expected_rows(self, workspace_id: str) -> dict[str, list[dict]]:
        """Every Linear core table -> its expected rows."""
        return {
            "core.linear_teams": self.expected_teams(workspace_id),
            "core.linear_states": self.expected_states(workspace_id),
            "core.linear_users": self.expected_users(workspace_id),
            "core.linear_projects": self.expected_projects(workspace_id),
            "core.linear_cycles": self.expected_cycles(workspace_id),
            "core.linear_labels": self.expected_labels(workspace_id),
            "core.linear_issues": self.expected_issues(workspace_id),
            "core.linear_issue_history": self.expected_history(workspace_id),
            "core.linear_comments": self.expected_comments(workspace_id),
        }


def _stamp_state_times(issue: Issue, state: State, at: datetime) -> None:
    """Linear's startedAt / completedAt / canceledAt as they follow the state.

    startedAt: set on the first move into a started state, cleared when the ticket goes back to
    triage/backlog/unstarted; completedAt and canceledAt: when it entered its current completed or
    canceled state, NULL otherwise."""
    if state.type in OPEN_TYPES:
        issue.started_at = None
    elif state.type == "started" and issue.started_at is None:
        issue.started_at = at
    issue.completed_at = at if state.type == "completed" else None
    issue.canceled_at = at if state.type == "canceled" else None


def uuid_from(rng) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
