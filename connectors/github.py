"""GitHub REST API: an httpx client and pure parse functions -> typed rows.

The client sends ``X-GitHub-Api-Version: 2022-11-28`` and ``Accept: application/vnd.github+json``
with a bearer token (never logged, never in an error message), and handles:
- pagination: the ``Link`` header's ``rel="next"``, ``per_page`` <= 100; a ``next`` link that was
  already followed raises PaginationError rather than loop.
- conditional requests: with an ``HttpCache``, a URL requested before is sent with
  ``If-None-Match: <etag>``; a 304 (free: not counted against the rate limit) reuses the stored
  copy (the body, or with ``cache_bodies=False`` the knowledge that the caller stored it) and its
  ``Link`` header, so an unchanged listing costs one empty answer a page.
- the primary rate limit: when ``X-RateLimit-Remaining`` reaches 0, the next request waits until
  ``X-RateLimit-Reset`` (at most ``max_rate_limit_wait_s``, else TransientError for a later retry);
  a 403/429 with ``Remaining: 0`` likewise.
- secondary rate limits: 403/429 with ``Retry-After`` (or GitHub's "secondary rate limit" message,
  then a minute) are waited out and retried.
- 5xx, timeouts, dropped connections and truncated bodies: retried with tenacity, exponential
  backoff and jitter; what is left after the retries is TransientError.
- 401 (bad token), 404 (unknown repository, or one the token cannot see), 422 and other 4xx:
  PermanentError at once, with a message a person can act on.
The client is thread-safe (one httpx.Client, locked counters), so per-PR requests may run in threads.
"""
from __future__ import annotations

import functools
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from connectors.errors import PaginationError, PermanentError, TransientError
from connectors.records import Parsed, ParseError, parse_page, parse_timestamp

