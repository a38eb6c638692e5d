"""Generate a world's Linear workspace from its work plan: the issues are ``world.tickets``, the
users are ``world.people`` (the Slack workspace's humans, matched by email).

Each team has a workflow with every state type (Triage on teams that triage, Backlog, Todo,
In Progress and In Review (both ``started``), Done, Canceled and Duplicate). Each ticket walks the
workflow from its creation to the world's ``now`` and leaves a full history: forward moves, moves
back (In Review -> In Progress), reopenings, cancellations, cancellation after completion; plus
history entries that change something else (priority, labels, assignee). Besides the random walks,
the oldest tickets are fixed edge cases ("set pieces", see ``SET_PIECES``), so that even a tiny
world has each of them, including a history longer than several pages, an archived ticket, a
sub-issue and a ticket assigned to a deactivated user.
"""
from __future__ import annotations

import random
import string
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from connectors.sandbox import vocab
from connectors.sandbox.linear_data import (
    Comment,
    Cycle,
    HistoryEntry,
    Issue,
    Label,
    LinearWorkspace,
    Organization,
    Project,
    State,
    Team,
    User,
    ms,
    uuid_from,
)

if TYPE_CHECKING:
    from connectors.sandbox.world import World

TEAM_TIMEZONES = {"ENG": "America/New_York", "WEB": "Europe/London", "OPS": "Asia/Tokyo", "DATA": "Europe/Paris"}
TRIAGE_TEAMS = frozenset({"ENG", "OPS"})
CYCLE_TEAMS = frozenset({"ENG", "WEB"})
WORKFLOW = (("Triage", "triage", "#fc7840"), ("Backlog", "backlog", "#bec2c8"), ("Todo", "unstarted", "#e2e2e2"),
            ("In Progress", "started", "#f2c94c"), ("In Review", "started", "#0f783c"),
            ("Done", "completed", "#5e6ad2"), ("Canceled", "canceled", "#95a2b3"),
            ("Duplicate", "canceled", "#95a2b3"))
# state -> (next state or "stay", weight): the random walk of a ticket through its workflow.
MOVES = {
    "Triage": (("Backlog", 6), ("Todo", 3), ("Duplicate", 0.7), ("stay", 1)),
    "Backlog": (("Todo", 7), ("In Progress", 2), ("Canceled", 0.5), ("stay", 2)),
    "Todo": (("In Progress", 8), ("Backlog", 1), ("Canceled", 0.4), ("stay", 1)),
    "In Progress": (("In Review", 7), ("Todo", 1.5), ("Done", 1), ("Canceled", 0.3), ("stay", 1)),
    "In Review": (("Done", 7), ("In Progress", 2.5), ("Canceled", 0.2), ("stay", 0.5)),
    "Done": (("stay", 16), ("In Progress", 1.5), ("Todo", 1), ("Canceled", 0.8)),
    "Canceled": (("stay", 17), ("Backlog", 3)),
    "Duplicate": (("stay", 1),),
}
# Edge cases every world has, on its oldest tickets: (name, the states walked after creation).
SET_PIECES = (
    ("moved_back", ("Todo", "In Progress", "In Review", "In Progress", "In Review", "Done")),
    ("reopened", ("Todo", "In Progress", "Done", "In Progress", "In Review", "Done")),
    ("canceled_after_completion", ("Todo", "In Progress", "Done", "Canceled")),
    ("canceled", ("Backlog", "Todo", "Canceled")),
    ("long_history", ("Todo", "In Progress") + ("In Review", "In Progress") * 14 + ("In Review", "Done")),
    ("archived", ("Todo", "In Progress", "In Review", "Done")),
    ("deactivated_assignee", ("Todo", "In Progress", "Done")),
    ("sub_issue", ("Todo", "In Progress")),
    ("unassigned", ("Backlog",)),
)
PRIORITIES = (0, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4)
ESTIMATES = (None, None, None, 1.0, 2.0, 2.0, 3.0, 3.0, 5.0, 8.0)
KIND_LABELS = {"bug": "Bug", "feature": "Feature", "chore": "Chore"}
PROJECT_SUFFIXES = ("revamp", "v2", "reliability push", "migration", "hardening", "GA")
PROJECT_STATES = (("started", 4), ("planned", 2), ("completed", 2.5), ("backlog", 1), ("canceled", 0.5))
COMMENT_TEXTS = (
    "Repro steps: {detail}. Happens on {customer}'s account too.",
    "I can take this one.",
    "PR is up, could someone review?",
    "Blocked on the {component} deploy, picking this up tomorrow.",
    "Moved back: the fix didn't cover {customer}'s case.",
    "Confirmed fixed on staging 🎉",
    "Is this still happening after yesterday's release?",
    "Pairing with @{handle} on this.",
    "Root cause: {detail}. Writing a test first.",
    "Closing as duplicate of an older ticket.",
)
COMMENT_COUNTS = (0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 6)


