"""The GitHub part of the sandbox world: repositories, pull requests, issues, reviews, comments and
timeline events; mutations for incremental tests; and the ground truth a correct ingestion stores.

As on GitHub, pull requests and issues of a repository share one number sequence (every PR is an
issue), and ``/issues`` lists both. Timestamps have one-second resolution. Ids are integers unique
per kind within the world; node ids are derived from them.

Ground-truth mapping (``expected_*``), per core table:
- author/actor = the account's ``login``; a deleted account is "ghost", which GitHub serves as its
  ``ghost`` user on issues, PRs and events and as ``user: null`` on reviews and comments.
- ``core.github_pull_requests``: state "open"/"closed" (a merged PR is closed with ``merged_at``),
  ``first_commit_at`` = the earliest commit's author date (from the timeline's ``committed`` events).
- ``core.github_issues``: plain issues only (never PRs).
- ``core.github_reviews``: one row per review, ``state`` as served (APPROVED, CHANGES_REQUESTED,
  COMMENTED, DISMISSED).
- ``core.github_comments``: issue comments (``kind`` "issue", on issues and on PR conversations)
  and review comments (``kind`` "review"); ``number`` is the issue or PR number.
- ``core.github_pr_events``: every timeline event of every PR; ``event_id`` = the event's
  ``node_id``; ``created_at`` = author date for ``committed``, ``submitted_at`` for ``reviewed``;
  ``actor`` = NULL for ``committed`` (commits carry a name, not a login).
- malformed records (``bad_records``) appear in no expected row.
"""
from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

API_VERSION = "2022-11-28"
ACCEPTED_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "github_pat_")
REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED")


def iso(moment: datetime | None) -> str | None:
    """GitHub's wire timestamp: "2026-11-20T17:00:00Z"."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """An ISO 8601 timestamp as GitHub accepts in ``since`` ("...Z" or with an offset)."""
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def node_id(prefix: str, number: int) -> str:
    """A node id in GitHub's style (``PR_kwDO...``), stable for (prefix, number)."""
    digest = base64.b64encode(hashlib.sha1(f"{prefix}:{number}".encode()).digest()[:9]).decode().rstrip("=")
    return f"{prefix}_kwDO{digest.replace('+', 'x').replace('/', 'y')}"


