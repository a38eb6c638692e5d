"""Linear GraphQL API: a client on httpx, and pure parse functions -> typed rows for core.linear_*.

Reading incrementally: every stream (teams, workflow states, users, projects, cycles, labels,
issues, comments) is listed with ``filter: {updatedAt: {gte: <cursor - overlap>}}``,
``orderBy: updatedAt`` and ``includeArchived: true``, so a run reads what changed since the last
one, whatever the size of the workspace. The six small streams share one request (``Catalog``)
until one of them needs a second page. Issues carry their history (state changes, with the
states' names and types) nested, so history is read only for changed issues; a history longer than
the nested page is finished with per-issue ``IssueHistory`` queries. Comments are their own stream:
editing a comment does not change its issue's ``updatedAt``.

Reliability: 5xx, timeouts, connection resets and malformed bodies are retried with exponential
backoff and jitter (tenacity); rate limits are read from ``X-RateLimit-Requests-Remaining`` /
``-Reset`` (epoch ms) on every answer: when nothing remains the client waits for the reset before
its next request, and a ``RATELIMITED`` error (HTTP 400 or 429) is retried after the reset. A wait
longer than ``max_rate_limit_wait_s`` surfaces as TransientError (the Prefect task retries later).
Errors that will not heal (a refused key, a query Linear rejects) are PermanentError with Linear's
message. A pagination that serves a cursor twice stops with PaginationError. The API key is sent
as ``Authorization: <key>`` (``Bearer`` for OAuth tokens) and never logged or put in a message.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from connectors.errors import CursorGuard, PaginationError, PermanentError, TransientError
from connectors.records import ParseError, optional_str, parse_timestamp, require_object, require_str

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.linear.app/graphql"
STATE_TYPES = ("triage", "backlog", "unstarted", "started", "completed", "canceled")
PERMANENT_CODES = frozenset({"AUTHENTICATION_ERROR", "FORBIDDEN", "GRAPHQL_VALIDATION_FAILED",
                             "GRAPHQL_PARSE_FAILED", "INPUT_ERROR", "INVALID_INPUT", "BAD_USER_INPUT",
                             "BAD_REQUEST", "FEATURE_NOT_ACCESSIBLE", "USAGE_LIMIT_EXCEEDED"})


# -- GraphQL documents (every one must validate against Linear's schema: tests/contract) ---------

PAGE_INFO = "pageInfo { hasNextPage endCursor }"


@dataclass(frozen=True)
class Stream:
    """A top-level connection read incrementally: stream name, root field, filter type, fields."""

    name: str
    field: str
    filter_type: str
    fields: str
    extra_args: str = ""

    def selection(self, after: str = "after", filter_: str = "filter") -> str:
        return (f"{self.field}(first: $first, after: ${after}, filter: ${filter_}, orderBy: updatedAt, "
                f"includeArchived: true{self.extra_args}) {{ nodes {{ {self.fields} }} {PAGE_INFO} }}")

    @property
    def page_document(self) -> str:
        return (f"query {self.operation}($first: Int!, $after: String, $filter: {self.filter_type}) "
                f"{{ {self.selection()} }}")

    @property
    def operation(self) -> str:
        return "Linear" + self.name.title()


CATALOG_STREAMS = (
    Stream("teams", "teams", "TeamFilter", "id key name timezone createdAt updatedAt archivedAt"),
    Stream("states", "workflowStates", "WorkflowStateFilter",
           "id name type position color createdAt updatedAt archivedAt team { id }"),
    Stream("users", "users", "UserFilter", "id name displayName email active admin createdAt updatedAt archivedAt",
           extra_args=", includeDisabled: true"),
    Stream("projects", "projects", "ProjectFilter",
           "id name state startedAt targetDate completedAt canceledAt createdAt updatedAt archivedAt"),
    Stream("cycles", "cycles", "CycleFilter",
           "id number startsAt endsAt completedAt createdAt updatedAt archivedAt team { id }"),
    Stream("labels", "issueLabels", "IssueLabelFilter", "id name color createdAt updatedAt archivedAt team { id }"),
)
CATALOG_DOCUMENT = (
    "query LinearCatalog($first: Int!, "
    + ", ".join(f"${s.name}After: String, ${s.name}Filter: {s.filter_type}" for s in CATALOG_STREAMS)
    + ") { " + " ".join(s.selection(f"{s.name}After", f"{s.name}Filter") for s in CATALOG_STREAMS) + " }"
)
HISTORY_FIELDS = "id createdAt actor { id } fromState { id name type } toState { id name type }"
ISSUE_FIELDS = (
    "id identifier number title description priority estimate url labelIds "
    "createdAt updatedAt startedAt completedAt canceledAt archivedAt "
    "state { id name type } team { id key } project { id } cycle { id } parent { id } "
    "assignee { id } creator { id } "
    f"history(first: $historyFirst) {{ nodes {{ {HISTORY_FIELDS} }} {PAGE_INFO} }}"
)
ISSUES_DOCUMENT = (
    "query LinearIssues($first: Int!, $after: String, $filter: IssueFilter, $historyFirst: Int!) { "
    "issues(first: $first, after: $after, filter: $filter, orderBy: updatedAt, includeArchived: true) "
    f"{{ nodes {{ {ISSUE_FIELDS} }} {PAGE_INFO} }} }}"
)
ISSUE_HISTORY_DOCUMENT = (
    "query LinearIssueHistory($id: String!, $first: Int!, $after: String) { "
    f"issue(id: $id) {{ id history(first: $first, after: $after) {{ nodes {{ {HISTORY_FIELDS} }} {PAGE_INFO} }} }} }}"
)
COMMENTS_STREAM = Stream("comments", "comments", "CommentFilter",
                         "id body createdAt updatedAt editedAt archivedAt issue { id } user { id }")
ORGANIZATION_DOCUMENT = "query LinearOrganization { organization { id name urlKey } }"

DOCUMENTS = {
    "LinearOrganization": ORGANIZATION_DOCUMENT,
    "LinearCatalog": CATALOG_DOCUMENT,
    **{s.operation: s.page_document for s in CATALOG_STREAMS},
    "LinearIssues": ISSUES_DOCUMENT,
    "LinearIssueHistory": ISSUE_HISTORY_DOCUMENT,
    COMMENTS_STREAM.operation: COMMENTS_STREAM.page_document,
}
"""Every document the client can send, by operation name."""


# -- client ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    url_key: str


class _Retryable(TransientError):
    """A failure the client itself retries (5xx, timeout, reset, malformed body, rate limited)."""


class _RateLimited(_Retryable):
    def __init__(self, message: str, wait_s: float | None):
        super().__init__(message)
        self.wait_s = wait_s


class LinearClient:
    """Reads a Linear workspace; one instance per task (not thread-safe). ``requests`` counts the
    HTTP requests sent, retries included."""

    def __init__(
        self,
        api_key: str,
        api_url: str = DEFAULT_API_URL,
        *,
        page_size: int = 100,
        issue_page_size: int = 50,
        history_page_size: int = 25,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        max_rate_limit_wait_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not api_key:
            raise PermanentError("LINEAR_API_KEY is not set: pmflow needs a Linear API key to read Linear.")
        self.api_url = api_url
        self.page_size = page_size
        self.issue_page_size = issue_page_size
        self.history_page_size = history_page_size
        self.max_rate_limit_wait_s = max_rate_limit_wait_s
        self.requests = 0
        self.remaining: int | None = None  # X-RateLimit-Requests-Remaining of the last answer
        self.reset_at: float | None = None  # X-RateLimit-Requests-Reset of the last answer, epoch seconds
        self._sleep = sleep
        scheme = "Bearer " if api_key.startswith("lin_oauth_") else ""
        self._http = httpx.Client(
            timeout=timeout_s,
            transport=transport,
            headers={"Authorization": scheme + api_key, "Content-Type": "application/json",
                     "User-Agent": "pmflow-linear/0.1"},
        )
        self._execute_with_retries = retry(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(max_retries + 1),
            wait=self._wait,
            sleep=sleep,
            reraise=True,
        )(self._execute_once)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LinearClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- one request ---------------------------------------------------------------------------

    def execute(self, document: str, variables: dict | None = None, operation: str | None = None) -> dict:
        """Runs one GraphQL operation with pacing and retries; returns its ``data``."""
        try:
            return self._execute_with_retries(document, variables or {}, operation)
        except _Retryable as exc:
            raise TransientError(f"Linear {operation or 'query'} still failing after retries: {exc}") from None

    def _execute_once(self, document: str, variables: dict, operation: str | None) -> dict:
        self._pause_if_exhausted()
        payload = {"query": document, "variables": variables}
        if operation:
            payload["operationName"] = operation
        self.requests += 1
        try:
            response = self._http.post(self.api_url, json=payload)
        except httpx.TimeoutException:
            raise _Retryable("timed out") from None
        except httpx.TransportError as exc:
            raise _Retryable(type(exc).__name__) from None
        self._note_rate_limit(response.headers)
        return self._data(response, operation or "query")

    def _data(self, response: httpx.Response, operation: str) -> dict:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        codes = {((e.get("extensions") or {}).get("code")) for e in errors or () if isinstance(e, dict)}
        if status == 429 or "RATELIMITED" in codes:
            raise _RateLimited(f"rate limited (HTTP {status})", self._until_reset())
        if status >= 500:
            raise _Retryable(f"HTTP {status}")
        if body is None:
            if status == 200:
                raise _Retryable("malformed JSON body")
            raise PermanentError(f"Linear {operation} refused: HTTP {status}")
        if errors:
            messages = "; ".join(str(e.get("message", e))[:300] for e in errors if isinstance(e, dict)) or str(errors)
            if codes & {"AUTHENTICATION_ERROR", "FORBIDDEN"}:
                raise PermanentError(f"Linear refused the API key (check LINEAR_API_KEY): {messages}")
            if status == 200 and not codes & PERMANENT_CODES and "INTERNAL_SERVER_ERROR" in codes:
                raise _Retryable(f"server error: {messages}")
            raise PermanentError(f"Linear {operation} failed ({', '.join(sorted(c for c in codes if c)) or f'HTTP {status}'}): {messages}")
        if status != 200:
            raise PermanentError(f"Linear {operation} refused: HTTP {status}")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _Retryable("answer without data")
        return data

    # -- rate limits ---------------------------------------------------------------------------

    def _note_rate_limit(self, headers: httpx.Headers) -> None:
        remaining, reset = headers.get("X-RateLimit-Requests-Remaining"), headers.get("X-RateLimit-Requests-Reset")
        try:
            self.remaining = int(remaining) if remaining is not None else self.remaining
            self.reset_at = int(reset) / 1000 if reset is not None else self.reset_at
        except ValueError:
            pass

    def _until_reset(self) -> float | None:
        return max(0.0, self.reset_at - time.time()) if self.reset_at is not None else None

    def _pause_if_exhausted(self) -> None:
        """When the last answer said no request remains, wait for the window's reset."""
        if self.remaining != 0 or self.reset_at is None:
            return
        wait = self.reset_at - time.time()
        if wait > self.max_rate_limit_wait_s:
            raise TransientError(
                f"Linear's request budget is spent until {datetime.fromtimestamp(self.reset_at, UTC):%H:%M:%S} UTC "
                f"({wait:.0f} s, more than LINEAR_MAX_RATE_LIMIT_WAIT_S={self.max_rate_limit_wait_s:.0f}); try later."
            )
        if wait > 0:
            log.info("Linear rate limit: no request left, waiting %.1f s for the reset", wait)
            self._sleep(wait + 0.05)
        self.remaining = None

    def _wait(self, retry_state) -> float:
        backoff = wait_exponential_jitter(initial=0.2, max=10)(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _RateLimited) and exc.wait_s is not None:
            if exc.wait_s > self.max_rate_limit_wait_s:
                raise TransientError(f"Linear rate limited for {exc.wait_s:.0f} s; try later.")
            self.remaining = None  # the wait below covers the reset
            return exc.wait_s + 0.05 + backoff / 10
        return backoff

    # -- pagination ----------------------------------------------------------------------------

    def paginate(self, document: str, path: str, variables: dict, operation: str, *,
                 after: str | None = None, after_name: str = "after") -> Iterator[dict]:
        """Yields each page of the connection at ``path`` ("issues", "issue.history") until
        hasNextPage is false. A cursor served twice stops with PaginationError."""
        guard = CursorGuard(f"Linear {operation}", after)
        while True:
            data = self.execute(document, {**variables, after_name: after}, operation)
            page = _dig(data, path, operation)
            yield page
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")
            if not after:
                raise PaginationError(f"Linear {operation} said hasNextPage without an endCursor; stopped.")
            guard.follow(after)

    # -- streams -------------------------------------------------------------------------------

    def organization(self) -> Organization:
        data = self.execute(ORGANIZATION_DOCUMENT, operation="LinearOrganization")
        org = _dig(data, "organization", "LinearOrganization")
        return Organization(id=str(org.get("id")), name=str(org.get("name") or ""), url_key=str(org.get("urlKey") or ""))

    def catalog(self, since: dict[str, datetime | None]) -> Iterator[tuple[str, list[dict]]]:
        """(stream, records) for teams, states, users, projects, cycles and labels changed at or
        after ``since[stream]`` (everything when None): one request while each fits one page."""
        variables: dict[str, Any] = {"first": self.page_size}
        for stream in CATALOG_STREAMS:
            variables[f"{stream.name}After"] = None
            variables[f"{stream.name}Filter"] = updated_since(since.get(stream.name))
        data = self.execute(CATALOG_DOCUMENT, variables, "LinearCatalog")
        for stream in CATALOG_STREAMS:
            page = _dig(data, stream.field, "LinearCatalog")
            yield stream.name, _nodes(page, stream.operation)
            info = page.get("pageInfo") or {}
            if info.get("hasNextPage"):
                rest = self.paginate(stream.page_document, stream.field,
                                     {"first": self.page_size, "filter": variables[f"{stream.name}Filter"]},
                                     stream.operation, after=info.get("endCursor"))
                for more in rest:
                    yield stream.name, _nodes(more, stream.operation)

    def users(self) -> Iterator[list[dict]]:
        """Every user, deactivated ones included."""
        stream = CATALOG_STREAMS[2]
        for page in self.paginate(stream.page_document, stream.field, {"first": self.page_size, "filter": None},
                                  stream.operation):
            yield _nodes(page, stream.operation)

    def issues(self, since: datetime | None) -> Iterator[list[dict]]:
        """Issues changed at or after ``since``, archived ones included, oldest change first; each
        with its whole history in ``history.nodes``."""
        variables = {"first": self.issue_page_size, "filter": updated_since(since),
                     "historyFirst": self.history_page_size}
        for page in self.paginate(ISSUES_DOCUMENT, "issues", variables, "LinearIssues"):
            issues = _nodes(page, "LinearIssues")
            for issue in issues:
                self._complete_history(issue)
            yield issues

    def issue_history(self, issue_id: str, after: str | None = None) -> Iterator[list[dict]]:
        """An issue's history entries after ``after`` (from the start when None)."""
        variables = {"id": issue_id, "first": self.page_size}
        for page in self.paginate(ISSUE_HISTORY_DOCUMENT, "issue.history", variables, "LinearIssueHistory",
                                  after=after):
            yield _nodes(page, "LinearIssueHistory")

    def _complete_history(self, issue: dict) -> None:
        history = issue.get("history") if isinstance(issue, dict) else None
        if not isinstance(history, dict):
            return
        info = history.get("pageInfo") or {}
        if info.get("hasNextPage") and isinstance(issue.get("id"), str):
            nodes = list(history.get("nodes") or [])
            for more in self.issue_history(issue["id"], after=info.get("endCursor")):
                nodes += more
            issue["history"] = {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}

    def comments(self, since: datetime | None) -> Iterator[list[dict]]:
        """Comments created or edited at or after ``since``."""
        variables = {"first": self.page_size, "filter": updated_since(since)}
        for page in self.paginate(COMMENTS_STREAM.page_document, "comments", variables, COMMENTS_STREAM.operation):
            yield _nodes(page, COMMENTS_STREAM.operation)