API_VERSION = "2022-11-28"
MAX_PER_PAGE = 100
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')
_TRAILING_NUMBER = re.compile(r"/(\d+)$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


# -- conditional-request cache ------------------------------------------------------------------


@dataclass(frozen=True)
class CachedResponse:
    """What a 304 stands for: the 200 that carried ``etag``, its Link header, and its body when the
    cache keeps bodies. A cache may keep none: then a 304 is an empty page flagged ``not_modified``,
    for callers that stored its rows when it was a 200 (as the ingestion tasks do)."""

    etag: str
    body: str | None = None
    link: str | None = None


class HttpCache(Protocol):
    def get(self, url: str) -> CachedResponse | None: ...

    def put(self, url: str, response: CachedResponse) -> None: ...


class MemoryCache:
    """An in-memory HttpCache (tests, one-off runs); tasks keep theirs in the warehouse."""

    def __init__(self) -> None:
        self._entries: dict[str, CachedResponse] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> CachedResponse | None:
        with self._lock:
            return self._entries.get(url)

    def put(self, url: str, response: CachedResponse) -> None:
        with self._lock:
            self._entries[url] = response

    def __len__(self) -> int:
        return len(self._entries)


# -- client -------------------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a listing: its items, the next page's URL, and whether it came from the cache."""

    url: str
    items: list
    next_url: str | None
    not_modified: bool = False


@dataclass
class RequestStats:
    requests: int = 0
    not_modified: int = 0
    retries: int = 0
    rate_limit_waits: int = 0


class _Retry(Exception):
    """A failure worth retrying; ``after`` (seconds) when the server said how long to wait."""

    def __init__(self, message: str, after: float | None = None):
        super().__init__(message)
        self.after = after


class GitHubClient:
    """Reads GitHub repositories page by page. Safe to share between threads."""

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.github.com",
        *,
        per_page: int = MAX_PER_PAGE,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        cache: HttpCache | None = None,
        cache_bodies: bool = True,
        max_rate_limit_wait_s: float = 900.0,
        secondary_wait_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        if not token:
            raise PermanentError("GITHUB_TOKEN is not set: pmflow needs a token to read GitHub.")
        self.base_url = base_url.rstrip("/")
        self.per_page = max(1, min(MAX_PER_PAGE, per_page))
        self.cache = cache
        self.cache_bodies = cache_bodies
        self.max_rate_limit_wait_s = max_rate_limit_wait_s
        self.secondary_wait_s = secondary_wait_s
        self.stats = RequestStats()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._http = httpx.Client(
            timeout=timeout_s,
            transport=transport,
            verify=_ssl_context(),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION, "User-Agent": "pmflow"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )
        self._retrying = Retrying(
            retry=retry_if_exception_type(_Retry),
            stop=stop_after_attempt(max_retries + 1),
            wait=_wait_retry_after_or(wait_exponential_jitter(initial=0.2, max=10)),
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:  # noqa: PYI034
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------------

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """An absolute URL with the query in the given order (the cache key of the request)."""
        query = urlencode([(k, v) for k, v in (params or {}).items() if v is not None])
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    def get(self, url: str) -> Page:
        """One GET with retries: a 200 (stored in the cache) or a 304 answered from the cache."""
        try:
            return self._retrying(self._get_once, url)
        except _Retry as exc:
            raise TransientError(f"GitHub {_describe(url)} still failing after retries: {exc}") from None

    def _get_once(self, url: str) -> Page:
        self._wait_for_primary_limit()
        cached = self.cache.get(url) if self.cache is not None else None
        headers = {"If-None-Match": cached.etag} if cached else {}
        with self._lock:
            self.stats.requests += 1
        try:
            response = self._http.get(url, headers=headers)
        except httpx.TimeoutException:
            raise _Retry("timed out") from None
        except httpx.TransportError as exc:
            raise _Retry(type(exc).__name__) from None
        self._note_rate_limit(response)
        status = response.status_code
        if status == 304 and cached is not None:
            with self._lock:
                self.stats.not_modified += 1
            items = _loads(cached.body, url) if cached.body is not None else []
            # The body is unchanged, the links may not be: a listing that grew has a page after
            # what was its last one. The 304's own Link header wins over the stored one.
            link = response.headers.get("Link", cached.link)
            if link != cached.link and self.cache is not None:
                self.cache.put(url, CachedResponse(cached.etag, cached.body, link))
            return Page(url, items, _next_link(link), not_modified=True)
        if status == 200:
            try:
                items = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise _Retry("malformed JSON body") from None
            link = response.headers.get("Link")
            etag = response.headers.get("ETag")
            if self.cache is not None and etag:
                self.cache.put(url, CachedResponse(etag, response.text if self.cache_bodies else None, link))
            return Page(url, items, _next_link(link))
        raise self._error(url, response)

    def _error(self, url: str, response: httpx.Response) -> Exception:
        status = response.status_code
        message = _message(response)
        if status in (403, 429):
            retry_after = response.headers.get("Retry-After")
            if retry_after is not None:
                return _Retry(f"HTTP {status} secondary rate limit", after=_seconds(retry_after))
            if response.headers.get("X-RateLimit-Remaining") == "0":
                wait = self._primary_wait()
                if wait is None or wait > self.max_rate_limit_wait_s:
                    return TransientError(f"GitHub rate limit spent until {self._reset_text()}; retry later.")
                with self._lock:  # the retry's wait covers it
                    self._remaining = None
                    self.stats.rate_limit_waits += 1
                return _Retry(f"HTTP {status} rate limit spent", after=wait)
            if status == 429 or "secondary rate limit" in message.lower():
                return _Retry(f"HTTP {status} secondary rate limit", after=self.secondary_wait_s)
            return PermanentError(f"GitHub refused {_describe(url)} (HTTP 403: {message}). Check the token's access.")
        if status == 401:
            return PermanentError(f"GitHub refused the token (HTTP 401: {message}). Check GITHUB_TOKEN.")
        if status == 404:
            return PermanentError(f"GitHub has no {_describe(url)} (HTTP 404). Check GITHUB_REPOS, and that the "
                                  "token can read the repository.")
        if status >= 500 or status == 304:
            return _Retry(f"HTTP {status}")
        return PermanentError(f"GitHub refused {_describe(url)} (HTTP {status}: {message}).")

    # -- rate limits ---------------------------------------------------------------------------

    def _note_rate_limit(self, response: httpx.Response) -> None:
        remaining, reset = response.headers.get("X-RateLimit-Remaining"), response.headers.get("X-RateLimit-Reset")
        if remaining is None or reset is None:
            return
        try:
            remaining_n, reset_at = int(remaining), float(reset)
        except ValueError:
            return
        with self._lock:
            self._remaining, self._reset_at = remaining_n, reset_at

    def _primary_wait(self) -> float | None:
        with self._lock:
            reset_at = self._reset_at
        return None if reset_at is None else max(0.0, reset_at - time.time()) + 1.0

    def _reset_text(self) -> str:
        with self._lock:
            reset_at = self._reset_at
        return datetime.fromtimestamp(reset_at, tz=UTC).isoformat() if reset_at else "an unknown time"

    def _wait_for_primary_limit(self) -> None:
        with self._lock:
            spent = self._remaining == 0 and self._reset_at is not None and self._reset_at > time.time() - 1
        if not spent:
            return
        wait = self._primary_wait()
        if wait is None:
            return
        if wait > self.max_rate_limit_wait_s:
            raise TransientError(f"GitHub rate limit spent until {self._reset_text()}; retry later.")
        with self._lock:
            self.stats.rate_limit_waits += 1
        self._sleep(wait)
        with self._lock:
            if self._reset_at is not None and self._reset_at <= time.time():
                self._remaining = None

    def _count_retry(self, retry_state: RetryCallState) -> None:
        with self._lock:
            self.stats.retries += 1

    # -- pagination ----------------------------------------------------------------------------

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Page]:
        """Every page of a listing, following ``Link: rel="next"``; a link followed twice stops it."""
        url: str | None = self.url(path, params)
        followed: set[str] = set()
        while url:
            followed.add(url)
            page = self.get(url)
            if not isinstance(page.items, list):
                raise PermanentError(f"GitHub {_describe(url)} answered {type(page.items).__name__}, expected a list.")
            yield page
            url = page.next_url
            if url in followed:
                raise PaginationError(f"GitHub {_describe(url)} linked to a page already read; stopped.")

    # -- endpoints -----------------------------------------------------------------------------

    def issues(self, repo: str, since: str | None = None, *, per_page: int | None = None) -> Iterator[Page]:
        """Issues and pull requests (marked by ``pull_request``), most recently updated first;
        with ``since``, only those updated at or after it."""
        params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": per_page or self.per_page,
                  "since": since}
        return self.paginate(f"/repos/{_repo(repo)}/issues", params)

    def pulls(self, repo: str, *, per_page: int | None = None) -> Iterator[Page]:
        """Pull requests, most recently updated first (no ``since``: stop when past the cursor)."""
        params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": per_page or self.per_page}
        return self.paginate(f"/repos/{_repo(repo)}/pulls", params)

    def pull(self, repo: str, number: int) -> dict | None:
        """One pull request; None when it is a 304 and the cache keeps no bodies (the caller has it)."""
        page = self.get(self.url(f"/repos/{_repo(repo)}/pulls/{int(number)}"))
        return None if page.not_modified and not page.items else page.items

    def reviews(self, repo: str, number: int) -> Iterator[Page]:
        return self.paginate(f"/repos/{_repo(repo)}/pulls/{int(number)}/reviews", {"per_page": self.per_page})

    def timeline(self, repo: str, number: int) -> Iterator[Page]:
        return self.paginate(f"/repos/{_repo(repo)}/issues/{int(number)}/timeline", {"per_page": self.per_page})

    def issue_comments(self, repo: str, since: str | None = None) -> Iterator[Page]:
        """Issue and PR-conversation comments of a repository, most recently updated first."""
        params = {"sort": "updated", "direction": "desc", "per_page": self.per_page, "since": since}
        return self.paginate(f"/repos/{_repo(repo)}/issues/comments", params)

    def review_comments(self, repo: str, since: str | None = None) -> Iterator[Page]:
        """Review (diff) comments of a repository, most recently updated first."""
        params = {"sort": "updated", "direction": "desc", "per_page": self.per_page, "since": since}
        return self.paginate(f"/repos/{_repo(repo)}/pulls/comments", params)

    def rate_limit(self) -> dict:
        """GET /rate_limit (not counted against the limit)."""
        return self.get(self.url("/rate_limit")).items


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One default SSL context per process (loading the CA bundle costs ~0.1 s a client)."""
    return ssl.create_default_context()


def _wait_retry_after_or(fallback: Callable[[RetryCallState], float]) -> Callable[[RetryCallState], float]:
    def wait(retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = getattr(exc, "after", None)
        return float(after) if after is not None else fallback(retry_state)

    return wait


def _next_link(link: str | None) -> str | None:
    if not link:
        return None
    for url, rel in _LINK.findall(link):
        if rel == "next":
            return url
    return None


def _loads(body: str, url: str) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise _Retry("cached body is not JSON") from None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _seconds(value: str) -> float:
    try:
        return max(0.0, float(value))
    except ValueError:
        return 60.0


def _describe(url: str) -> str:
    """The path of a URL, for messages (no host, no query)."""
    return httpx.URL(url).path


def _repo(repo: str) -> str:
    if not _REPO.match(repo):
        raise PermanentError(f"{repo!r} is not a repository as owner/name (GITHUB_REPOS).")
    return repo


# -- parsing ------------------------------------------------------------------------------------


def parse_pull(obj: Any, *, workspace_id: str, repo: str) -> dict:
    """A pull request from /pulls (or /pulls/{n}). ``first_commit_at`` comes from the timeline."""
    obj = _object(obj)
    head, base = obj.get("head"), obj.get("base")
    return {
        "workspace_id": workspace_id,
        "repo": repo,
        "number": _number(obj, "number"),
        "title": _str(obj, "title"),
        "body": _optional_str(obj, "body"),
        "state": _state(obj),
        "author": login_of(obj.get("user"), "user"),
        "head_ref": _optional_str(head, "ref") if isinstance(head, dict) else None,
        "base_ref": _optional_str(base, "ref") if isinstance(base, dict) else None,
        "draft": bool(obj.get("draft", False)),
        "url": _optional_str(obj, "html_url"),
        "created_at": parse_timestamp(obj.get("created_at"), "created_at"),
        "updated_at": parse_timestamp(obj.get("updated_at"), "updated_at"),
        "merged_at": parse_timestamp(obj.get("merged_at"), "merged_at", required=False),
        "closed_at": parse_timestamp(obj.get("closed_at"), "closed_at", required=False),
        "labels": _labels(obj),
    }


def parse_issue(obj: Any, *, workspace_id: str, repo: str) -> dict:
    """A plain issue from /issues (callers leave out pull requests: see ``is_pull_request``)."""
    obj = _object(obj)
    return {
        "workspace_id": workspace_id,
        "repo": repo,
        "number": _number(obj, "number"),
        "title": _str(obj, "title"),
        "body": _optional_str(obj, "body"),
        "state": _state(obj),
        "author": login_of(obj.get("user"), "user"),
        "url": _optional_str(obj, "html_url"),
        "created_at": parse_timestamp(obj.get("created_at"), "created_at"),
        "updated_at": parse_timestamp(obj.get("updated_at"), "updated_at"),
        "closed_at": parse_timestamp(obj.get("closed_at"), "closed_at", required=False),
        "labels": _labels(obj),
        "state_reason": _optional_str(obj, "state_reason"),
    }


def parse_review(obj: Any, *, workspace_id: str, repo: str, pr_number: int) -> dict:
    obj = _object(obj)
    return {
        "workspace_id": workspace_id,
        "repo": repo,
        "pr_number": pr_number,
        "review_id": _number(obj, "id"),
        "author": login_of(obj.get("user"), "user"),
        "state": _str(obj, "state"),
        "body": _optional_str(obj, "body"),
        "submitted_at": parse_timestamp(obj.get("submitted_at"), "submitted_at", required=False),
    }


def parse_comment(obj: Any, *, workspace_id: str, repo: str, kind: str) -> dict:
    """An issue comment (``kind`` "issue": on an issue or a PR conversation) or a review comment
    (``kind`` "review"); the number comes from ``issue_url`` / ``pull_request_url``."""
    obj = _object(obj)
    parent = "issue_url" if kind == "issue" else "pull_request_url"
    match = _TRAILING_NUMBER.search(obj.get(parent) or "") if isinstance(obj.get(parent), str) else None
    if not match:
        raise ParseError(f"{parent} is missing or does not end with a number")
    review_id, reply_to = obj.get("pull_request_review_id"), obj.get("in_reply_to_id")
    return {
        "workspace_id": workspace_id,
        "repo": repo,
        "number": int(match.group(1)),
        "comment_id": _number(obj, "id"),
        "kind": kind,
        "author": login_of(obj.get("user"), "user"),
        "body": _optional_str(obj, "body"),
        "created_at": parse_timestamp(obj.get("created_at"), "created_at"),
        "updated_at": parse_timestamp(obj.get("updated_at"), "updated_at", required=False),
        "review_id": review_id if isinstance(review_id, int) and not isinstance(review_id, bool) else None,
        "path": _optional_str(obj, "path"),
        "in_reply_to_id": reply_to if isinstance(reply_to, int) and not isinstance(reply_to, bool) else None,
        "url": _optional_str(obj, "html_url"),
    }


def parse_timeline_event(obj: Any, *, workspace_id: str, repo: str, number: int) -> dict:
    """A timeline item. event_id: its node_id (else id, else a commit's sha); created_at: the author
    date of a ``committed`` event, ``submitted_at`` of a ``reviewed`` one, else ``created_at``;
    actor: NULL for ``committed`` (a commit names a person, not a login)."""
    obj = _object(obj)
    event = obj.get("event") or ("committed" if isinstance(obj.get("sha"), str) else None)
    if not isinstance(event, str):
        raise ParseError("event is missing or not a string")
    event_id = next((str(obj[k]) for k in ("node_id", "id", "sha") if isinstance(obj.get(k), (str, int))
                     and not isinstance(obj.get(k), bool) and obj.get(k) != ""), None)
    if event_id is None:
        raise ParseError("event has no node_id, id or sha")
    if event == "committed":
        author = obj.get("author")
        if not isinstance(author, dict):
            raise ParseError("committed event has no author")
        created_at, actor = parse_timestamp(author.get("date"), "author.date"), None
    elif event == "reviewed":
        created_at = parse_timestamp(obj.get("submitted_at"), "submitted_at", required=False)
        actor = login_of(obj.get("user"), "user")
    else:
        created_at = parse_timestamp(obj.get("created_at"), "created_at")
        actor = login_of(obj.get("actor", obj.get("user")), "actor")
    return {"workspace_id": workspace_id, "repo": repo, "number": number, "event_id": event_id, "event": event,
            "actor": actor, "created_at": created_at}


def first_commit_at(events: list[dict]) -> datetime | None:
    """The earliest author date of a PR's ``committed`` timeline events (PR cycle time's start)."""
    return min((e["created_at"] for e in events if e["event"] == "committed" and e["created_at"]), default=None)


def is_pull_request(obj: Any) -> bool:
    """An /issues item that is a pull request (GitHub marks them with a ``pull_request`` key)."""
    return isinstance(obj, dict) and obj.get("pull_request") is not None


def change_of(obj: Any) -> tuple[int, datetime] | None:
    """(number, updated_at) of an /issues item, or None when unreadable (the full parse reports why)."""
    try:
        obj = _object(obj)
        return _number(obj, "number"), parse_timestamp(obj.get("updated_at"), "updated_at")
    except ParseError:
        return None


def parse_records(records: list, parse: Callable[..., dict], key: Callable[[dict], str], **context: Any) -> Parsed:
    """``records.parse_page`` with GitHub's integer ids and numbers as reject keys."""
    return parse_page(records, parse, key, reject_key=reject_key, **context)