def sha_of(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(slots=True)
class Account:
    login: str
    id: int
    type: str = "User"  # "User" or "Bot"
    name: str = ""
    email: str = ""
    deleted: bool = False  # served as the ghost user (threads, events) or user: null (reviews, comments)


GHOST = Account("ghost", 10137, name="Deleted user")


@dataclass(slots=True)
class Commit:
    sha: str
    message: str
    author: Account
    authored_at: datetime
    committed_at: datetime


@dataclass(slots=True)
class Review:
    id: int
    user: Account
    state: str
    body: str
    submitted_at: datetime
    commit_id: str


@dataclass(slots=True)
class Comment:
    """An issue comment (``kind`` "issue") or a review comment (``kind`` "review")."""

    id: int
    kind: str
    number: int
    user: Account
    body: str
    created_at: datetime
    updated_at: datetime
    review_id: int | None = None
    path: str | None = None
    line: int | None = None
    in_reply_to_id: int | None = None
    commit_id: str | None = None


@dataclass(slots=True)
class Event:
    """A stored timeline event (committed/reviewed/commented are derived from commits, reviews
    and comments when served)."""

    id: int
    event: str
    actor: Account
    created_at: datetime
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class Thread:
    """An issue or a pull request."""

    id: int
    number: int
    is_pull: bool
    title: str
    body: str | None
    user: Account
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    truth: str | None = None  # the ticket identifier this thread is about, or None
    # pull requests only
    head_ref: str = ""
    base_ref: str = "main"
    draft: bool = False
    merged_at: datetime | None = None
    merged_by: Account | None = None
    commits: list[Commit] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    requested_reviewers: list[Account] = field(default_factory=list)
    bad: dict | None = None  # a malformed wire object served instead of the real one (``bad_records``)

    @property
    def merge_commit_sha(self) -> str | None:
        return sha_of(f"merge:{self.id}") if self.merged_at else None

    @property
    def head_sha(self) -> str:
        return self.commits[-1].sha if self.commits else sha_of(f"head:{self.id}")

    @property
    def first_commit_at(self) -> datetime | None:
        return min((c.authored_at for c in self.commits), default=None)

    def touch(self, moment: datetime) -> None:
        self.updated_at = max(self.updated_at, moment)


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    created_at: datetime
    description: str
    language: str
    threads: dict[int, Thread] = field(default_factory=dict)
    comments: dict[tuple[str, int], Comment] = field(default_factory=dict)  # (kind, id) -> comment
    bad_comments: list[tuple[str, dict]] = field(default_factory=list)  # (kind, payload) served in listings
    default_branch: str = "main"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def thread(self, number: int) -> Thread:
        return self.threads[number]

    def comments_of(self, number: int, kind: str) -> list[Comment]:
        return sorted((c for c in self.comments.values() if c.number == number and c.kind == kind),
                      key=lambda c: (c.created_at, c.id))


@dataclass(frozen=True, slots=True)
class BadRecord:
    repo: str
    stream: str  # "issues", "pulls", "comments"
    reason: str
    payload: dict


class GitHubData:
    """All GitHub state of one world. Every mutation holds ``lock``, ticks the logical clock one
    second and bumps ``version``."""

    def __init__(self, *, org: str, now: datetime, lock: threading.RLock, token: str,
                 clock: Callable[[], datetime] | None = None):
        self.org = org
        self.now = now
        self.lock = lock
        self.token = token
        self.repos: dict[str, Repo] = {}  # full_name -> repo
        self.accounts: dict[str, Account] = {}  # login -> account
        self.version = 0
        self.bad: list[BadRecord] = []
        self.pulls_by_work: dict[object, list[tuple[str, Thread]]] = {}
        """Generator index: (repository name, pull request) made for each work item (a ticket's or
        untracked work), so that Slack threads about the work can link them."""
        self._clock = clock
        self._fallback_clock = now
        self._next_id = 9_000_000_000

    # ---- lookups -------------------------------------------------------------------------------
    def repo(self, full_name: str) -> Repo:
        return self.repos[full_name]

    @property
    def repo_names(self) -> list[str]:
        return list(self.repos)

    def pulls(self, repo: str | None = None) -> list[tuple[Repo, Thread]]:
        repos = [self.repos[repo]] if repo else list(self.repos.values())
        return [(r, t) for r in repos for t in sorted(r.threads.values(), key=lambda t: t.number) if t.is_pull]

    def issues(self, repo: str | None = None) -> list[tuple[Repo, Thread]]:
        repos = [self.repos[repo]] if repo else list(self.repos.values())
        return [(r, t) for r in repos for t in sorted(r.threads.values(), key=lambda t: t.number) if not t.is_pull]

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def tick(self) -> datetime:
        """The time of a mutation: the world's shared logical clock (one second per mutation, across
        services), so that changes made in Slack, Linear and GitHub stay in order."""
        if self._clock is not None:
            return self._clock().replace(microsecond=0)
        self._fallback_clock += timedelta(seconds=1)
        return self._fallback_clock

    # ---- mutations (thread-safe, for incremental tests) ----------------------------------------
    def update_pull(self, repo: str, number: int, *, title: str | None = None, body: str | None = None) -> str:
        """Edit a PR's title and/or body (a title change adds a ``renamed`` event); returns updated_at."""
        with self.lock:
            pull = self._pull(repo, number)
            moment = self.tick()
            if title is not None and title != pull.title:
                pull.events.append(Event(self.new_id(), "renamed", pull.user, moment,
                                         {"rename": {"from": pull.title, "to": title}}))
                pull.title = title
            if body is not None:
                pull.body = body
            pull.touch(moment)
            self.version += 1
            return iso(pull.updated_at)

    def close_pull(self, repo: str, number: int, *, merge: bool = False, login: str | None = None) -> str:
        with self.lock:
            pull = self._pull(repo, number)
            if pull.state == "closed":
                raise ValueError(f"{repo}#{number} is already closed")
            moment, actor = self.tick(), self._account(login) or pull.user
            if merge:
                pull.merged_at, pull.merged_by = moment, actor
                pull.events.append(Event(self.new_id(), "merged", actor, moment, {"commit_id": pull.merge_commit_sha}))
            pull.events.append(Event(self.new_id(), "closed", actor, moment,
                                     {"commit_id": pull.merge_commit_sha} if merge else {}))
            pull.state, pull.closed_at = "closed", moment
            pull.touch(moment)
            self.version += 1
            return iso(moment)

    def reopen_pull(self, repo: str, number: int, *, login: str | None = None) -> str:
        """Reopen a closed, unmerged PR; returns updated_at."""
        with self.lock:
            pull = self._pull(repo, number)
            if pull.state != "closed" or pull.merged_at is not None:
                raise ValueError(f"{repo}#{number} is not a closed, unmerged pull request")
            moment = self.tick()
            pull.events.append(Event(self.new_id(), "reopened", self._account(login) or pull.user, moment))
            pull.state, pull.closed_at = "open", None
            pull.touch(moment)
            self.version += 1
            return iso(moment)

    def add_review(self, repo: str, number: int, state: str = "APPROVED", *, login: str | None = None,
                   body: str = "") -> int:
        """Submit a review (by ``login``, default: someone other than the author); returns its id."""
        if state not in REVIEW_STATES:
            raise ValueError(f"state must be one of {REVIEW_STATES}")
        with self.lock:
            pull = self._pull(repo, number)
            moment = self.tick()
            user = self._account(login) or next(a for a in self.accounts.values()
                                                if a.type == "User" and not a.deleted and a is not pull.user)
            review = Review(self.new_id(), user, state, body, moment, pull.head_sha)
            pull.reviews.append(review)
            pull.touch(moment)
            self.version += 1
            return review.id

    def add_comment(self, repo: str, number: int, body: str, *, login: str | None = None) -> int:
        """An issue comment on an issue or a PR conversation; returns its id."""
        with self.lock:
            thread = self.repos[repo].thread(number)
            moment = self.tick()
            user = self._account(login) or next(a for a in self.accounts.values() if a.type == "User" and not a.deleted)
            comment = Comment(self.new_id(), "issue", number, user, body, moment, moment)
            self.repos[repo].comments[("issue", comment.id)] = comment
            thread.touch(moment)
            self.version += 1
            return comment.id

    def edit_comment(self, repo: str, comment_id: int, body: str, *, kind: str = "issue") -> str:
        """Edit a comment's body: its ``updated_at`` moves; the issue/PR's does not (as on GitHub,
        where only the comment listing's ``since`` sees the edit). Returns the new updated_at."""
        with self.lock:
            comment = self.repos[repo].comments[(kind, comment_id)]
            comment.body, comment.updated_at = body, self.tick()
            self.version += 1
            return iso(comment.updated_at)

    def add_bad_records(self, count: int = 4) -> list[BadRecord]:
        """Serve ``count`` malformed records (a PR, an issue, an issue comment and a review comment
        with unusable fields, in turn), dated now so that incremental listings see them."""
        from connectors.sandbox.github_api import bad_payloads

        with self.lock:
            added = []
            repo = next(iter(self.repos.values()))
            kinds = ("pulls", "issues", "issue_comment", "review_comment")
            for i in range(count):
                added.append(bad_payloads(self, repo, kinds[i % len(kinds)], i))
            self.bad.extend(added)
            self.version += 1
            return added

    def _pull(self, repo: str, number: int) -> Thread:
        thread = self.repos[repo].thread(number)
        if not thread.is_pull:
            raise ValueError(f"{repo}#{number} is an issue, not a pull request")
        return thread

    def _account(self, login: str | None) -> Account | None:
        return self.accounts[login] if login else None

    # ---- ground truth --------------------------------------------------------------------------
    def truth(self) -> dict[tuple[str, int], str | None]:
        """(repo, number) -> the ticket identifier a PR or issue is about, or None."""
        return {(r.full_name, t.number): t.truth for r in self.repos.values() for t in r.threads.values()
                if t.bad is None}

    def expected_rows(self, workspace_id: str) -> dict[str, list[dict]]:
        """Every GitHub core table -> its expected rows."""
        with self.lock:
            return {"core.github_pull_requests": self.expected_pull_requests(workspace_id),
                    "core.github_issues": self.expected_issues(workspace_id),
                    "core.github_reviews": self.expected_reviews(workspace_id),
                    "core.github_comments": self.expected_comments(workspace_id),
                    "core.github_pr_events": self.expected_pr_events(workspace_id)}

    def expected_pull_requests(self, workspace_id: str) -> list[dict]:
        return [{
            "workspace_id": workspace_id, "repo": r.full_name, "number": p.number, "title": p.title, "body": p.body,
            "state": p.state, "author": author(p.user), "head_ref": p.head_ref, "base_ref": p.base_ref,
            "draft": p.draft, "url": f"https://github.com/{r.full_name}/pull/{p.number}",
            "created_at": p.created_at, "updated_at": p.updated_at, "merged_at": p.merged_at,
            "closed_at": p.closed_at, "first_commit_at": p.first_commit_at, "labels": list(p.labels),
        } for r, p in self.pulls() if p.bad is None]

    def expected_issues(self, workspace_id: str) -> list[dict]:
        return [{
            "workspace_id": workspace_id, "repo": r.full_name, "number": i.number, "title": i.title, "body": i.body,
            "state": i.state, "author": author(i.user), "url": f"https://github.com/{r.full_name}/issues/{i.number}",
            "created_at": i.created_at, "updated_at": i.updated_at, "closed_at": i.closed_at,
            "labels": list(i.labels), "state_reason": i.state_reason,
        } for r, i in self.issues() if i.bad is None]

    def expected_reviews(self, workspace_id: str) -> list[dict]:
        return [{
            "workspace_id": workspace_id, "repo": r.full_name, "pr_number": p.number, "review_id": v.id,
            "author": author(v.user), "state": v.state, "body": v.body, "submitted_at": v.submitted_at,
        } for r, p in self.pulls() if p.bad is None for v in p.reviews]

    def expected_comments(self, workspace_id: str) -> list[dict]:
        rows = []
        for r in self.repos.values():
            for c in sorted(r.comments.values(), key=lambda c: (c.kind, c.id)):
                if r.threads[c.number].bad is not None:
                    continue
                path = "pull" if c.kind == "review" else ("pull" if r.threads[c.number].is_pull else "issues")
                anchor = f"discussion_r{c.id}" if c.kind == "review" else f"issuecomment-{c.id}"
                rows.append({
                    "workspace_id": workspace_id, "repo": r.full_name, "number": c.number, "comment_id": c.id,
                    "kind": c.kind, "author": author(c.user), "body": c.body, "created_at": c.created_at,
                    "updated_at": c.updated_at, "review_id": c.review_id, "path": c.path,
                    "in_reply_to_id": c.in_reply_to_id,
                    "url": f"https://github.com/{r.full_name}/{path}/{c.number}#{anchor}",
                })
        return rows

    def expected_pr_events(self, workspace_id: str) -> list[dict]:
        return [{
            "workspace_id": workspace_id, "repo": r.full_name, "number": p.number, "event_id": e["node_id"],
            "event": e["event"], "actor": _event_actor(e), "created_at": e["at"],
        } for r, p in self.pulls() if p.bad is None for e in timeline(r, p)]

    def bad_records(self) -> list[BadRecord]:
        return list(self.bad)


def author(account: Account | None) -> str:
    return "ghost" if account is None or account.deleted else account.login


# ---- the timeline, as served (shared by the API and the ground truth) --------------------------

def timeline(repo: Repo, thread: Thread) -> list[dict]:
    """Timeline items in chronological order, as compact dicts the API expands to wire objects:
    ``event``, ``node_id``, ``at`` (datetime), ``actor`` (Account | None) plus the source object."""
    items: list[tuple[datetime, int, dict]] = []
    for seq, commit in enumerate(thread.commits):
        items.append((commit.authored_at, 0, {"event": "committed", "node_id": node_id("C", int(commit.sha[:12], 16)),
                                               "at": commit.authored_at, "actor": None, "commit": commit}))
    for review in thread.reviews:
        items.append((review.submitted_at, 1, {"event": "reviewed", "node_id": node_id("PRR", review.id),
                                               "at": review.submitted_at, "actor": review.user, "review": review}))
    for comment in repo.comments_of(thread.number, "issue"):
        items.append((comment.created_at, 2, {"event": "commented", "node_id": node_id("IC", comment.id),
                                              "at": comment.created_at, "actor": comment.user, "comment": comment}))
    for event in thread.events:
        items.append((event.created_at, 3, {"event": event.event, "node_id": node_id(_EVENT_PREFIX.get(event.event, "E"), event.id),
                                            "at": event.created_at, "actor": event.actor, "stored": event}))
    items.sort(key=lambda item: (item[0], item[1], item[2]["node_id"]))
    return [item for _, _, item in items]


_EVENT_PREFIX = {"closed": "CE", "reopened": "REE", "merged": "ME", "labeled": "LE", "renamed": "RTE",
                 "review_requested": "RRE", "head_ref_deleted": "HRDE", "ready_for_review": "RFRE",
                 "convert_to_draft": "CTDE"}


def _event_actor(item: dict) -> str | None:
    return None if item["event"] == "committed" else author(item["actor"])