def updated_since(moment: datetime | None) -> dict | None:
    """The ``filter`` for records updated at or after ``moment`` (None: no filter)."""
    return None if moment is None else {"updatedAt": {"gte": format_datetime(moment)}}


def _dig(data: dict, path: str, operation: str) -> dict:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if not isinstance(value, dict):
        raise _Retryable(f"{operation}: the answer lacks {path}")
    return value


def _nodes(page: dict, operation: str) -> list:
    nodes = page.get("nodes")
    if not isinstance(nodes, list):
        raise _Retryable(f"{operation}: a page without nodes")
    return nodes


# -- parsing -----------------------------------------------------------------------------------


def format_datetime(moment: datetime) -> str:
    """Linear's DateTime: UTC, milliseconds, Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def cursor_minus(cursor: str | None, overlap: timedelta) -> datetime | None:
    """The lower bound of the next read: the stored cursor minus the overlap (None: read all)."""
    return parse_timestamp(cursor, "cursor") - overlap if cursor else None


def _ref(obj: dict, name: str) -> str | None:
    """The id of a nested object ({"id": ...}) or None; anything else is malformed."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        raise ParseError(f"{name} is not an object with an id")
    return value["id"]


def _known(user_id: str | None, role: str, known_users: Collection[str] | None) -> str | None:
    if user_id is not None and known_users is not None and user_id not in known_users:
        raise ParseError(f"{role} {user_id} is not a known Linear user (deleted?)")
    return user_id