def generate_linear(world: World, rng: random.Random, clock) -> LinearWorkspace:
    """Builds the Linear workspace of ``world`` from ``rng`` alone (deterministic per seed)."""
    now = world.now
    span = timedelta(days=world.scale.span_days)
    org = Organization(uuid_from(rng), world.company.name, world.company.slug, ms(now - span - timedelta(days=400)))
    id_rng = random.Random(rng.random())
    ws = LinearWorkspace(organization=org, api_key="lin_api_" + "".join(rng.choices(string.ascii_letters + string.digits, k=40)),
                         lock=world.lock, clock=clock, id_factory=lambda: uuid_from(id_rng))
    gen = _Generator(world, ws, rng)
    gen.users()
    gen.teams()
    gen.labels()
    gen.projects()
    gen.cycles()
    gen.issues()
    return ws


class _Generator:
    def __init__(self, world: World, ws: LinearWorkspace, rng: random.Random):
        self.world, self.ws, self.rng = world, ws, rng
        self.now = world.now
        self.start = self.now - timedelta(days=world.scale.span_days)
        self.user_of: dict[str, str] = {}  # person handle -> user id
        self.team_of: dict[str, Team] = {}  # team key -> team
        self.kind_label: dict[str, str] = {}
        self.team_labels: dict[str, list[str]] = {}
        self.tickets: dict = {}  # issue id -> its TicketSeed

    def _id(self) -> str:
        return uuid_from(self.rng)

    def _between(self, low: datetime, high: datetime) -> datetime:
        return ms(low + (high - low) * self.rng.random())

    # ---- organization-level entities -------------------------------------------------------
    def users(self) -> None:
        org_created = self.ws.organization.created_at
        for index, person in enumerate(self.world.people):
            created = self._between(org_created, self.start - timedelta(days=30))
            updated = self._between(created, self.start if person.deactivated else self.now - timedelta(days=1))
            user = User(self._id(), person.real_name, person.handle, person.email, not person.deactivated,
                        index == 0, created, updated, handle=person.handle)
            self.ws.users[user.id] = user
            self.user_of[person.handle] = user.id

    def teams(self) -> None:
        for key, name in self.world.teams:
            created = self._between(self.ws.organization.created_at, self.start - timedelta(days=60))
            team = Team(self._id(), key, name, TEAM_TIMEZONES.get(key, "UTC"), created,
                        self._between(created, self.start), triage_enabled=key in TRIAGE_TEAMS,
                        cycles_enabled=key in CYCLE_TEAMS)
            self.ws.teams[team.id] = team
            self.team_of[key] = team
            for position, (state_name, state_type, color) in enumerate(WORKFLOW):
                if state_type == "triage" and not team.triage_enabled:
                    continue
                state = State(self._id(), team.id, state_name, state_type, float(position), color, created,
                              self._between(created, self.start))
                self.ws.states[state.id] = state

    def labels(self) -> None:
        created = self.ws.organization.created_at + timedelta(days=3)
        for kind, name in KIND_LABELS.items():
            label = Label(self._id(), name, None, "#eb5757", created, created)
            self.ws.labels[label.id] = label
            self.kind_label[kind] = label.id
        for key, team in self.team_of.items():
            self.team_labels[key] = []
            for component, _, _ in vocab.COMPONENTS[key][:2]:
                label = Label(self._id(), component, team.id, "#4ea7fc", team.created_at, team.updated_at)
                self.ws.labels[label.id] = label
                self.team_labels[key].append(label.id)

    def projects(self) -> None:
        count = 2 + len(self.world.tickets) // 60
        keys = list(self.team_of)
        names = set()
        for _ in range(count):
            key = self.rng.choice(keys)
            component = self.rng.choice(vocab.COMPONENTS[key])[0]
            name = f"{component[:1].upper()}{component[1:]} {self.rng.choice(PROJECT_SUFFIXES)}"
            while name in names:
                name += " II"
            names.add(name)
            teams = [self.team_of[key].id] + ([self.team_of[k].id for k in self.rng.sample(keys, 1) if k != key])
            state = self.rng.choices([s for s, _ in PROJECT_STATES], [w for _, w in PROJECT_STATES])[0]
            created = self._between(self.start - timedelta(days=60), self.start + (self.now - self.start) / 2)
            project = Project(self._id(), name, state, teams, created, created)
            if state in ("started", "completed", "canceled"):
                project.started_at = self._between(created, min(self.now, created + timedelta(days=20)))
            if state in ("planned", "started"):
                project.target_date = (self.now + timedelta(days=self.rng.randint(7, 90))).date()
            if state == "completed":
                project.completed_at = self._between(project.started_at, self.now)
                project.target_date = project.completed_at.date()
            if state == "canceled":
                project.canceled_at = self._between(project.started_at, self.now)
            project.updated_at = max(t for t in (created, project.started_at, project.completed_at,
                                                 project.canceled_at) if t is not None)
            self.ws.projects[project.id] = project

    def cycles(self) -> None:
        for key, team in self.team_of.items():
            if not team.cycles_enabled:
                continue
            first = (self.start - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
            number, starts = 1, first
            while starts <= self.now:
                ends = starts + timedelta(days=14)
                created = starts - timedelta(days=14)
                cycle = Cycle(self._id(), team.id, number, starts, ends, created, min(ends, self.now - timedelta(hours=1)),
                              completed_at=ends if ends < self.now else None)
                self.ws.cycles[cycle.id] = cycle
                number, starts = number + 1, ends

    # ---- issues ------------------------------------------------------------------------------
    def issues(self) -> None:
        pieces = dict(zip(range(len(SET_PIECES)), SET_PIECES))
        by_piece: dict[str, Issue] = {}
        for index, ticket in enumerate(self.world.tickets):
            piece = pieces.get(index)
            issue = self._issue(ticket, piece[0] if piece else None)
            self.tickets[issue.id] = ticket
            if piece:
                self._walk_path(issue, piece[1])
                by_piece[piece[0]] = issue
            else:
                self._walk_random(issue)
            self._other_changes(issue, many=issue.set_piece == "long_history")
            self._finish(issue, by_piece)
            self.ws.add_issue(issue)
            self._comments(issue)
        self._triage_piece()

    def _issue(self, ticket, piece: str | None) -> Issue:
        team = self.team_of[ticket.team_key]
        created = ms(ticket.created_at + timedelta(milliseconds=self.rng.randrange(1000)))
        labels = [self.kind_label[ticket.kind]]
        if self.rng.random() < 0.3:
            labels.append(self.rng.choice(self.team_labels[ticket.team_key]))
        issue = Issue(
            id=self._id(), identifier=ticket.identifier, team_id=team.id, number=ticket.number, title=ticket.title,
            description=ticket.description if self.rng.random() < 0.9 else None, state_id="",
            priority=self.rng.choice(PRIORITIES), estimate=self.rng.choice(ESTIMATES), url=ticket.url,
            created_at=created, updated_at=created, creator_id=self.user_of[ticket.creator],
            assignee_id=self.user_of[ticket.assignee] if ticket.assignee else None, label_ids=labels,
            set_piece=piece,
        )
        if piece == "unassigned":
            issue.assignee_id = None
        elif piece == "deactivated_assignee":
            gone = [p.handle for p in self.world.people if p.deactivated]
            issue.assignee_id = self.user_of[self.rng.choice(gone)]
        projects = [p for p in self.ws.projects.values() if team.id in p.team_ids]
        if projects and self.rng.random() < 0.5:
            issue.project_id = self.rng.choice(projects).id
        return issue

    def _initial_state(self, issue: Issue) -> State:
        team = self.ws.teams[issue.team_id]
        if team.triage_enabled and self.rng.random() < 0.5:
            return self.ws.state_named(team.id, "Triage")
        return self.ws.state_named(team.id, "Backlog" if self.rng.random() < 0.5 else "Todo")

    def _actor(self, issue: Issue) -> str:
        if issue.assignee_id and self.rng.random() < 0.8:
            return issue.assignee_id
        return issue.creator_id

    def _walk_path(self, issue: Issue, path: tuple[str, ...]) -> None:
        """A set piece: created in the path's first state, then every next state a few hours apart."""
        self.ws.record_creation(issue, self.ws.state_named(issue.team_id, path[0]), issue.created_at, issue.creator_id)
        at = issue.created_at
        for name in path[1:]:
            at = ms(at + timedelta(hours=self.rng.uniform(0.5, 6)))
            self.ws.move(issue, self.ws.state_named(issue.team_id, name), at, self._actor(issue))

    def _walk_random(self, issue: Issue) -> None:
        state = self._initial_state(issue)
        self.ws.record_creation(issue, state, issue.created_at, issue.creator_id)
        at = issue.created_at
        while True:
            options = MOVES[state.name]
            name = self.rng.choices([o for o, _ in options], [w for _, w in options])[0]
            if name == "stay":
                return
            at = ms(at + timedelta(minutes=5) + timedelta(hours=self.rng.expovariate(1 / 18)))
            if at >= self.now - timedelta(minutes=1):
                return
            state = self.ws.state_named(issue.team_id, name)
            self.ws.move(issue, state, at, self._actor(issue))

    def _other_changes(self, issue: Issue, many: bool) -> None:
        """History entries that change something other than the state."""
        end = min(self.now - timedelta(minutes=1), issue.updated_at + timedelta(days=2))
        extra = []
        if issue.assignee_id and self.rng.random() < 0.5:
            extra.append(HistoryEntry(self._id(), issue.id, ms(issue.created_at + timedelta(minutes=3)),
                                      issue.creator_id, to_assignee_id=issue.assignee_id))
        for _ in range(26 if many else int(self.rng.random() < 0.25)):
            new = self.rng.choice([p for p in (0, 1, 2, 3, 4) if p != issue.priority])
            extra.append(HistoryEntry(self._id(), issue.id, self._between(issue.created_at, end), issue.creator_id,
                                      from_priority=issue.priority, to_priority=new))
            issue.priority = new
        if self.rng.random() < 0.2 and len(issue.label_ids) == 1:
            label = self.rng.choice(self.team_labels[self.ws.teams[issue.team_id].key])
            extra.append(HistoryEntry(self._id(), issue.id, self._between(issue.created_at, end), self._actor(issue),
                                      added_label_ids=[label]))
            issue.label_ids.append(label)
        if extra:
            issue.history = sorted(issue.history + extra, key=lambda h: h.created_at)
            issue.updated_at = max(issue.updated_at, max(h.created_at for h in extra))

    def _finish(self, issue: Issue, by_piece: dict[str, Issue]) -> None:
        state = self.ws.states[issue.state_id]
        team = self.ws.teams[issue.team_id]
        first_started = next((h.created_at for h in issue.history
                              if h.to_state_id and self.ws.states[h.to_state_id].type == "started"), None)
        if team.cycles_enabled and first_started is not None:
            issue.cycle_id = next((c.id for c in self.ws.cycles.values()
                                   if c.team_id == team.id and c.starts_at <= first_started < c.ends_at), None)
        if issue.set_piece == "sub_issue" and "moved_back" in by_piece:
            issue.parent_id = by_piece["moved_back"].id
        elif issue.set_piece is None and self.rng.random() < 0.1:
            siblings = [i for i in self.ws.issues.values() if i.team_id == issue.team_id and i.parent_id is None
                        and i.bad_reason is None and issue.created_at - i.created_at < timedelta(days=30)]
            if siblings:
                issue.parent_id = self.rng.choice(siblings).id
        ended = issue.completed_at or issue.canceled_at
        if ended is not None and state.type in ("completed", "canceled"):
            if issue.set_piece == "archived":
                issue.archived_at = ms(ended + timedelta(hours=self.rng.uniform(1, 20)))
            elif issue.set_piece is None and self.now - ended > timedelta(days=35) and self.rng.random() < 0.3:
                issue.archived_at = ms(ended + timedelta(days=self.rng.uniform(28, 34)))
            if issue.archived_at is not None:
                issue.updated_at = max(issue.updated_at, issue.archived_at)
            elif issue.set_piece is None and self.now - ended > timedelta(days=20) and self.rng.random() < 0.2:
                # old work done by someone who has since left
                gone = [p.handle for p in self.world.people if p.deactivated]
                issue.assignee_id = self.user_of[self.rng.choice(gone)]

    def _comments(self, issue: Issue) -> None:
        count = 3 if issue.set_piece == "moved_back" else self.rng.choice(COMMENT_COUNTS)
        people = [p for p in self.world.people if not p.deactivated]
        gone = [p for p in self.world.people if p.deactivated]
        horizon = min(self.now - timedelta(minutes=2), issue.created_at + timedelta(days=20))
        ticket = self.tickets[issue.id]
        for number in range(count):
            author = self.rng.choice(gone if gone and self.rng.random() < 0.1 else people)
            created = self._between(issue.created_at, horizon)
            body = self.rng.choice(COMMENT_TEXTS).format(
                detail=self.rng.choice(ticket.work.problem_chat), customer=self.rng.choice(vocab.CUSTOMERS),
                component=ticket.work.component, handle=self.rng.choice(people).handle)
            comment = Comment(self._id(), issue.id, self.user_of[author.handle], body, created, created)
            if self.rng.random() < 0.15 or (issue.set_piece == "moved_back" and number == 0):
                comment.edited_at = comment.updated_at = self._between(created, min(self.now - timedelta(minutes=1),
                                                                                 created + timedelta(days=2)))
                comment.body += " (edit: repro only on Safari)"
            self.ws.comments[comment.id] = comment
            issue.comment_ids.append(comment.id)

    def _triage_piece(self) -> None:
        """One ticket of a triaging team still waits in Triage (the newest one, created in it)."""
        for issue in sorted(self.ws.issues.values(), key=lambda i: i.created_at, reverse=True):
            team = self.ws.teams[issue.team_id]
            if not team.triage_enabled or issue.set_piece:
                continue
            first = issue.history[0]
            if self.ws.states[first.to_state_id].name == "Triage" and len([h for h in issue.history if h.is_state_change]) == 1:
                issue.set_piece = "in_triage"
                return
            triage = self.ws.state_named(team.id, "Triage")
            first.to_state_id = triage.id
            issue.history = [h for h in issue.history if not h.is_state_change or h is first]
            issue.state_id = triage.id
            issue.started_at = issue.completed_at = issue.canceled_at = issue.cycle_id = None
            issue.archived_at = None
            issue.updated_at = max([issue.created_at] + [h.created_at for h in issue.history])
            issue.set_piece = "in_triage"
            return
