"""The sandbox world: one coherent company, its work plan, and (for now) its Slack workspace.

Everything is deterministic in ``(seed, size)``: each part draws from its own
``random.Random(f"{seed}:<part>")`` stream, so adding a part (Linear, GitHub) later does not
change the parts that exist, and nothing reads the wall clock: the world's ``now`` is fixed
(``NOW``) and everything generated is dated before it. Mutations made afterwards (posting,
editing, growing history) use a logical clock that ticks one second per mutation after ``now``.

The work plan comes first: people and ticket seeds (``world.tickets``), plus ideas for work that
has no ticket (``world.untracked_work``). Slack threads then discuss those tickets, the untracked
work, or nothing in particular, and ``world.slack_thread_truth`` records which.

The truth is meant to be one a careful reader could reproduce from the text: a topic is a
(component, problem) pair, each ticket has its own topic, and untracked work never has a ticket's
topic. Only a world with more tickets than a team has topics (far beyond ``default``) repeats
topics, as duplicate tickets.
"""
from __future__ import annotations

import math
import random
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.sandbox import slack_gen, vocab
from connectors.sandbox.linear_data import LinearWorkspace
from connectors.sandbox.slack_data import SlackWorkspace, format_ts, parse_ts

NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
NAMED_SIZES = ("tiny", "default")
TEAM_WEIGHTS = {"ENG": 35, "WEB": 25, "OPS": 25, "DATA": 15}
UNTRACKED_SHARE = 0.25
"""Share of each team's topics that tickets never take: the untracked work, however big the world."""


@dataclass(frozen=True, slots=True)
class Scale:
    """How big a world is; ``messages`` is the approximate total including replies."""

    messages: int
    channels: int
    humans: int
    tickets: int
    span_days: int


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    slug: str  # Slack domain, Linear organisation and GitHub organisation

    @property
    def email_domain(self) -> str:
        return f"{self.slug}.example.com"