def _state(value: Any, name: str) -> tuple[str, str, str]:
    """(id, name, type) of a nested workflow state."""
    if not isinstance(value, dict):
        raise ParseError(f"{name} is missing or not an object")
    state_type = value.get("type")
    if state_type not in STATE_TYPES:
        raise ParseError(f"{name} type {state_type!r} is not a Linear state type ({', '.join(STATE_TYPES)})")
    return require_str(value, "id"), require_str(value, "name"), state_type


def _number(obj: dict, name: str, *, low: float | None = None, high: float | None = None) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParseError(f"{name} {value!r} is not a number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParseError(f"{name} {value!r} is out of range")
    return value


def parse_team(obj: Any, *, workspace_id: str) -> dict:
    obj = require_object(obj)
    return {"workspace_id": workspace_id, "team_id": require_str(obj, "id"), "key": require_str(obj, "key"),
            "name": optional_str(obj, "name"), "timezone": optional_str(obj, "timezone")}


def parse_state(obj: Any, *, workspace_id: str) -> dict:
    obj = require_object(obj)
    state_id, name, state_type = _state(obj, "state")
    return {"workspace_id": workspace_id, "state_id": state_id, "team_id": _ref(obj, "team"), "name": name,
            "type": state_type, "position": _number(obj, "position")}


def parse_user(obj: Any, *, workspace_id: str) -> dict:
    obj = require_object(obj)
    active = obj.get("active")
    if not isinstance(active, bool):
        raise ParseError("active is missing or not a boolean")
    return {"workspace_id": workspace_id, "user_id": require_str(obj, "id"), "name": optional_str(obj, "name"),
            "display_name": optional_str(obj, "displayName"), "email": optional_str(obj, "email"),
            "is_active": active}


def parse_project(obj: Any, *, workspace_id: str) -> dict:
    obj = require_object(obj)
    target = obj.get("targetDate")
    if target is not None:
        try:
            target = date.fromisoformat(target)
        except (TypeError, ValueError):
            raise ParseError(f"targetDate {target!r} is not a date") from None
    return {"workspace_id": workspace_id, "project_id": require_str(obj, "id"), "name": optional_str(obj, "name"),
            "state": optional_str(obj, "state"),
            "started_at": parse_timestamp(obj.get("startedAt"), "startedAt", required=False),
            "target_date": target,
            "completed_at": parse_timestamp(obj.get("completedAt"), "completedAt", required=False)}


def parse_cycle(obj: Any, *, workspace_id: str) -> dict:
    obj = require_object(obj)
    number = _number(obj, "number", low=0)
    return {"workspace_id": workspace_id, "cycle_id": require_str(obj, "id"), "team_id": _ref(obj, "team"),
            "number": int(number) if number is not None else None,
            "starts_at": parse_timestamp(obj.get("startsAt"), "startsAt", required=False),
            "ends_at": parse_timestamp(obj.get("endsAt"), "endsAt", required=False)}


def parse_label(obj: Any, *, workspace_id: str) -> dict:
    obj = require_object(obj)
    return {"workspace_id": workspace_id, "label_id": require_str(obj, "id"), "name": optional_str(obj, "name"),
            "team_id": _ref(obj, "team")}


def parse_issue(obj: Any, *, workspace_id: str, known_users: Collection[str] | None = None) -> dict:
    """An issue -> a core.linear_issues row (its nested history is parsed by parse_history).

    A null assignee is normal; a reference to a user that ``known_users`` does not hold (when
    given) is not."""
    obj = require_object(obj)
    state_id, state_name, state_type = _state(obj.get("state"), "state")
    team = obj.get("team")
    if not isinstance(team, dict):
        raise ParseError("team is missing or not an object")
    priority = _number(obj, "priority", low=0, high=4)
    if priority is not None and priority != int(priority):
        raise ParseError(f"priority {priority!r} is not a whole number")
    labels = obj.get("labelIds") or []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ParseError("labelIds is not a list of ids")
    return {
        "workspace_id": workspace_id,
        "issue_id": require_str(obj, "id"),
        "identifier": require_str(obj, "identifier"),
        "title": require_str(obj, "title"),
        "description": optional_str(obj, "description"),
        "state_id": state_id,
        "state_name": state_name,
        "state_type": state_type,
        "team_id": require_str(team, "id"),
        "team_key": require_str(team, "key"),
        "project_id": _ref(obj, "project"),
        "cycle_id": _ref(obj, "cycle"),
        "parent_id": _ref(obj, "parent"),
        "assignee_id": _known(_ref(obj, "assignee"), "assignee", known_users),
        "creator_id": _known(_ref(obj, "creator"), "creator", known_users),
        "priority": int(priority) if priority is not None else None,
        "estimate": _number(obj, "estimate", low=0),
        "label_ids": labels,
        "url": optional_str(obj, "url"),
        "created_at": parse_timestamp(obj.get("createdAt"), "createdAt", required=True),
        "updated_at": parse_timestamp(obj.get("updatedAt"), "updatedAt", required=True),
        "started_at": parse_timestamp(obj.get("startedAt"), "startedAt", required=False),
        "completed_at": parse_timestamp(obj.get("completedAt"), "completedAt", required=False),
        "canceled_at": parse_timestamp(obj.get("canceledAt"), "canceledAt", required=False),
        "archived_at": parse_timestamp(obj.get("archivedAt"), "archivedAt", required=False),
    }


def is_state_change(entry: Any) -> bool:
    """Whether a history entry moves the issue between states (the others change priority,
    labels, assignee...). Malformed entries count, so that they are quarantined, not dropped."""
    return not isinstance(entry, dict) or entry.get("fromState") is not None or entry.get("toState") is not None


def parse_history(obj: Any, *, workspace_id: str, issue_id: str, known_users: Collection[str] | None = None) -> dict:
    """A state-change history entry -> a core.linear_issue_history row (from_state NULL: creation)."""
    obj = require_object(obj)
    before = _state(obj["fromState"], "fromState") if obj.get("fromState") is not None else (None, None, None)
    after = _state(obj["toState"], "toState") if obj.get("toState") is not None else (None, None, None)
    if before[0] is None and after[0] is None:
        raise ParseError("neither fromState nor toState: not a state change")
    return {
        "workspace_id": workspace_id,
        "history_id": require_str(obj, "id"),
        "issue_id": issue_id,
        "from_state_id": before[0], "from_state": before[1], "from_state_type": before[2],
        "to_state_id": after[0], "to_state": after[1], "to_state_type": after[2],
        "changed_at": parse_timestamp(obj.get("createdAt"), "createdAt", required=True),
        "actor_id": _known(_ref(obj, "actor"), "actor", known_users),
    }


def parse_comment(obj: Any, *, workspace_id: str, known_users: Collection[str] | None = None) -> dict:
    obj = require_object(obj)
    body = obj.get("body")
    if not isinstance(body, str):
        raise ParseError("body is missing or not a string")
    issue_id = _ref(obj, "issue")
    if issue_id is None:
        raise ParseError("issue is missing: not an issue comment")
    return {
        "workspace_id": workspace_id,
        "comment_id": require_str(obj, "id"),
        "issue_id": issue_id,
        "user_id": _known(_ref(obj, "user"), "user", known_users),
        "body": body,
        "created_at": parse_timestamp(obj.get("createdAt"), "createdAt", required=True),
        "updated_at": parse_timestamp(obj.get("updatedAt"), "updatedAt", required=False),
        "edited_at": parse_timestamp(obj.get("editedAt"), "editedAt", required=False),
    }


def user_refs(obj: Any) -> set[str]:
    """The user ids an issue (with its history), a history entry or a comment refers to."""
    refs: set[str] = set()
    if not isinstance(obj, dict):
        return refs
    for name in ("assignee", "creator", "actor", "user"):
        value = obj.get(name)
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            refs.add(value["id"])
    history = obj.get("history")
    if isinstance(history, dict):
        for entry in history.get("nodes") or ():
            refs |= user_refs(entry)
    return refs
