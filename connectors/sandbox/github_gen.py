"""Generate a world's GitHub organisation from its work plan: repositories, pull requests for the
tickets (and for work that has none), reviews, comments, timeline events and plain issues.

Each repository belongs to a team (ENG -> api, WEB -> web, OPS -> infra, DATA -> data-pipelines).
Most tickets get a pull request in their team's repository; it cites the ticket in its branch
(``eng-123-fix-login`` or Linear's ``handle/eng-123-...``), its title (``[ENG-123] ...``), its body
(``Fixes ENG-123`` or the Linear URL), or nowhere at all (about a quarter of them), and
``GitHubData.truth`` records the ticket either way. Untracked work, dependency bumps and chores get
pull requests about no ticket. Besides the random history, every world contains fixed edge cases:
a closed-unmerged PR, a reopened PR, a review and a comment by deleted accounts, a bot PR, an
edited comment, a review-comment reply, a draft, a PR whose timeline spans two pages, unicode, and
an issue closed as not planned.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from connectors.sandbox import vocab
from connectors.sandbox.github_data import (
    GHOST,
    Account,
    Comment,
    Commit,
    Event,
    GitHubData,
    Repo,
    Review,
    Thread,
    sha_of,
)

if TYPE_CHECKING:
    from connectors.sandbox.world import TicketSeed, WorkItem, World

TEAM_REPOS = {"ENG": "api", "WEB": "web", "OPS": "infra", "DATA": "data-pipelines"}
LANGUAGES = {"api": "Python", "web": "TypeScript", "infra": "HCL", "data-pipelines": "Python"}
DESCRIPTIONS = {"api": "Backend API and workers", "web": "Web app and design system",
                "infra": "Terraform, Kubernetes and CI", "data-pipelines": "ETL, dbt models and ML jobs"}
PATHS = {"api": ("app/{c}.py", "app/{c}/handlers.py", "tests/test_{c}.py"),
         "web": ("src/components/{C}.tsx", "src/pages/{c}.tsx", "src/{c}.test.ts"),
         "infra": ("modules/{c}/main.tf", "k8s/{c}.yaml", ".github/workflows/{c}.yml"),
         "data-pipelines": ("models/{c}.sql", "jobs/{c}.py", "tests/test_{c}.py")}
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

PR_TITLES = {
    "bug": ("Fix {problem} in {alias}", "{Alias}: handle {problem}", "Guard against {problem} in {alias}"),
    "feature": ("Add {problem} to {alias}", "{Alias}: support {problem}", "Implement {problem} for {alias}"),
    "chore": ("{Problem} ({alias})", "chore: {problem} for {alias}"),
}
BRANCH_PREFIX = {"bug": "fix", "feature": "feat", "chore": "chore"}
LABELS = {"bug": "bug", "feature": "enhancement", "chore": "chore"}
BODY_SUMMARIES = (
    "This changes how {alias} behaves so that it no longer shows {problem}.",
    "Small, focused change to {alias}. Behaviour is covered by a new test.",
    "Reworks {alias}; see the commits for the step-by-step story.",
    "Follow-up to the discussion in Slack about {alias}.",
)
BODY_TESTING = ("## Testing\n- [x] unit tests\n- [x] tried it on staging", "## Testing\nAdded a regression test.",
                "## How to test\n1. deploy to staging\n2. run the smoke suite")
CITE_BODY = ("Fixes {ident}", "Closes {ident}", "Part of {ident}", "Linear: {url}", "Resolves [{ident}]({url})")
REVIEW_BODIES = {
    "APPROVED": ("LGTM :shipit:", "Looks good, thanks!", "", "Nice cleanup 👍", ""),
    "CHANGES_REQUESTED": ("A couple of things before we merge, see inline.", "Needs a test for the empty case.",
                          "Can we avoid the extra query here?"),
    "COMMENTED": ("Some questions inline.", "", "Drive-by comments, not blocking."),
}
REVIEW_COMMENTS = ("Can this be `None` here?", "nit: naming", "Should we log this at warning level?",
                   "This loop is O(n²) on large accounts.", "Please add a test for this branch.",
                   "Why not reuse the helper from utils?", "Magic number — move it to settings?",
                   "Is this safe to retry?")
REPLIES = ("Good catch, fixed.", "Done in the last commit.", "I'd rather keep it, it's clearer.", "Added a test 👍")
PR_COMMENTS = ("Deployed to staging, looks good there.", "@{reviewer} could you take a look when you have a sec?",
               "Rebased on main.", "This should also fix the flaky test we saw last week.",
               "Merging after CI is green.")
BOT_COMMENTS = ("✅ Deploy preview ready: https://preview-{n}.example.com",
                "Coverage: **{cov}%** (+0.{d}%) compared to main.")
DEPENDENCIES = {"api": ("pip", ("requests", "sqlalchemy", "pydantic", "fastapi", "boto3")),
                "web": ("npm_and_yarn", ("react", "vite", "typescript", "eslint", "date-fns")),
                "infra": ("terraform", ("hashicorp/aws", "hashicorp/kubernetes", "helm")),
                "data-pipelines": ("pip", ("dbt-core", "pandas", "pyarrow", "kafka-python"))}
CHORE_PRS = ("Update README", "Tidy up CI config", "Release v{v}", "Pin the toolchain version", "Fix typos in docs",
             "Remove dead feature flag", "Bump the Docker base image")
ISSUE_TITLES = ("{Alias} {chat}", "[bug] {alias} {chat}", "Request: {problem} in {alias}", "{Alias} {chat} since the last release")
ISSUE_COMMENTS = ("Same here on our account.", "Can you share the request id?", "Still happening on the latest version.",
                  "This is now fixed, closing.", "Duplicate of an older report, but thanks!", "+1")


def generate_github(world: World, rng: random.Random, *, clock: Callable[[], datetime] | None = None) -> GitHubData:
    data = GitHubData(org=world.company.slug, now=world.now, lock=world.lock,
                      token=f"ghp_sandbox{world.seed:04d}{_token_tail(rng)}", clock=clock)
    gen = _Generator(world, data, rng)
    gen.accounts()
    gen.repos()
    gen.ticket_pulls()
    gen.untracked_pulls()
    gen.issues()
    gen.set_pieces()
    gen.number_threads()
    return data


class _Generator:
    def __init__(self, world: World, data: GitHubData, rng: random.Random):
        self.world, self.data, self.rng = world, data, rng
        self.start = world.now - timedelta(days=world.scale.span_days)
        self.threads: dict[str, list[Thread]] = {}
        self.people: dict[str, Account] = {}  # handle -> account
        self._ids = 1_000_000_000

    # ---- identity ------------------------------------------------------------------------------
    def id(self) -> int:
        self._ids += self.rng.randint(1, 40)
        return self._ids

    def accounts(self) -> None:
        for i, person in enumerate(self.world.people):
            account = Account(person.github_login, 1_200_000 + i * 7919, name=person.real_name, email=person.email,
                              deleted=person.deactivated)
            self.data.accounts[account.login] = account
            self.people[person.handle] = account
        for login, account_id in (("dependabot[bot]", 49699333), ("github-actions[bot]", 41898282)):
            self.data.accounts[login] = Account(login, account_id, type="Bot")
        self.active = [a for a in self.people.values() if not a.deleted]
        self.deleted = [a for a in self.people.values() if a.deleted]

    def repos(self) -> None:
        count = 2 if self.world.scale.tickets <= 20 else self.rng.choice((3, 4))
        for name in vocab.REPOS[:count]:
            repo = Repo(self.data.org, name, 400_000_000 + self.rng.randrange(100_000_000),
                        self.start - timedelta(days=self.rng.randint(200, 900)), DESCRIPTIONS[name], LANGUAGES[name])
            self.data.repos[repo.full_name] = repo
            self.threads[repo.full_name] = []

    def repo_for(self, team_key: str) -> Repo:
        name = f"{self.data.org}/{TEAM_REPOS.get(team_key, '')}"
        return self.data.repos.get(name) or self.rng.choice(list(self.data.repos.values()))

    def person(self, handle: str | None) -> Account:
        account = self.people.get(handle) if handle else None
        if account is None or (account.deleted and self.rng.random() < 0.7):
            account = self.rng.choice(self.active)
        return account

    def other(self, *exclude: Account) -> Account:
        while True:
            account = self.rng.choice(self.active)
            if account not in exclude:
                return account

    # ---- pull requests for tickets -------------------------------------------------------------
    def ticket_pulls(self) -> None:
        for ticket in self.world.tickets:
            if self.rng.random() < 0.25:
                continue
            for attempt in range(2 if self.rng.random() < 0.15 else 1):
                repo = self.repo_for(ticket.team_key)
                start = ticket.created_at + timedelta(hours=self.rng.uniform(1, 96 + attempt * 72))
                self.remember(ticket.work, repo, self.pull_for_ticket(repo, ticket, start))

    def pull_for_ticket(self, repo: Repo, ticket: TicketSeed, start: datetime) -> Thread | None:
        rng, work = self.rng, ticket.work
        user = self.person(ticket.assignee) if rng.random() > 0.04 or not self.deleted else rng.choice(self.deleted)
        alias = rng.choice(work.aliases)
        title = _fill(rng.choice(PR_TITLES[work.kind]), problem=work.problem, alias=alias)
        ident = ticket.identifier
        branch = f"{BRANCH_PREFIX[work.kind]}/{_slug(alias)}-{_slug(work.problem)}"
        body = self.body(work, alias)
        style = rng.random()
        if style < 0.45:
            branch = (f"{user.login.split('-')[0]}/{ident.lower()}-{_slug(ticket.title)[:40].rstrip('-')}"
                      if rng.random() < 0.5 else f"{ident.lower()}-{_slug(title)[:40].rstrip('-')}")
        elif style < 0.65:
            title = f"[{ident}] {title}" if rng.random() < 0.5 else f"{ident}: {title}"
        elif style < 0.75:
            cite = _fill(rng.choice(CITE_BODY), ident=ident, url=ticket.url)
            body = f"{body}\n\n{cite}" if body else cite
        return self.pull(repo, title=title, body=body, head_ref=branch, user=user, start=start, truth=ident,
                         labels=[LABELS[work.kind]], path_word=_slug(work.component).split("-")[0])

    def body(self, work: WorkItem, alias: str) -> str | None:
        if self.rng.random() < 0.15:
            return None
        summary = _fill(self.rng.choice(BODY_SUMMARIES), alias=alias, problem=work.problem)
        return f"## Summary\n{summary}\n\n{self.rng.choice(BODY_TESTING)}"

    def remember(self, work: WorkItem, repo: Repo, pull: Thread | None) -> None:
        if pull is not None:
            self.data.pulls_by_work.setdefault(work, []).append((repo.name, pull))

    # ---- pull requests about no ticket ---------------------------------------------------------
    def untracked_pulls(self) -> None:
        rng = self.rng
        span = (self.world.now - self.start).total_seconds()
        for work in self.world.untracked_work[: max(3, len(self.world.tickets) // 4)]:
            repo = self.repo_for(work.team_key)
            alias = rng.choice(work.aliases)
            title = _fill(rng.choice(PR_TITLES[work.kind]), problem=work.problem, alias=alias)
            pull = self.pull(repo, title=title, body=self.body(work, alias), user=rng.choice(self.active),
                             head_ref=f"{BRANCH_PREFIX[work.kind]}/{_slug(alias)}-{_slug(work.problem)}",
                             start=self.start + timedelta(seconds=rng.uniform(0, span)), truth=None,
                             labels=[LABELS[work.kind]] if rng.random() < 0.5 else [],
                             path_word=_slug(work.component).split("-")[0])
            self.remember(work, repo, pull)
        bot = self.data.accounts["dependabot[bot]"]
        for _ in range(max(2, len(self.world.tickets) // 12)):
            repo = rng.choice(list(self.data.repos.values()))
            ecosystem, packages = DEPENDENCIES[repo.name]
            package = rng.choice(packages)
            old = f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
            new = f"{old.rsplit('.', 1)[0]}.{int(old.rsplit('.', 1)[1]) + rng.randint(1, 3)}"
            self.pull(repo, title=f"Bump {package} from {old} to {new}", user=bot, truth=None,
                      body=f"Bumps [{package}](https://github.com/{package}) from {old} to {new}.\n\n"
                           f"Dependabot will resolve any conflicts with this PR as long as you don't alter it yourself.",
                      head_ref=f"dependabot/{ecosystem}/{package.replace('/', '-')}-{new}",
                      start=self.start + timedelta(seconds=rng.uniform(0, span)), labels=["dependencies"],
                      path_word="requirements")
        for _ in range(max(2, len(self.world.tickets) // 20)):
            repo = rng.choice(list(self.data.repos.values()))
            title = rng.choice(CHORE_PRS).format(v=f"1.{rng.randint(2, 40)}.0")
            self.pull(repo, title=title, body=None if rng.random() < 0.5 else "Housekeeping.",
                      head_ref=f"chore/{_slug(title)}", user=rng.choice(self.active), truth=None, labels=[],
                      start=self.start + timedelta(seconds=rng.uniform(0, span)), path_word="docs")

    # ---- one pull request ----------------------------------------------------------------------
    def pull(self, repo: Repo, *, title: str, body: str | None, head_ref: str, user: Account, start: datetime,
             truth: str | None, labels: list[str], path_word: str, outcome: str | None = None,
             commits: int | None = None) -> Thread | None:
        rng, now = self.rng, self.world.now
        created = start + timedelta(minutes=rng.uniform(20, 36 * 60))
        if created >= now - 10 * MINUTE:
            return None
        pull = Thread(id=self.id(), number=0, is_pull=True, title=title, body=body, user=user,
                      created_at=_s(created), updated_at=_s(created), truth=truth, head_ref=head_ref,
                      labels=list(labels))
        is_bot = user.type == "Bot"
        n_commits = commits or (1 if is_bot else 1 + min(int(rng.expovariate(0.5)), 7))
        author = user
        moments = sorted(start + timedelta(minutes=rng.uniform(0, max(1.0, (created - start).total_seconds() / 60)))
                         for _ in range(n_commits))
        moments[0] = start
        for i, moment in enumerate(moments):
            self.commit(pull, author, moment, f"{'Bump' if is_bot else rng.choice(('Fix', 'Add', 'Refactor', 'Test', 'Tidy'))} "
                                              f"{path_word} ({i + 1}/{n_commits})")
        for label in labels:
            pull.events.append(Event(self.id(), "labeled", user, _s(created + MINUTE), {"label": label}))
        if outcome is None:
            roll = rng.random()
            outcome = "merged" if roll < 0.7 else "closed" if roll < 0.78 else "open"
        end = _s(created + timedelta(hours=rng.uniform(2, 120) if not is_bot else rng.uniform(0.5, 30)))
        if end >= now:
            outcome = "open"
        horizon = end if outcome != "open" else now - MINUTE
        if outcome == "open" and rng.random() < 0.25:
            pull.draft = True
        elif rng.random() < 0.1:
            pull.events.append(Event(self.id(), "ready_for_review", user, _s(created + 2 * MINUTE)))
        if not is_bot:
            self.review_cycle(repo, pull, horizon, outcome, path_word)
        elif rng.random() < 0.3:
            self.comment(repo, pull, self.data.accounts["github-actions[bot]"], created + 3 * MINUTE,
                         BOT_COMMENTS[0].format(n=pull.id % 997))
        if outcome == "merged":
            merger = pull.reviews[-1].user if pull.reviews and rng.random() < 0.3 else (
                user if not is_bot else self.rng.choice(self.active))
            pull.merged_at, pull.merged_by = end, merger
            pull.events.append(Event(self.id(), "merged", merger, end, {"commit_id": pull.merge_commit_sha}))
            pull.events.append(Event(self.id(), "closed", merger, end, {"commit_id": pull.merge_commit_sha}))
            pull.state, pull.closed_at = "closed", end
            if rng.random() < 0.6:
                pull.events.append(Event(self.id(), "head_ref_deleted", merger, end + 5 * timedelta(seconds=1)))
        elif outcome == "closed":
            closer = user if not is_bot or rng.random() < 0.5 else rng.choice(self.active)
            pull.events.append(Event(self.id(), "closed", closer, end))
            pull.state, pull.closed_at = "closed", end
        self.finish(pull)
        self.threads[repo.full_name].append(pull)
        return pull

    def commit(self, pull: Thread, author: Account, moment: datetime, message: str) -> None:
        moment = _s(moment)
        pull.commits.append(Commit(sha_of(f"{pull.id}:{len(pull.commits)}:{message}"), message, author, moment,
                                   moment + timedelta(seconds=self.rng.randint(0, 90))))

    def review_cycle(self, repo: Repo, pull: Thread, horizon: datetime, outcome: str, path_word: str) -> None:
        rng = self.rng
        created = pull.created_at
        room = (horizon - created).total_seconds()
        if room < 600:
            return
        reviewers = [self.other(pull.user) for _ in range(1 if rng.random() < 0.7 else 2)]
        pull.requested_reviewers = [] if outcome != "open" else list(reviewers)
        for reviewer in reviewers:
            pull.events.append(Event(self.id(), "review_requested", pull.user, _s(created + 2 * MINUTE),
                                     {"requested_reviewer": reviewer}))
        if outcome == "merged":
            plan = rng.choices((["APPROVED"], ["CHANGES_REQUESTED", "APPROVED"], ["COMMENTED", "APPROVED"]),
                               (70, 20, 10))[0]
        elif outcome == "open":
            plan = rng.choice(([], ["COMMENTED"], ["CHANGES_REQUESTED"], []))
        else:
            plan = rng.choice(([], ["COMMENTED"]))
        times = sorted(created + timedelta(seconds=rng.uniform(300, room - 60)) for _ in plan)
        for state, moment in zip(plan, times):
            reviewer = reviewers[0] if state != "COMMENTED" or len(reviewers) == 1 else reviewers[1]
            review = self.review(pull, reviewer, state, moment)
            if state in ("CHANGES_REQUESTED", "COMMENTED"):
                comments = [self.review_comment(repo, pull, review, reviewer, moment, path_word)
                            for _ in range(rng.randint(1, 3))]
                if rng.random() < 0.4 and moment + 30 * MINUTE < horizon:
                    reply_at = moment + timedelta(minutes=rng.uniform(5, 30))
                    reply_review = self.review(pull, pull.user, "COMMENTED", reply_at, body="")
                    self.review_comment(repo, pull, reply_review, pull.user, reply_at, path_word,
                                        reply_to=comments[0], body=rng.choice(REPLIES))
                if state == "CHANGES_REQUESTED" and moment + 10 * MINUTE < horizon:
                    self.commit(pull, pull.user, moment + timedelta(minutes=rng.uniform(2, 9)), "Address review comments")
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            moment = created + timedelta(seconds=rng.uniform(60, room - 30))
            text = rng.choice(PR_COMMENTS).format(reviewer=reviewers[0].login)
            self.comment(repo, pull, rng.choice([pull.user, *reviewers]), moment, text)
        if rng.random() < 0.3:
            bot = self.data.accounts["github-actions[bot]"]
            self.comment(repo, pull, bot, created + 4 * MINUTE,
                         BOT_COMMENTS[1].format(cov=rng.randint(70, 95), d=rng.randint(0, 9)))

    def review(self, pull: Thread, user: Account, state: str, moment: datetime, body: str | None = None) -> Review:
        review = Review(self.id(), user, state, self.rng.choice(REVIEW_BODIES[state]) if body is None else body,
                        _s(moment), pull.head_sha)
        pull.reviews.append(review)
        return review

    def review_comment(self, repo: Repo, pull: Thread, review: Review, user: Account, moment: datetime,
                       path_word: str, *, reply_to: Comment | None = None, body: str | None = None) -> Comment:
        path = reply_to.path if reply_to else self.rng.choice(PATHS[repo.name]).format(c=path_word, C=path_word.capitalize())
        comment = Comment(self.id(), "review", pull.number, user, body or self.rng.choice(REVIEW_COMMENTS),
                          _s(moment), _s(moment), review_id=review.id, path=path,
                          line=reply_to.line if reply_to else self.rng.randint(3, 400),
                          in_reply_to_id=reply_to.id if reply_to else None, commit_id=review.commit_id)
        if reply_to is None and self.rng.random() < 0.08:
            comment.body += " (edited: never mind, I see it now)"
            comment.updated_at = _s(moment + timedelta(minutes=self.rng.uniform(1, 50)))
        repo.comments[("review", comment.id)] = comment
        comment.number = -pull.id  # the number is assigned later; remembered through the PR's id
        return comment

    def comment(self, repo: Repo, thread: Thread, user: Account, moment: datetime, body: str) -> Comment:
        comment = Comment(self.id(), "issue", -thread.id, user, body, _s(moment), _s(moment))
        if self.rng.random() < 0.06:
            comment.body += "\n\n_Edit: updated after the call._"
            comment.updated_at = _s(moment + timedelta(minutes=self.rng.uniform(2, 90)))
        repo.comments[("issue", comment.id)] = comment
        return comment

    def finish(self, thread: Thread) -> None:
        """updated_at = the latest activity (commits, reviews, events, comments)."""
        moments = [thread.created_at, *(c.committed_at for c in thread.commits), *(r.submitted_at for r in thread.reviews),
                   *(e.created_at for e in thread.events)]
        thread.updated_at = max(moments)

    # ---- plain issues --------------------------------------------------------------------------
    def issues(self) -> None:
        rng = self.rng
        span = (self.world.now - self.start).total_seconds()
        for _ in range(max(4, len(self.world.tickets) // 4)):
            about = rng.choice(self.world.tickets) if rng.random() < 0.3 else None
            work = about.work if about else rng.choice(self.world.untracked_work)
            repo = self.repo_for(work.team_key)
            created = self.start + timedelta(seconds=rng.uniform(0, span - 7200))
            if about and about.created_at > created:
                created = about.created_at - timedelta(hours=rng.uniform(1, 48))
            alias = rng.choice(work.aliases)
            title = _fill(rng.choice(ISSUE_TITLES), alias=alias, chat=rng.choice(work.problem_chat), problem=work.problem)
            body = None if rng.random() < 0.1 else f"{_fill(rng.choice(vocab.DESCRIPTION_OPENERS[work.kind]), alias=alias, detail=rng.choice(work.problem_chat), customer=rng.choice(vocab.CUSTOMERS))}\n\n**Version**: 2.{rng.randint(0, 14)}"
            user = rng.choice(self.active) if rng.random() > 0.08 else rng.choice(self.deleted or self.active)
            issue = Thread(id=self.id(), number=0, is_pull=False, title=title, body=body, user=user,
                           created_at=_s(created), updated_at=_s(created), truth=about.identifier if about else None,
                           labels=[LABELS[work.kind]] if rng.random() < 0.6 else [])
            for label in issue.labels:
                issue.events.append(Event(self.id(), "labeled", user, _s(created + MINUTE), {"label": label}))
            room = (self.world.now - created).total_seconds()
            for i in range(rng.choice((0, 0, 1, 2, 3))):
                moment = created + timedelta(seconds=rng.uniform(60, room - 60))
                text = rng.choice(ISSUE_COMMENTS)
                if about and i == 0 and rng.random() < 0.6:
                    text = f"Tracked in {about.identifier}." if rng.random() < 0.5 else f"Linear ticket: {about.url}"
                self.comment(repo, issue, rng.choice(self.active), moment, text)
            if rng.random() < 0.45:
                closed = _s(created + timedelta(seconds=rng.uniform(3600, room - 30)))
                issue.state, issue.closed_at = "closed", closed
                issue.state_reason = "completed" if rng.random() < 0.8 else "not_planned"
                issue.events.append(Event(self.id(), "closed", rng.choice(self.active), closed))
            self.finish(issue)
            self.threads[repo.full_name].append(issue)

    # ---- fixed edge cases ----------------------------------------------------------------------
    def set_pieces(self) -> None:
        now = self.world.now
        repo = next(iter(self.data.repos.values()))
        ticket = next((t for t in self.world.tickets if TEAM_REPOS.get(t.team_key) == repo.name), self.world.tickets[0])
        alice, bob = self.active[0], self.active[1]
        # closed without merging (the reopen mutation's target), and one already reopened
        for title, reopened in (("Experiment: cache the {alias} lookups", False), ("Retry {alias} on 502s", True)):
            pull = self.pull(repo, title=_fill(title, alias=ticket.work.aliases[0]), body="Trying something.",
                             head_ref=f"spike/{_slug(title)[:20]}", user=alice, start=now - timedelta(days=9),
                             truth=None, labels=[], path_word="cache", outcome="closed")
            if reopened:
                moment = pull.closed_at + 6 * HOUR
                pull.events.append(Event(self.id(), "reopened", alice, moment))
                pull.state, pull.closed_at = "open", None
                self.finish(pull)
        # a deleted account's review and comment, a unicode title, a long timeline (two pages of 100)
        big = self.pull(repo, title=f"{ticket.identifier}: Überarbeitung — naïve façade für {ticket.work.aliases[0]} ✨",
                        body="Large refactor, sorry reviewers 🙏", head_ref=f"{ticket.identifier.lower()}-refactor",
                        user=bob, start=now - timedelta(days=12), truth=ticket.identifier, labels=["refactor"],
                        path_word="core", outcome="merged", commits=112)
        ghost = self.deleted[0] if self.deleted else GHOST
        self.review(big, ghost, "COMMENTED", big.created_at + 30 * MINUTE, body="Left before this merged.")
        self.comment(repo, big, ghost, big.created_at + 40 * MINUTE, "Old account, deleted since.")
        self.finish(big)
        # a plain issue closed as not planned
        issue = Thread(id=self.id(), number=0, is_pull=False, title="Support IE11", body=None, user=alice,
                       created_at=_s(now - timedelta(days=20)), updated_at=_s(now - timedelta(days=19)),
                       state="closed", state_reason="not_planned", closed_at=_s(now - timedelta(days=19)),
                       labels=["wontfix"])
        issue.events.append(Event(self.id(), "closed", bob, issue.closed_at))
        self.threads[repo.full_name].append(issue)

    # ---- numbering -----------------------------------------------------------------------------
    def number_threads(self) -> None:
        """Issues and PRs of a repository share one sequence, in creation order."""
        for full_name, threads in self.threads.items():
            repo = self.data.repos[full_name]
            number = self.rng.randint(1, 300)
            by_id = {}
            for thread in sorted(threads, key=lambda t: (t.created_at, t.id)):
                thread.number = number
                repo.threads[number] = thread
                by_id[-thread.id] = number
                number += 1 if self.rng.random() < 0.95 else 2  # deleted or transferred issues leave gaps
            for comment in repo.comments.values():
                comment.number = by_id[comment.number]
            for comment in repo.comments.values():  # a new comment moves its thread's updated_at; an edit does not
                repo.threads[comment.number].touch(comment.created_at)


def _fill(template: str, **fields: str) -> str:
    fields.update({name.capitalize(): value[:1].upper() + value[1:] for name, value in list(fields.items())})
    return template.format(**fields)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _s(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _token_tail(rng: random.Random) -> str:
    return "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=28))