@dataclass(frozen=True, slots=True)
class Person:
    handle: str
    real_name: str
    email: str
    title: str
    tz: tuple[str, str, int]  # (zone, Slack tz_label, offset seconds)
    github_login: str
    deactivated: bool


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A piece of work: what it touches and the problem, in ticket words and in chat words."""

    team_key: str
    kind: str  # "bug" | "feature" | "chore"
    component: str
    aliases: tuple[str, ...]
    problem: str
    problem_chat: tuple[str, ...]
    topic_words: tuple[str, ...]
    qualifier: str = ""


@dataclass(frozen=True, slots=True)
class TicketSeed:
    """The seed of a Linear issue, shared by the Slack, Linear and GitHub generators."""

    identifier: str  # e.g. "ENG-123"
    team_key: str
    number: int
    title: str
    description: str
    created_at: datetime
    creator: str  # Person.handle
    assignee: str | None
    url: str  # https://linear.app/<org>/issue/<identifier>/<slug>
    work: WorkItem

    @property
    def kind(self) -> str:
        return self.work.kind

    @property
    def topic_words(self) -> tuple[str, ...]:
        return self.work.topic_words


def resolve_scale(size: str | int) -> Scale:
    """"tiny", "default", or an approximate total message count (int or digit string)."""
    if size == "tiny":
        return Scale(messages=60, channels=4, humans=8, tickets=20, span_days=45)
    if size == "default":
        size = 3000
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    if not isinstance(size, int) or isinstance(size, bool) or size < 20:
        raise ValueError(f"size must be one of {NAMED_SIZES} or an int >= 20, not {size!r}")
    root = math.sqrt(size)
    return Scale(
        messages=size,
        channels=_clamp(round(root / 4.5), 4, 60),
        humans=_clamp(round(root / 2.2), 8, 400),
        tickets=_clamp(size // 10, 20, 2000),
        span_days=_clamp(round(120 * (size / 3000) ** 0.35), 30, 365),
    )


class World:
    """One company's workspace across services. Build it with ``World.generate``."""

    def __init__(self, *, seed: int, scale: Scale, company: Company, people: list[Person],
                 teams: list[tuple[str, str]], tickets: list[TicketSeed],
                 untracked_work: list[WorkItem], lock: threading.RLock):
        self.seed = seed
        self.scale = scale
        self.now = NOW
        self.company = company
        self.people = people
        self.teams = teams
        self.tickets = tickets
        self.untracked_work = untracked_work
        self.lock = lock
        self.slack: SlackWorkspace | None = None
        self._linear: LinearWorkspace | None = None
        self._mutation_rng = random.Random(f"{seed}:mutations")
        self._growth_count = 0
        self._truth_cache: tuple[int, dict] | None = None

    @classmethod
    def generate(cls, seed: int = 7, size: str | int = "default", *, bad_records: int = 0,
                 app_kind: str = "internal") -> World:
        """Generate a world. ``bad_records`` adds malformed Slack messages (see
        ``bad_slack_records``); ``app_kind="non_marketplace"`` caps history/replies at 15 a page.
        """
        if app_kind not in ("internal", "non_marketplace"):
            raise ValueError(f"app_kind must be 'internal' or 'non_marketplace', not {app_kind!r}")
        scale = resolve_scale(size)
        world = _generate_plan(seed, scale)
        world.slack = slack_gen.generate_slack(world, random.Random(f"{seed}:slack"),
                                               bad_records=bad_records, app_kind=app_kind)
        return world

    # ---- identity --------------------------------------------------------------------------
    @property
    def workspace_id(self) -> str:
        return self.slack.team_id

    @property
    def slack_bot_token(self) -> str:
        return self.slack.bot_token

    # ---- Linear (built on first use, from its own random stream) ----------------------------
    @property
    def linear(self) -> LinearWorkspace:
        """The Linear workspace: the tickets are ``tickets``, the users are ``people``; see
        ``linear_data`` for the ground truth and the mutations, ``linear_gen`` for what it holds."""
        with self.lock:
            if self._linear is None:
                from connectors.sandbox import linear_gen
                from connectors.sandbox.slack_data import ts_to_datetime

                self._linear = linear_gen.generate_linear(
                    self, random.Random(f"{self.seed}:linear"), clock=lambda: ts_to_datetime(self.slack.next_ts()))
            return self._linear

    @property
    def linear_api_key(self) -> str:
        return self.linear.api_key

    def expected_linear_rows(self, workspace_id: str | None = None) -> dict[str, list[dict]]:
        """Every Linear core table -> the rows a correct ingestion stores (keyed by ``workspace_id``,
        default the Slack team id: the sandbox demo's one tenant)."""
        return self.linear.expected_rows(workspace_id or self.workspace_id)

    def journey_histories(self, workspace_id: str | None = None) -> list:
        """Each ticket's state history as ``pmflow.journeys.ground_truth.TicketHistory``."""
        from pmflow.journeys.ground_truth import Change, TicketHistory

        workspace_id = workspace_id or self.workspace_id
        with self.lock:
            linear, histories = self.linear, []
            for row in linear.expected_issues(workspace_id):
                changes = [Change(h["changed_at"], h["to_state"], h["to_state_type"], h["history_id"])
                           for h in linear.expected_history(workspace_id) if h["issue_id"] == row["issue_id"]]
                first = linear.states[next(h for h in linear.issue(row["issue_id"]).history
                                           if h.is_state_change).to_state_id]
                histories.append(TicketHistory(workspace_id, row["issue_id"], row["team_key"], row["created_at"],
                                               (first.name, first.type), tuple(changes), row["archived_at"]))
            return histories

    # ---- ground truth ----------------------------------------------------------------------
    def expected_slack_messages(self) -> list[dict]:
        """One dict per message and reply; see ``slack_data`` for the mapping rules."""
        return self.slack.expected_messages()

    def expected_slack_users(self) -> list[dict]:
        return self.slack.expected_users()

    def expected_slack_channels(self) -> list[dict]:
        return self.slack.expected_channels()

    def bad_slack_records(self) -> list[dict]:
        """The malformed records served in history: channel_id, reason, payload, served_after_ts."""
        return self.slack.bad_records()

    @property
    def slack_thread_truth(self) -> dict[tuple[str, str], dict]:
        """(channel_id, ts of each top-level message) -> {"ticket": id | None, "kind": kind}.

        ``kind`` is "ticket", "new_work" or "not_work"; cached until the next mutation.
        """
        with self.lock:
            if self._truth_cache is None or self._truth_cache[0] != self.slack.version:
                self._truth_cache = (self.slack.version, self.slack.thread_truth())
            return self._truth_cache[1]

    # ---- GitHub (built on first use, from its own random stream) ----------------------------
    @property
    def github(self):
        """The GitHub organisation (a ``github_data.GitHubData``; owner ``company.slug``): repos, PRs,
        issues, reviews, comments, timelines. Ground truth: ``expected_github_rows`` and
        ``github_truth``; mutations: the ``github_*`` methods below (see ``github_data``)."""
        with self.lock:
            if self.__dict__.get("_github") is None:
                from connectors.sandbox.github_gen import generate_github
                from connectors.sandbox.slack_data import ts_to_datetime

                self._github = generate_github(self, random.Random(f"{self.seed}:github"),
                                               clock=lambda: ts_to_datetime(self.slack.next_ts()))
            return self._github

    @property
    def github_token(self) -> str:
        return self.github.token

    @property
    def github_repos(self) -> list[str]:
        """"owner/name" of every repository (GITHUB_REPOS)."""
        return self.github.repo_names

    @property
    def github_truth(self) -> dict[tuple[str, int], str | None]:
        """(repo, number) of every PR and issue -> the ticket identifier it is about, or None."""
        return self.github.truth()

    def expected_github_rows(self, workspace_id: str | None = None) -> dict[str, list[dict]]:
        """Every GitHub core table -> the rows a correct ingestion stores (keyed by ``workspace_id``,
        default the Slack team id: the sandbox demo's one tenant)."""
        return self.github.expected_rows(workspace_id or self.workspace_id)

    # ---- mutations (thread-safe, for incremental tests) ------------------------------------
    def post_message(self, channel_id: str, text: str, *, user_id: str | None = None,
                     ticket: str | None = None, kind: str | None = None) -> str:
        """Post a new top-level message (default author: the app's bot user); returns its ts.

        ``ticket``/``kind`` label it in ``slack_thread_truth`` (default: "ticket" when a ticket
        is given, else "not_work").
        """
        truth = (kind or ("ticket" if ticket else "not_work"), ticket)
        message = self.slack.post_message(channel_id, text, user_id=user_id, truth=truth)
        return format_ts(message.ts)

    def add_reply(self, channel_id: str, thread_ts: str, text: str | None = None, *,
                  user_id: str | None = None) -> str:
        """Reply in a thread, however old (updates reply_count/latest_reply); returns its ts."""
        with self.lock:
            user_id = user_id or self._mutation_rng.choice(slack_gen.active_human_ids(self.slack))
            text = text or self._mutation_rng.choice(slack_gen.LATE_REPLY_TEXTS)
            message = self.slack.post_message(channel_id, text, user_id=user_id, thread_ts=parse_ts(thread_ts))
            return format_ts(message.ts)

    def edit_message(self, channel_id: str, ts: str, text: str, *, user_id: str | None = None) -> str:
        """Change a message's text and set ``edited``; returns the edit's ts (``edited.ts``)."""
        message = self.slack.edit_message(channel_id, parse_ts(ts), text, user_id=user_id)
        return format_ts(message.edited[1])

    def delete_message(self, channel_id: str, ts: str) -> None:
        """Delete a message: gone from history, or a tombstone if it still has replies."""
        self.slack.delete_message(channel_id, parse_ts(ts))

    def move_ticket(self, identifier: str, state: str | None = None, *, back: bool = False) -> str:
        """Linear: move a ticket to ``state`` (a name) or one state back; returns the history entry id."""
        return self.linear.move_issue(identifier, state, back=back)

    def update_ticket(self, identifier: str, **fields) -> str:
        """Linear: change title, description, priority, estimate, assignee_id (or unassign=True)."""
        return self.linear.update_issue(identifier, **fields)

    def archive_ticket(self, identifier: str) -> str:
        return self.linear.archive_issue(identifier)

    def add_ticket_comment(self, identifier: str, body: str, *, user_id: str | None = None) -> str:
        """Linear: comment on a ticket; returns the comment id."""
        return self.linear.add_comment(identifier, body, user_id=user_id)

    def edit_ticket_comment(self, comment_id: str, body: str) -> str:
        """Linear: edit a comment (sets editedAt; the ticket's updatedAt does not move)."""
        return self.linear.edit_comment(comment_id, body)

    def add_linear_bad_records(self) -> list[dict]:
        """Linear: serve one record of each kind ingestion must quarantine (``LinearWorkspace.add_bad_records``)."""
        return self.linear.add_bad_records()

    def grow_old_history(self, factor: float, channel_id: str | None = None) -> int:
        """Add messages older than everything in the channel(s) so that each holds about
        ``factor`` times as many messages as now. Returns how many messages were added.
        """
        with self.lock:
            self._growth_count += 1
            rng = random.Random(f"{self.seed}:grow:{self._growth_count}")
            return slack_gen.grow_old_history(self, rng, factor, channel_id)

    def github_update_pr(self, repo: str, number: int, *, title: str | None = None, body: str | None = None) -> str:
        """GitHub: edit a PR's title/body (moves its updated_at); returns the new updated_at."""
        return self.github.update_pull(repo, number, title=title, body=body)

    def github_close_pr(self, repo: str, number: int, *, merge: bool = False) -> str:
        return self.github.close_pull(repo, number, merge=merge)

    def github_reopen_pr(self, repo: str, number: int) -> str:
        """GitHub: reopen a closed, unmerged PR."""
        return self.github.reopen_pull(repo, number)

    def github_add_review(self, repo: str, number: int, state: str = "APPROVED", *, login: str | None = None,
                          body: str = "") -> int:
        """GitHub: submit a review on a PR; returns the review id."""
        return self.github.add_review(repo, number, state, login=login, body=body)

    def github_add_comment(self, repo: str, number: int, body: str, *, login: str | None = None) -> int:
        return self.github.add_comment(repo, number, body, login=login)

    def github_edit_comment(self, repo: str, comment_id: int, body: str, *, kind: str = "issue") -> str:
        """GitHub: edit an issue or review comment (only the comment's updated_at moves)."""
        return self.github.edit_comment(repo, comment_id, body, kind=kind)

    def github_add_bad_records(self, count: int = 4) -> list[dict]:
        """GitHub: serve ``count`` malformed records ingestion must quarantine."""
        return [{"repo": record.repo, "stream": record.stream, "reason": record.reason, "payload": record.payload}
                for record in self.github.add_bad_records(count)]


