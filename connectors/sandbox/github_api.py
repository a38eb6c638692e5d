"""GitHub's REST API (version 2022-11-28) over the sandbox world, as an HTTP client sees it.

Served at ``/github/``: the 13 GET endpoints of
``contracts/github/github-rest-subset-2022-07-18.json`` (repository issues, pulls, one issue, one
pull, reviews, issue and review comments per repository and per issue/PR, timeline, issue events,
and ``/rate_limit``), with GitHub's parameters, defaults and orderings. Requests and stats are
named by the OpenAPI path template (``/repos/{owner}/{repo}/issues``).

What clients must cope with, as on api.github.com:
- auth: ``Authorization: Bearer <token>`` or ``token <token>``; any ``ghp_``/``github_pat_``/``gho_``/
  ``ghs_``/``ghu_`` token is valid (``world.github.token`` is one); none or anything else is 401 with
  GitHub's JSON body. An unknown repository or number is 404.
- pagination: ``page``/``per_page`` (default 30, at most 100, larger values clamped) and a ``Link``
  header with ``next``/``last`` (and ``prev``/``first`` after page 1), absolute URLs on this server.
- conditional requests: every 200 carries a weak ``ETag`` of its body; ``If-None-Match`` with it is
  answered 304 without a body and is not counted against the rate limit.
- primary rate limit per token (``rate_limit`` requests per ``rate_window_s``, default 5000/hour,
  or ``SANDBOX_GITHUB_RATE_LIMIT``):
  ``X-RateLimit-Limit/-Remaining/-Reset/-Used/-Resource`` on every answer; when spent, 403 with
  ``X-RateLimit-Remaining: 0`` until the reset. The fault plan's ``ratelimit`` answers GitHub's
  secondary limit instead: 403 and 429 in turn, with ``Retry-After`` and GitHub's JSON message.
- ``repeat_cursor``/``duplicate_page`` faults make a page's ``next`` link point at itself.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit

from connectors.sandbox.faults import GENERIC_KINDS
from connectors.sandbox.github_data import (
    ACCEPTED_TOKEN_PREFIXES,
    API_VERSION,
    GHOST,
    Account,
    BadRecord,
    Comment,
    GitHubData,
    Repo,
    Thread,
    iso,
    node_id,
    parse_iso,
    timeline,
)
from connectors.sandbox.server import Request, Response, Service

if TYPE_CHECKING:
    from connectors.sandbox.world import World

WEB = "https://github.com"
API = "https://api.github.com"
DOCS = "https://docs.github.com/rest"
PAGINATION_FAULTS = frozenset({"repeat_cursor", "duplicate_page"})
MISSING = object()  # in a bad record's overrides: remove the field
LABEL_DESCRIPTIONS = {"bug": "Something isn't working", "enhancement": "New feature or request",
                      "dependencies": "Pull requests that update a dependency file",
                      "wontfix": "This will not be worked on"}


class GitHubError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra

    def response(self) -> Response:
        return Response.json({"message": self.message, "documentation_url": DOCS, **self.extra,
                              "status": str(self.status)}, self.status)


class ServedRequest(NamedTuple):
    endpoint: str
    path: str
    query: str
    status: int
    api_version: str | None = None  # the X-GitHub-Api-Version header sent
    accept: str | None = None  # the Accept header sent


class GitHubService(Service):
    name = "github"
    prefix = "/github/"

    def __init__(self, world: World, *, rate_limit: int | None = None, rate_window_s: float = 3600.0):
        self.world = world
        # 5000 an hour, as for a personal token; SANDBOX_GITHUB_RATE_LIMIT raises it (a GitHub App on
        # Enterprise Cloud gets 15000) for a sandbox process serving benchmarks.
        self.rate_limit = rate_limit if rate_limit is not None else int(os.environ.get("SANDBOX_GITHUB_RATE_LIMIT", "5000"))
        self.rate_window_s = rate_window_s
        self.served: list[ServedRequest] = []
        self._rates: dict[str, list[float]] = {}  # token -> [used, reset epoch]
        self._lock = threading.Lock()
        self._secondary = 0

    @property
    def data(self) -> GitHubData:
        return self.world.github

    # ---- Service hooks -----------------------------------------------------------------------
    def endpoint(self, request: Request) -> str:
        route = _route(request.subpath)
        return route[0] if route else request.subpath

    def fault_kinds(self, endpoint: str) -> frozenset[str]:
        return GENERIC_KINDS | PAGINATION_FAULTS if endpoint in LIST_ENDPOINTS else GENERIC_KINDS

    def rate_limited(self, retry_after_s: int) -> Response:
        with self._lock:
            self._secondary += 1
            status = 403 if self._secondary % 2 else 429
        body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                           "again. If you reach out to GitHub Support for help, please include the request ID "
                           "SANDBOX:0000:0000000:0000000:00000000.",
                "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/"
                                     "rate-limits-for-the-rest-api#about-secondary-rate-limits",
                "status": str(status)}
        return Response.json(body, status, {"Retry-After": str(retry_after_s)})

    def reset_log(self) -> None:
        with self._lock:
            self.served.clear()

    def statuses(self) -> dict[int, int]:
        """How many answers of each HTTP status this service gave (faults excluded)."""
        counts: dict[int, int] = {}
        with self._lock:
            for entry in self.served:
                counts[entry.status] = counts.get(entry.status, 0) + 1
        return counts

    # ---- serving -------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        route = _route(request.subpath)
        endpoint = route[0] if route else request.subpath
        response = self._handle(request, route)
        with self._lock:
            self.served.append(ServedRequest(endpoint, request.subpath, urlsplit(request.target).query,
                                             response.status, request.header("X-GitHub-Api-Version"),
                                             request.header("Accept")))
        return response

    def _handle(self, request: Request, route: tuple | None) -> Response:
        try:
            token = self._authenticate(request)
            if route is None or request.method != "GET":
                raise GitHubError(404, "Not Found")
            endpoint, handler, args = route
            counted = endpoint != "/rate_limit"  # asking for the limit does not spend it
            if not counted:
                data, links = self._rate_limit_body(token), ""
            else:
                self._check_primary(token)
                with self.world.lock:
                    data, links = handler(self, request, *args)
        except GitHubError as error:
            return self._with_headers(error.response(), None, count=False)
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        etag = f'W/"{hashlib.md5(body).hexdigest()}"'
        headers = {"ETag": etag, "Cache-Control": "private, max-age=60, s-maxage=60",
                   "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP"}
        if links:
            headers["Link"] = links
        if _etag_matches(request.header("If-None-Match"), etag):
            return self._with_headers(Response(304, b"", headers), token, count=False)
        response = Response(200, body, {"Content-Type": "application/json; charset=utf-8", **headers})
        return self._with_headers(response, token, count=counted)

    def _authenticate(self, request: Request) -> str:
        header = (request.header("Authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        if not header:
            raise GitHubError(401, "Requires authentication")
        if scheme.lower() not in ("bearer", "token") or not token.strip().startswith(ACCEPTED_TOKEN_PREFIXES):
            raise GitHubError(401, "Bad credentials")
        return token.strip()

    # ---- primary rate limit --------------------------------------------------------------------
    def _window(self, token: str) -> list[float]:
        now = time.time()
        window = self._rates.get(token)
        if window is None or now >= window[1]:
            window = self._rates[token] = [0, math.ceil(now + self.rate_window_s)]
        return window

    def _check_primary(self, token: str) -> None:
        with self._lock:
            used = self._window(token)[0]
        if used >= self.rate_limit:
            error = GitHubError(403, f"API rate limit exceeded for user ID {abs(hash(token)) % 10**8}. If you reach "
                                     "out to GitHub Support for help, please include the request ID SANDBOX.")
            raise _RateLimitExhausted(error, self._rate_headers(token))

    def _rate_headers(self, token: str | None, *, count: bool = False) -> dict[str, str]:
        if token is None:
            return {}
        with self._lock:
            window = self._window(token)
            if count:
                window[0] += 1
            used, reset = window
        return {"X-RateLimit-Limit": str(self.rate_limit), "X-RateLimit-Remaining": str(max(0, self.rate_limit - int(used))),
                "X-RateLimit-Reset": str(int(reset)), "X-RateLimit-Used": str(int(used)), "X-RateLimit-Resource": "core"}

    def _with_headers(self, response: Response, token: str | None, *, count: bool) -> Response:
        response.headers.update(self._rate_headers(token, count=count))
        response.headers.update({"X-GitHub-Media-Type": "github.v3; format=json",
                                 "X-GitHub-Api-Version-Selected": API_VERSION,
                                 "X-GitHub-Request-Id": f"SANDBOX:{len(self.served):08X}"})
        return response

    def _rate_limit_body(self, token: str) -> dict:
        headers = self._rate_headers(token)
        core = {"limit": self.rate_limit, "remaining": int(headers["X-RateLimit-Remaining"]),
                "reset": int(headers["X-RateLimit-Reset"]), "used": int(headers["X-RateLimit-Used"]),
                "resource": "core"}
        search = {"limit": 30, "remaining": 30, "reset": int(time.time()) + 60, "used": 0, "resource": "search"}
        return {"resources": {"core": core, "search": search}, "rate": core}

    # ---- endpoints -----------------------------------------------------------------------------
    def list_issues(self, request: Request, owner: str, name: str) -> tuple[list, str]:
        repo = self._repo(owner, name)
        q = request.query
        state = _choice(q, "state", ("open", "closed", "all"), "open")
        sort = _choice(q, "sort", ("created", "updated", "comments"), "created")
        descending = _choice(q, "direction", ("asc", "desc"), "desc") == "desc"
        since = _since(q)
        threads = [t for t in repo.threads.values()
                   if (state == "all" or t.state == state) and (since is None or t.updated_at >= since)]
        if q.get("labels"):
            wanted = {label.strip() for label in q["labels"].split(",")}
            threads = [t for t in threads if wanted <= set(t.labels)]
        if q.get("creator"):
            threads = [t for t in threads if self._wire_login(t.user) == q["creator"]]
        counts = self._comment_counts(repo)
        key = {"created": lambda t: (t.created_at, t.number), "updated": lambda t: (t.updated_at, t.number),
               "comments": lambda t: (counts.get(t.number, 0), t.number)}[sort]
        threads.sort(key=key, reverse=descending)
        page, links = self._paginate(request, threads)
        return [self._issue(repo, t, counts.get(t.number, 0)) for t in page], links

    def get_issue(self, request: Request, owner: str, name: str, number: str) -> tuple[dict, str]:
        repo = self._repo(owner, name)
        thread = self._thread(repo, number)
        return self._issue(repo, thread, len(repo.comments_of(thread.number, "issue"))), ""

    def list_pulls(self, request: Request, owner: str, name: str) -> tuple[list, str]:
        repo = self._repo(owner, name)
        q = request.query
        state = _choice(q, "state", ("open", "closed", "all"), "open")
        sort = _choice(q, "sort", ("created", "updated", "popularity", "long-running"), "created")
        descending = _choice(q, "direction", ("asc", "desc"), "desc" if sort == "created" else "asc") == "desc"
        pulls = [t for t in repo.threads.values() if t.is_pull and (state == "all" or t.state == state)]
        if q.get("base"):
            pulls = [t for t in pulls if t.base_ref == q["base"]]
        if q.get("head"):
            pulls = [t for t in pulls if f"{repo.owner}:{t.head_ref}" == q["head"]]
        counts = self._comment_counts(repo)
        key = {"created": lambda t: (t.created_at, t.number), "updated": lambda t: (t.updated_at, t.number),
               "popularity": lambda t: (counts.get(t.number, 0), t.number),
               "long-running": lambda t: ((t.closed_at or self.data.now) - t.created_at, t.number)}[sort]
        pulls.sort(key=key, reverse=descending)
        page, links = self._paginate(request, pulls)
        return [self._pull(repo, t) for t in page], links

    def get_pull(self, request: Request, owner: str, name: str, number: str) -> tuple[dict, str]:
        repo = self._repo(owner, name)
        pull = self._thread(repo, number)
        if not pull.is_pull:
            raise GitHubError(404, "Not Found")
        return self._pull(repo, pull, full=True), ""

    def list_reviews(self, request: Request, owner: str, name: str, number: str) -> tuple[list, str]:
        repo = self._repo(owner, name)
        pull = self._thread(repo, number)
        if not pull.is_pull:
            raise GitHubError(404, "Not Found")
        reviews = sorted(pull.reviews, key=lambda r: (r.submitted_at, r.id))
        page, links = self._paginate(request, reviews)
        return [self._review(repo, pull, r) for r in page], links

    def list_repo_comments(self, request: Request, owner: str, name: str, kind: str) -> tuple[list, str]:
        repo = self._repo(owner, name)
        q = request.query
        sort = _choice(q, "sort", ("created", "updated", "created_at"), "created")
        direction = q.get("direction") if "sort" in q else None
        descending = _choice({"direction": direction} if direction else {}, "direction", ("asc", "desc"), "asc") == "desc"
        since = _since(q)
        comments = [c for c in repo.comments.values() if c.kind == kind and (since is None or c.updated_at >= since)]
        items: list[tuple[Any, Any]] = [((c.updated_at if sort == "updated" else c.created_at, c.id), c) for c in comments]
        for bad_kind, payload in repo.bad_comments:
            moment = parse_iso(payload["_served_at"])
            if bad_kind == kind and (since is None or moment >= since):
                items.append(((moment, 0), payload))
        items.sort(key=lambda item: item[0], reverse=descending)
        page, links = self._paginate(request, [item for _, item in items])
        return [self._comment(repo, c) if isinstance(c, Comment) else _bad_comment(c) for c in page], links

    def list_thread_comments(self, request: Request, owner: str, name: str, number: str, kind: str) -> tuple[list, str]:
        repo = self._repo(owner, name)
        thread = self._thread(repo, number)
        if kind == "review" and not thread.is_pull:
            raise GitHubError(404, "Not Found")
        since = _since(request.query)
        comments = [c for c in repo.comments_of(thread.number, kind) if since is None or c.updated_at >= since]
        if kind == "review" and request.query.get("sort") == "updated":
            comments.sort(key=lambda c: (c.updated_at, c.id))
        if kind == "review" and request.query.get("direction") == "desc" and "sort" in request.query:
            comments.reverse()
        page, links = self._paginate(request, comments)
        return [self._comment(repo, c) for c in page], links

    def list_timeline(self, request: Request, owner: str, name: str, number: str) -> tuple[list, str]:
        repo = self._repo(owner, name)
        thread = self._thread(repo, number)
        page, links = self._paginate(request, timeline(repo, thread))
        return [self._timeline_item(repo, thread, item) for item in page], links

    def list_thread_events(self, request: Request, owner: str, name: str, number: str) -> tuple[list, str]:
        repo = self._repo(owner, name)
        thread = self._thread(repo, number)
        items = [item for item in timeline(repo, thread) if "stored" in item]
        page, links = self._paginate(request, items)
        return [self._event(repo, item) for item in page], links

    def list_repo_events(self, request: Request, owner: str, name: str) -> tuple[list, str]:
        repo = self._repo(owner, name)
        items = [(item, thread) for thread in repo.threads.values() for item in timeline(repo, thread) if "stored" in item]
        items.sort(key=lambda pair: (pair[0]["stored"].created_at, pair[0]["stored"].id), reverse=True)
        page, links = self._paginate(request, items)
        counts = self._comment_counts(repo)
        return [{**self._event(repo, item), "issue": self._issue(repo, thread, counts.get(thread.number, 0))}
                for item, thread in page], links

    # ---- helpers -------------------------------------------------------------------------------
    def _repo(self, owner: str, name: str) -> Repo:
        repo = self.data.repos.get(f"{owner}/{name}")
        if repo is None:
            raise GitHubError(404, "Not Found")
        return repo

    def _thread(self, repo: Repo, number: str) -> Thread:
        thread = repo.threads.get(int(number))
        if thread is None:
            raise GitHubError(404, "Not Found")
        return thread

    def _comment_counts(self, repo: Repo) -> dict[int, int]:
        counts: dict[int, int] = {}
        for comment in repo.comments.values():
            if comment.kind == "issue":
                counts[comment.number] = counts.get(comment.number, 0) + 1
        return counts

    def _paginate(self, request: Request, items: list) -> tuple[list, str]:
        per_page = _int(request.query, "per_page", 30, 1, 100)
        page = _int(request.query, "page", 1, 1, 10**6)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        fault = request.take_fault() if request.fault in PAGINATION_FAULTS and page < last else None
        links = []
        if page < last:
            links.append((self._page_url(request, page if fault else page + 1), "next"))
            links.append((self._page_url(request, last), "last"))
        if page > 1:
            links.append((self._page_url(request, page - 1), "prev"))
            links.append((self._page_url(request, 1), "first"))
        return chunk, ", ".join(f'<{url}>; rel="{rel}"' for url, rel in links)

    def _page_url(self, request: Request, page: int) -> str:
        target = urlsplit(request.target)
        pairs = [(k, v) for k, v in parse_qsl(target.query, keep_blank_values=True) if k != "page"]
        pairs.append(("page", str(page)))
        host = request.header("Host") or "127.0.0.1"
        return f"http://{host}{target.path}?{urlencode(pairs)}"

    def _wire_login(self, account: Account | None) -> str | None:
        return None if account is None else (GHOST.login if account.deleted else account.login)

    # ---- wire objects --------------------------------------------------------------------------
    def _user(self, account: Account | None, *, null_if_deleted: bool = False) -> dict | None:
        if account is None or (account.deleted and null_if_deleted):
            return None
        if account.deleted:
            account = GHOST
        login, base = account.login, f"{API}/users/{account.login}"
        return {"login": login, "id": account.id, "node_id": node_id("U", account.id),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{account.id}?v=4", "gravatar_id": "",
                "url": base, "html_url": f"{WEB}/{login}", "followers_url": f"{base}/followers",
                "following_url": f"{base}/following{{/other_user}}", "gists_url": f"{base}/gists{{/gist_id}}",
                "starred_url": f"{base}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{base}/subscriptions",
                "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos",
                "events_url": f"{base}/events{{/privacy}}", "received_events_url": f"{base}/received_events",
                "type": account.type, "site_admin": False}

    def _association(self, account: Account | None) -> str:
        if account is None or account.deleted or account.type == "Bot":
            return "NONE"
        return "MEMBER"

    def _label(self, repo: Repo, name: str) -> dict:
        label_id = int(hashlib.md5(f"{repo.full_name}:{name}".encode()).hexdigest()[:8], 16)
        return {"id": label_id, "node_id": node_id("LA", label_id), "url": f"{API}/repos/{repo.full_name}/labels/{name}",
                "name": name, "color": hashlib.md5(name.encode()).hexdigest()[:6], "default": name in LABEL_DESCRIPTIONS,
                "description": LABEL_DESCRIPTIONS.get(name, "")}

    def _repository(self, repo: Repo) -> dict:
        base, web = f"{API}/repos/{repo.full_name}", f"{WEB}/{repo.full_name}"
        owner = {**self._user(Account(repo.owner, 9_000_000 + repo.id % 1000, type="Organization")),
                 "type": "Organization"}
        templated = {
            "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}", "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}", "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}", "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}", "contributors_url": "/contributors", "deployments_url": "/deployments",
            "downloads_url": "/downloads", "events_url": "/events", "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}", "git_tags_url": "/git/tags{/sha}",
            "hooks_url": "/hooks", "issue_comment_url": "/issues/comments{/number}", "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}",
            "languages_url": "/languages", "merges_url": "/merges", "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}", "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
            "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
        }
        open_count = sum(1 for t in repo.threads.values() if t.state == "open")
        return {
            "id": repo.id, "node_id": node_id("R", repo.id), "name": repo.name, "full_name": repo.full_name,
            "private": True, "owner": owner, "html_url": web, "description": repo.description, "fork": False,
            "url": base, **{key: base + suffix for key, suffix in templated.items()},
            "git_url": f"git://github.com/{repo.full_name}.git", "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{web}.git", "svn_url": web, "homepage": None, "size": 4096 + repo.id % 9000,
            "stargazers_count": 0, "watchers_count": 0, "language": repo.language, "has_issues": True,
            "has_projects": True, "has_downloads": True, "has_wiki": False, "has_pages": False, "forks_count": 0,
            "mirror_url": None, "archived": False, "disabled": False, "open_issues_count": open_count, "license": None,
            "allow_forking": False, "is_template": False, "topics": [], "visibility": "private", "forks": 0,
            "open_issues": open_count, "watchers": 0, "default_branch": repo.default_branch,
            "created_at": iso(repo.created_at), "updated_at": iso(self.data.now), "pushed_at": iso(self.data.now),
        }

    def _reactions(self, url: str) -> dict:
        return {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}

    def _issue(self, repo: Repo, thread: Thread, comments: int) -> dict:
        base = f"{API}/repos/{repo.full_name}/issues/{thread.number}"
        kind = "pull" if thread.is_pull else "issues"
        data = {
            "url": base, "repository_url": f"{API}/repos/{repo.full_name}", "labels_url": f"{base}/labels{{/name}}",
            "comments_url": f"{base}/comments", "events_url": f"{base}/events",
            "html_url": f"{WEB}/{repo.full_name}/{kind}/{thread.number}", "id": thread.id,
            "node_id": node_id("PR" if thread.is_pull else "I", thread.id), "number": thread.number,
            "title": thread.title, "user": self._user(thread.user),
            "labels": [self._label(repo, label) for label in thread.labels], "state": thread.state,
            "locked": False, "assignee": None, "assignees": [], "milestone": None, "comments": comments,
            "created_at": iso(thread.created_at), "updated_at": iso(thread.updated_at),
            "closed_at": iso(thread.closed_at), "author_association": self._association(thread.user),
            "active_lock_reason": None, "body": thread.body, "reactions": self._reactions(base),
            "timeline_url": f"{base}/timeline", "performed_via_github_app": None, "state_reason": thread.state_reason,
        }
        if thread.is_pull:
            pull = f"{API}/repos/{repo.full_name}/pulls/{thread.number}"
            web = f"{WEB}/{repo.full_name}/pull/{thread.number}"
            data["draft"] = thread.draft
            data["pull_request"] = {"url": pull, "html_url": web, "diff_url": f"{web}.diff", "patch_url": f"{web}.patch",
                                    "merged_at": iso(thread.merged_at)}
        return _override(data, thread.bad)

    def _pull(self, repo: Repo, pull: Thread, *, full: bool = False) -> dict:
        base = f"{API}/repos/{repo.full_name}/pulls/{pull.number}"
        issue = f"{API}/repos/{repo.full_name}/issues/{pull.number}"
        web = f"{WEB}/{repo.full_name}/pull/{pull.number}"
        repository = self._repository(repo)
        owner = repository["owner"]

        def ref(name: str, sha: str) -> dict:
            return {"label": f"{repo.owner}:{name}", "ref": name, "sha": sha, "user": owner, "repo": repository}

        data = {
            "url": base, "id": pull.id, "node_id": node_id("PR", pull.id), "html_url": web, "diff_url": f"{web}.diff",
            "patch_url": f"{web}.patch", "issue_url": issue, "commits_url": f"{base}/commits",
            "review_comments_url": f"{base}/comments", "review_comment_url": f"{API}/repos/{repo.full_name}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments", "statuses_url": f"{API}/repos/{repo.full_name}/statuses/{pull.head_sha}",
            "number": pull.number, "state": pull.state, "locked": False, "title": pull.title,
            "user": self._user(pull.user), "body": pull.body,
            "labels": [self._label(repo, label) for label in pull.labels], "milestone": None,
            "active_lock_reason": None, "created_at": iso(pull.created_at), "updated_at": iso(pull.updated_at),
            "closed_at": iso(pull.closed_at), "merged_at": iso(pull.merged_at), "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None, "assignees": [], "requested_reviewers": [self._user(a) for a in pull.requested_reviewers],
            "requested_teams": [], "head": ref(pull.head_ref, pull.head_sha),
            "base": ref(pull.base_ref, hashlib.sha1(f"base:{pull.id}".encode()).hexdigest()),
            "_links": {"self": {"href": base}, "html": {"href": web}, "issue": {"href": issue},
                       "comments": {"href": f"{issue}/comments"}, "review_comments": {"href": f"{base}/comments"},
                       "review_comment": {"href": f"{API}/repos/{repo.full_name}/pulls/comments{{/number}}"},
                       "commits": {"href": f"{base}/commits"},
                       "statuses": {"href": f"{API}/repos/{repo.full_name}/statuses/{pull.head_sha}"}},
            "author_association": self._association(pull.user), "auto_merge": None, "draft": pull.draft,
        }
        if full:
            comments = repo.comments_of(pull.number, "issue")
            data.update(merged=pull.merged_at is not None, mergeable=None if pull.state == "closed" else True,
                        rebaseable=None, mergeable_state="unknown" if pull.state == "closed" else "clean",
                        merged_by=self._user(pull.merged_by), comments=len(comments),
                        review_comments=len(repo.comments_of(pull.number, "review")), maintainer_can_modify=False,
                        commits=len(pull.commits), additions=17 * len(pull.commits), deletions=5 * len(pull.commits),
                        changed_files=min(len(pull.commits), 12))
        return _override(data, pull.bad)

    def _review(self, repo: Repo, pull: Thread, review) -> dict:
        web = f"{WEB}/{repo.full_name}/pull/{pull.number}#pullrequestreview-{review.id}"
        pull_url = f"{API}/repos/{repo.full_name}/pulls/{pull.number}"
        return {"id": review.id, "node_id": node_id("PRR", review.id), "user": self._user(review.user, null_if_deleted=True),
                "body": review.body, "state": review.state, "html_url": web, "pull_request_url": pull_url,
                "author_association": self._association(review.user),
                "_links": {"html": {"href": web}, "pull_request": {"href": pull_url}},
                "submitted_at": iso(review.submitted_at), "commit_id": review.commit_id}

    def _comment(self, repo: Repo, comment: Comment) -> dict:
        user = self._user(comment.user, null_if_deleted=True)
        if comment.kind == "issue":
            thread = repo.threads[comment.number]
            url = f"{API}/repos/{repo.full_name}/issues/comments/{comment.id}"
            return {"url": url, "html_url": f"{WEB}/{repo.full_name}/{'pull' if thread.is_pull else 'issues'}/"
                                            f"{comment.number}#issuecomment-{comment.id}",
                    "issue_url": f"{API}/repos/{repo.full_name}/issues/{comment.number}", "id": comment.id,
                    "node_id": node_id("IC", comment.id), "user": user, "created_at": iso(comment.created_at),
                    "updated_at": iso(comment.updated_at), "author_association": self._association(comment.user),
                    "body": comment.body, "reactions": self._reactions(url), "performed_via_github_app": None}
        url = f"{API}/repos/{repo.full_name}/pulls/comments/{comment.id}"
        web = f"{WEB}/{repo.full_name}/pull/{comment.number}#discussion_r{comment.id}"
        pull_url = f"{API}/repos/{repo.full_name}/pulls/{comment.number}"
        data = {"url": url, "pull_request_review_id": comment.review_id, "id": comment.id,
                "node_id": node_id("PRRC", comment.id),
                "diff_hunk": f"@@ -{max(1, (comment.line or 1) - 3)},6 +{max(1, (comment.line or 1) - 3)},7 @@",
                "path": comment.path, "position": comment.line, "original_position": comment.line,
                "commit_id": comment.commit_id, "original_commit_id": comment.commit_id, "user": user,
                "body": comment.body, "created_at": iso(comment.created_at), "updated_at": iso(comment.updated_at),
                "html_url": web, "pull_request_url": pull_url, "author_association": self._association(comment.user),
                "_links": {"self": {"href": url}, "html": {"href": web}, "pull_request": {"href": pull_url}},
                "reactions": self._reactions(url), "start_line": None, "original_start_line": None, "start_side": None,
                "line": comment.line, "original_line": comment.line, "side": "RIGHT", "subject_type": "line"}
        if comment.in_reply_to_id is not None:
            data["in_reply_to_id"] = comment.in_reply_to_id
        return data

    def _timeline_item(self, repo: Repo, thread: Thread, item: dict) -> dict:
        event = item["event"]
        if event == "committed":
            commit = item["commit"]
            url = f"{API}/repos/{repo.full_name}/git/commits/{commit.sha}"
            person = commit.author if not commit.author.deleted else GHOST
            return {"sha": commit.sha, "node_id": item["node_id"], "url": url,
                    "html_url": f"{WEB}/{repo.full_name}/commit/{commit.sha}",
                    "author": {"name": person.name or person.login, "email": person.email or f"{person.login}@users.noreply.github.com",
                               "date": iso(commit.authored_at)},
                    "committer": {"name": person.name or person.login, "email": person.email or f"{person.login}@users.noreply.github.com",
                                  "date": iso(commit.committed_at)},
                    "tree": {"sha": hashlib.sha1(f"tree:{commit.sha}".encode()).hexdigest(),
                             "url": f"{API}/repos/{repo.full_name}/git/trees/{commit.sha}"},
                    "message": commit.message, "parents": [],
                    "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
                    "event": "committed"}
        if event == "reviewed":
            review = item["review"]
            data = self._review(repo, thread, review)
            data["state"] = review.state.lower()
            return {"event": "reviewed", **data}
        if event == "commented":
            comment = item["comment"]
            return {"event": "commented", "actor": self._user(comment.user), **self._comment(repo, comment)}
        return self._event(repo, item)

    def _event(self, repo: Repo, item: dict) -> dict:
        stored = item["stored"]
        data = {"id": stored.id, "node_id": item["node_id"], "url": f"{API}/repos/{repo.full_name}/issues/events/{stored.id}",
                "actor": self._user(stored.actor), "event": stored.event, "commit_id": stored.extra.get("commit_id"),
                "commit_url": (f"{API}/repos/{repo.full_name}/commits/{stored.extra['commit_id']}"
                               if stored.extra.get("commit_id") else None),
                "created_at": iso(stored.created_at), "performed_via_github_app": None}
        if "label" in stored.extra:
            data["label"] = {"name": stored.extra["label"], "color": hashlib.md5(stored.extra["label"].encode()).hexdigest()[:6]}
        if "rename" in stored.extra:
            data["rename"] = dict(stored.extra["rename"])
        if "requested_reviewer" in stored.extra:
            data["review_requester"] = self._user(stored.actor)
            data["requested_reviewer"] = self._user(stored.extra["requested_reviewer"])
        if stored.event == "closed" and "state_reason" not in data:
            data["state_reason"] = None
        return data


class _RateLimitExhausted(GitHubError):
    def __init__(self, error: GitHubError, headers: dict[str, str]):
        super().__init__(error.status, error.message)
        self.headers = headers

    def response(self) -> Response:
        response = super().response()
        response.headers.update(self.headers)
        return response


# ---- routing ------------------------------------------------------------------------------------

_REPO = r"^repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
_ROUTES: list[tuple[re.Pattern, str, Callable, dict]] = [
    (re.compile(_REPO + r"/issues$"), "/repos/{owner}/{repo}/issues", GitHubService.list_issues, {}),
    (re.compile(_REPO + r"/issues/comments$"), "/repos/{owner}/{repo}/issues/comments",
     GitHubService.list_repo_comments, {"kind": "issue"}),
    (re.compile(_REPO + r"/issues/events$"), "/repos/{owner}/{repo}/issues/events", GitHubService.list_repo_events, {}),
    (re.compile(_REPO + r"/issues/(?P<number>\d+)$"), "/repos/{owner}/{repo}/issues/{issue_number}",
     GitHubService.get_issue, {}),
    (re.compile(_REPO + r"/issues/(?P<number>\d+)/comments$"), "/repos/{owner}/{repo}/issues/{issue_number}/comments",
     GitHubService.list_thread_comments, {"kind": "issue"}),
    (re.compile(_REPO + r"/issues/(?P<number>\d+)/timeline$"), "/repos/{owner}/{repo}/issues/{issue_number}/timeline",
     GitHubService.list_timeline, {}),
    (re.compile(_REPO + r"/issues/(?P<number>\d+)/events$"), "/repos/{owner}/{repo}/issues/{issue_number}/events",
     GitHubService.list_thread_events, {}),
    (re.compile(_REPO + r"/pulls$"), "/repos/{owner}/{repo}/pulls", GitHubService.list_pulls, {}),
    (re.compile(_REPO + r"/pulls/comments$"), "/repos/{owner}/{repo}/pulls/comments",
     GitHubService.list_repo_comments, {"kind": "review"}),
    (re.compile(_REPO + r"/pulls/(?P<number>\d+)$"), "/repos/{owner}/{repo}/pulls/{pull_number}", GitHubService.get_pull, {}),
    (re.compile(_REPO + r"/pulls/(?P<number>\d+)/reviews$"), "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
     GitHubService.list_reviews, {}),
    (re.compile(_REPO + r"/pulls/(?P<number>\d+)/comments$"), "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
     GitHubService.list_thread_comments, {"kind": "review"}),
    (re.compile(r"^rate_limit$"), "/rate_limit", None, {}),
]
LIST_ENDPOINTS = frozenset(template for _, template, handler, _ in _ROUTES
                           if handler is not None and handler not in (GitHubService.get_issue, GitHubService.get_pull))


def _route(subpath: str) -> tuple[str, Callable | None, tuple] | None:
    for pattern, template, handler, fixed in _ROUTES:
        match = pattern.match(subpath)
        if match:
            if handler is None:
                return template, None, ()
            args = tuple(match.groupdict().values())
            return template, functools.partial(_call_with, handler, fixed) if fixed else handler, args
    return None


def _call_with(handler: Callable, fixed: dict, service: GitHubService, request: Request, *args: str):
    return handler(service, request, *args, **fixed)


# ---- parameters ---------------------------------------------------------------------------------

def _choice(query: dict, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(name, default) or default
    if value not in allowed:
        raise GitHubError(422, "Validation Failed",
                          errors=[{"resource": "Search", "field": name, "code": "invalid", "value": value}])
    return value


def _int(query: dict, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(query.get(name, default))
    except (TypeError, ValueError):
        return default
    return max(low, min(high, value))


def _since(query: dict):
    value = query.get("since")
    if not value:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise GitHubError(422, "Validation Failed",
                          errors=[{"resource": "Issue", "field": "since", "code": "invalid", "value": value}]) from None


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    bare = etag.removeprefix("W/")
    return any(candidate.strip() == "*" or candidate.strip().removeprefix("W/") == bare for candidate in header.split(","))


def _override(data: dict, bad: dict | None) -> dict:
    if bad:
        for key, value in bad.items():
            if value is MISSING:
                data.pop(key, None)
            else:
                data[key] = value
    return data


def _bad_comment(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k != "_served_at"}


# ---- malformed records (World.github.add_bad_records) -------------------------------------------

def bad_payloads(data: GitHubData, repo: Repo, kind: str, index: int) -> BadRecord:
    """Adds one malformed record of ``kind`` to ``repo`` and returns what it is."""
    moment = data.tick()
    if kind in ("pulls", "issues"):
        number = max(repo.threads) + 1
        user = next(a for a in data.accounts.values() if a.type == "User" and not a.deleted)
        thread = Thread(id=data.new_id(), number=number, is_pull=kind == "pulls", title=f"Malformed {kind} record",
                        body=None, user=user, created_at=moment, updated_at=moment, head_ref="broken/record")
        if kind == "pulls":
            thread.bad, reason = {"created_at": "2026-02-30T25:61:00Z"}, "created_at is not an ISO 8601 timestamp"
        elif (index // 4) % 2 == 0:
            thread.bad, reason = {"title": ["not", "a", "string"]}, "title is not a string"
        else:
            thread.bad, reason = {"created_at": None}, "created_at is missing"
        repo.threads[number] = thread
        payload = {"number": number, **thread.bad}
        return BadRecord(repo.full_name, kind, reason, payload)
    comment_kind = "issue" if kind == "issue_comment" else "review"
    numbers = [t.number for t in repo.threads.values() if t.bad is None and (t.is_pull or comment_kind == "issue")]
    number = numbers[index % len(numbers)]
    path = "issues" if comment_kind == "issue" else "pulls"
    payload = {"url": f"{API}/repos/{repo.full_name}/{path}/comments/0", "user": None, "body": "broken record",
               "created_at": iso(moment), "updated_at": iso(moment), "_served_at": iso(moment)}
    if comment_kind == "issue":
        payload["issue_url"] = f"{API}/repos/{repo.full_name}/issues/{number}"
        reason = "id is missing"
    else:
        payload.update(id=data.new_id(), pull_request_url=f"{API}/repos/{repo.full_name}/pulls/{number}",
                       created_at="yesterday")
        reason = "created_at is not an ISO 8601 timestamp"
    repo.bad_comments.append((comment_kind, payload))
    return BadRecord(repo.full_name, "comments", reason, _bad_comment(payload))