def reject_key(record: Any) -> str | None:
    if isinstance(record, dict):
        for name in ("number", "id", "node_id", "sha"):
            value = record.get(name)
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                return f"{name}:{value}"
    return None


def login_of(user: Any, name: str = "user") -> str:
    """The account's login; a deleted account (``null``, as GitHub serves it) is "ghost"."""
    if user is None:
        return "ghost"
    if not isinstance(user, dict) or not isinstance(user.get("login"), str) or not user["login"]:
        raise ParseError(f"{name} is not a user object with a login")
    return user["login"]


def iso(moment: datetime) -> str:
    """A ``since`` value GitHub accepts."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _object(obj: Any) -> dict:
    if not isinstance(obj, dict):
        raise ParseError(f"record is {type(obj).__name__}, expected an object")
    return obj


def _number(obj: dict, name: str) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ParseError(f"{name} is missing or not a positive integer")
    return value


def _str(obj: dict, name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise ParseError(f"{name} is missing or not a string")
    return value


def _optional_str(obj: dict, name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise ParseError(f"{name} is not a string")
    return value


def _state(obj: dict) -> str:
    state = obj.get("state")
    if state not in ("open", "closed"):
        raise ParseError(f"state {state!r} is not open or closed")
    return state


def _labels(obj: dict) -> list[str]:
    labels = obj.get("labels") or []
    if not isinstance(labels, list):
        raise ParseError("labels is not a list")
    names = []
    for label in labels:
        name = label.get("name") if isinstance(label, dict) else label
        if not isinstance(name, str):
            raise ParseError("a label has no name")
        names.append(name)
    return names