# ---- the work plan -------------------------------------------------------------------------

def _generate_plan(seed: int, scale: Scale) -> World:
    rng = random.Random(f"{seed}:plan")
    company = Company(*rng.choice(vocab.COMPANIES))
    teams = list(vocab.TEAMS[: rng.choice((3, 4))])
    people = _generate_people(rng, company, scale.humans)
    pools = {key: _work_pool(rng, key) for key, _ in teams}
    tickets = _generate_tickets(rng, company, teams, people, pools, scale)
    untracked = [item for key, _ in teams for item in pools[key]]
    rng.shuffle(untracked)
    return World(seed=seed, scale=scale, company=company, people=people, teams=teams, tickets=tickets,
                 untracked_work=untracked, lock=threading.RLock())


def _generate_people(rng: random.Random, company: Company, count: int) -> list[Person]:
    names = list(vocab.FIXED_PEOPLE)
    seen = {handle for _, handle in names}
    while len(names) < count:
        real_name = f"{rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.LAST_NAMES)}"
        handle = _unique(_handle(real_name), seen)
        seen.add(handle)
        names.append((real_name, handle))
    deactivated = set(rng.sample(range(len(vocab.FIXED_PEOPLE), count), max(1, count // 12)))
    return [
        Person(handle=handle, real_name=real_name, email=f"{handle}@{company.email_domain}",
               title=rng.choice(vocab.JOB_TITLES), tz=rng.choice(vocab.TIMEZONES),
               github_login=handle.replace(".", "-"), deactivated=i in deactivated)
        for i, (real_name, handle) in enumerate(names[:count])
    ]


def _work_pool(rng: random.Random, team_key: str) -> list[WorkItem]:
    """One work item per (component, problem) of a team, shuffled.

    The qualifier ("for EU customers") is drawn once per topic: colour said in some titles and
    threads, never the only thing that tells two pieces of work apart."""
    problems = [(kind, problem, chat)
                for kind, entries in (("bug", vocab.SYMPTOMS), ("feature", vocab.FEATURES), ("chore", vocab.CHORES))
                for problem, chat, teams in entries if team_key in teams.split()]
    pool = [
        WorkItem(team_key=team_key, kind=kind, component=component, aliases=aliases, problem=problem,
                 problem_chat=chat, topic_words=words + _content_words(problem),
                 qualifier=rng.choice(vocab.QUALIFIERS))
        for component, aliases, words in vocab.COMPONENTS[team_key]
        for kind, problem, chat in problems
    ]
    rng.shuffle(pool)
    return pool


def _generate_tickets(rng: random.Random, company: Company, teams: list[tuple[str, str]],
                      people: list[Person], pools: dict[str, list[WorkItem]], scale: Scale) -> list[TicketSeed]:
    """Tickets take topics from their team's pool, leaving ``UNTRACKED_SHARE`` of it untouched;
    past that, a ticket repeats an earlier ticket's topic (a duplicate)."""
    keys = [key for key, _ in teams]
    weights = [TEAM_WEIGHTS[key] for key in keys]
    reserved = {key: math.ceil(len(pools[key]) * UNTRACKED_SHARE) for key in keys}
    start = NOW - timedelta(days=scale.span_days)
    span_s = scale.span_days * 86400 - 7200
    created = sorted(start + timedelta(seconds=rng.randrange(span_s)) for _ in range(scale.tickets))
    numbers = {key: rng.randint(1, 40) for key in keys}
    tickets = []
    for created_at in created:
        key = rng.choices(keys, weights)[0]
        if len(pools[key]) > reserved[key]:
            work = pools[key].pop()
        else:
            work = rng.choice([t.work for t in tickets if t.team_key == key])
        number = numbers[key]
        numbers[key] += 1 if rng.random() < 0.9 else 2  # deleted issues leave gaps
        tickets.append(_ticket(rng, company, people, key, number, created_at, work))
    return tickets


def _ticket(rng: random.Random, company: Company, people: list[Person], key: str, number: int,
            created_at: datetime, work: WorkItem) -> TicketSeed:
    template = {"bug": vocab.BUG_TITLES, "feature": vocab.FEATURE_TITLES, "chore": vocab.CHORE_TITLES}[work.kind]
    title = fill(rng.choice(template), component=work.component, symptom=work.problem,
                 feature=work.problem, chore=work.problem) + work.qualifier
    opener = fill(rng.choice(vocab.DESCRIPTION_OPENERS[work.kind]), alias=rng.choice(work.aliases),
                  detail=rng.choice(work.problem_chat), customer=rng.choice(vocab.CUSTOMERS))
    body = fill(rng.choice(vocab.DESCRIPTION_BODIES), component=work.component)
    identifier = f"{key}-{number}"
    active = [p.handle for p in people if not p.deactivated]
    return TicketSeed(
        identifier=identifier, team_key=key, number=number, title=title, description=f"{opener}\n\n{body}",
        created_at=created_at, creator=rng.choice(active),
        assignee=rng.choice(active) if rng.random() < 0.8 else None,
        url=f"https://linear.app/{company.slug}/issue/{identifier}/{_slug(title)}", work=work,
    )


# ---- small helpers ---------------------------------------------------------------------------

def fill(template: str, **fields: str) -> str:
    """``str.format`` that also offers capitalised variants: {component} and {Component}."""
    fields.update({name.capitalize(): value[:1].upper() + value[1:] for name, value in list(fields.items())})
    return template.format(**fields)


def _content_words(phrase: str) -> tuple[str, ...]:
    stop = {"in", "on", "to", "for", "and", "the", "a", "of", "off", "into", "with"}
    return tuple(w for w in re.findall(r"[a-z0-9]+", phrase.lower()) if w not in stop and len(w) > 1)


def _handle(real_name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", real_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]+", ".", ascii_name.lower()).strip(".")


def _unique(candidate: str, seen: set[str]) -> str:
    suffix = 2
    result = candidate
    while result in seen:
        result = f"{candidate}{suffix}"
        suffix += 1
    return result


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].rstrip("-")


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
