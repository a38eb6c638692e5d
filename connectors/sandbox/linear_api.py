"""The Linear GraphQL API over the sandbox world, at ``POST /linear/graphql``.

Queries run through graphql-core against Linear's official schema (the SDL of
contracts/linear/schema.graphql, built once per process): a document that does not parse or
validate is refused as Linear refuses it, HTTP 400 with ``errors`` (``GRAPHQL_PARSE_FAILED`` /
``GRAPHQL_VALIDATION_FAILED``); a query whose complexity exceeds 10,000 points is refused too
(Linear's rule: 0.1 point per property, 1 per object, a connection multiplies its children by
``first``, default 50; approximate).

Implemented over the world's data (``linear_data``): ``organization``, ``viewer``, ``issue(id)``,
``comment(id)``, the mutations ``commentCreate`` (issue comments) and ``issueCreate``, and the connections ``issues``, ``comments``, ``teams``, ``workflowStates``, ``users``,
``projects``, ``cycles``, ``issueLabels``; on an issue ``history``, ``comments``, ``children``,
``labels``; on a team ``states``. Connections paginate forward (``first`` <= 250, default 50, and
``after``; ``last``/``before`` are refused), ``orderBy: createdAt`` (default) or ``updatedAt``,
``includeArchived`` (default false: archived issues are hidden), ``users(includeDisabled:)``
(default false: deactivated users are hidden), and ``filter`` on ``updatedAt`` / ``createdAt``
(``eq gt gte lt lte``, ISO datetimes) and ``id`` (``eq in``). Anything else a valid query asks
for that the sandbox does not hold resolves to null, or to a GraphQL error when the schema says
non-null: the sandbox never invents data.

Auth: ``Authorization: <key>`` (personal API keys, no scheme) or ``Bearer <key>``; any
``lin_api_`` key is accepted (``world.linear_api_key`` is one); none or another is
``AUTHENTICATION_ERROR``. Rate limits: every answer carries ``X-RateLimit-Requests-Limit``,
``-Remaining`` and ``-Reset`` (epoch milliseconds) from a fixed window per key (5,000 requests an
hour unless the service is built with other numbers); past the limit, and for the fault plan's
``ratelimit`` kind, the answer is ``{"errors": [{"message": ..., "extensions": {"code":
"RATELIMITED"}}]}`` with HTTP 400 (the fault alternates 400 and 429). Requests are counted under
their ``operationName`` (``graphql`` without one), so stats and fault plans can target one query.
The pagination faults apply to the top-level connection of a query.
"""
from __future__ import annotations

import base64
import binascii
import functools
import os
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    VariableNode,
    build_schema,
    execute,
    get_named_type,
    parse,
    validate,
)

from connectors.sandbox.faults import GENERIC_KINDS, PAGINATION_KINDS
from connectors.sandbox.linear_data import (
    Comment,
    Cycle,
    HistoryEntry,
    Issue,
    Label,
    LinearError,
    LinearWorkspace,
    Project,
    State,
    Team,
    User,
    iso,
    parse_iso,
)
from connectors.sandbox.server import Request, Response, Service

if TYPE_CHECKING:
    from connectors.sandbox.world import World

MAX_COMPLEXITY = 10_000
DEFAULT_FIRST = 50
MAX_FIRST = 250
ACCEPTED_KEY_PREFIX = "lin_api_"
PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


def schema_path() -> Path:
    """PMFLOW_LINEAR_SCHEMA, else the vendored official schema."""
    from connectors.sandbox import CONTRACTS_DIR

    return Path(os.environ.get("PMFLOW_LINEAR_SCHEMA") or CONTRACTS_DIR / "linear" / "schema.graphql")


_SCHEMAS: dict[Path, GraphQLSchema] = {}
_SCHEMA_LOCK = threading.Lock()


def linear_schema(path: str | os.PathLike | None = None) -> GraphQLSchema:
    """Linear's schema from its SDL (1.5 s or more to build: built once per process)."""
    source = Path(path) if path else schema_path()
    with _SCHEMA_LOCK:
        if source not in _SCHEMAS:
            if not source.exists():
                raise FileNotFoundError(f"Linear's schema SDL is not at {source} "
                                        "(set PMFLOW_LINEAR_SCHEMA or PMFLOW_CONTRACTS_DIR)")
            _SCHEMAS[source] = build_schema(source.read_text(encoding="utf-8"))
        return _SCHEMAS[source]


def _warm_up() -> None:
    """Builds the schema in the background, so that the first request does not wait for it."""
    try:
        linear_schema()
    except FileNotFoundError:
        pass  # the first request reports it


class LinearService(Service):
    name = "linear"
    prefix = "/linear/"

    def __init__(self, world: World, *, requests_limit: int = 5000, window_s: float = 3600.0):
        self.world = world
        self.requests_limit = requests_limit
        self.window_s = window_s
        self.documents: Counter[str] = Counter()  # every query document received, for contract tests
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window reset time, requests used)
        self._limited_count = 0
        if schema_path() not in _SCHEMAS:
            threading.Thread(target=_warm_up, name="linear-schema", daemon=True).start()

    # ---- Service hooks -----------------------------------------------------------------------
    def endpoint(self, request: Request) -> str:
        name = request.params.get("operationName")
        return name if isinstance(name, str) and name else "graphql"

    def fault_kinds(self, endpoint: str) -> frozenset[str]:
        return GENERIC_KINDS | frozenset(PAGINATION_KINDS)

    def rate_limited(self, retry_after_s: int) -> Response:
        with self._lock:
            self._limited_count += 1
            status = 400 if self._limited_count % 2 else 429
        reset = time.time() + retry_after_s
        return _errors([_error("Rate limit exceeded. Retry after the time in X-RateLimit-Requests-Reset.",
                               "RATELIMITED", type="ratelimited")], status,
                       self._limit_headers(0, reset))

    # ---- requests ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.subpath != "graphql":
            return Response.json({"errors": [_error(f"Not found: {request.path}", "NOT_FOUND")]}, 404)
        if request.method != "POST":
            return _errors([_error("Use POST with a JSON body {query, variables, operationName}.", "BAD_REQUEST")], 400)
        key = _api_key(request)
        if key is None:
            return _errors([_error("Authentication required, not authenticated", "AUTHENTICATION_ERROR",
                                   type="authentication error", statusCode=401)], 400)
        remaining, reset = self._take(key)
        headers = self._limit_headers(remaining, reset)
        if remaining < 0:
            return _errors([_error("Rate limit exceeded.", "RATELIMITED", type="ratelimited")], 400,
                           self._limit_headers(0, reset))
        if request.body_error:
            return _errors([_error("The request body is not a JSON object.", "BAD_REQUEST")], 400, headers)
        query, variables = request.params.get("query"), request.params.get("variables") or {}
        operation_name = request.params.get("operationName") or None
        if not isinstance(query, str) or not isinstance(variables, dict):
            return _errors([_error("Expected {query: string, variables?: object}.", "BAD_REQUEST")], 400, headers)
        with self._lock:
            self.documents[query] += 1
        return self._execute(request, query, variables, operation_name, headers)

    def _execute(self, request: Request, query: str, variables: dict, operation_name: str | None,
                 headers: dict[str, str]) -> Response:
        try:
            schema = linear_schema()
        except FileNotFoundError as error:
            return _errors([_error(str(error), "INTERNAL_SERVER_ERROR")], 500, headers)
        try:
            document, errors = _parsed(schema, query)
        except GraphQLError as error:
            return _errors([_graphql_error(error, "GRAPHQL_PARSE_FAILED")], 400, headers)
        if errors:
            return _errors([_graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors], 400, headers)
        points = complexity(schema, document, operation_name, variables)
        if points > MAX_COMPLEXITY:
            return _errors([_error(f"Query too complex: complexity {points} exceeds the maximum of {MAX_COMPLEXITY}. "
                                   "Ask for fewer items per page (first) or fewer nested connections.",
                                   "INPUT_ERROR", userError=True)], 400, headers)
        headers = {**headers, "X-Complexity": str(points)}
        ctx = _Context(self.world.linear, request)
        with self.world.lock:
            result = execute(schema, document, root_value=_Root(ctx), context_value=ctx,
                             variable_values=variables, operation_name=operation_name)
        if result.data is None and result.errors:
            return _errors([_graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in result.errors], 400, headers)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [_resolver_error(e) for e in result.errors]
        return Response.json(body, 200, headers)

    # ---- rate limits -------------------------------------------------------------------------
    def _take(self, key: str) -> tuple[int, float]:
        """Counts a request in the key's window: (remaining after it, negative when over; reset)."""
        now = time.time()
        with self._lock:
            reset, used = self._windows.get(key, (0.0, 0))
            if now >= reset:
                reset, used = now + self.window_s, 0
            used += 1
            self._windows[key] = (reset, used)
        return self.requests_limit - used, reset

    def _limit_headers(self, remaining: int, reset: float) -> dict[str, str]:
        return {"X-RateLimit-Requests-Limit": str(self.requests_limit),
                "X-RateLimit-Requests-Remaining": str(max(0, remaining)),
                "X-RateLimit-Requests-Reset": str(int(reset * 1000))}


@functools.lru_cache(maxsize=256)
def _parsed(schema: GraphQLSchema, query: str) -> tuple[Any, list[GraphQLError]]:
    """A document and its validation errors (clients send the same few documents again and again)."""
    document = parse(query)
    return document, validate(schema, document)


def _api_key(request: Request) -> str | None:
    header = (request.header("Authorization") or "").strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return header if header.startswith(ACCEPTED_KEY_PREFIX) and len(header) > len(ACCEPTED_KEY_PREFIX) else None


def _error(message: str, code: str, **extensions: Any) -> dict:
    user_error = code not in ("INTERNAL_SERVER_ERROR",)
    return {"message": message, "extensions": {"code": code, "userError": user_error, **extensions}}


def _graphql_error(error: GraphQLError, code: str) -> dict:
    data = error.formatted
    data["extensions"] = {"code": code, "type": "graphql error", "userError": True}
    return data


def _resolver_error(error: GraphQLError) -> dict:
    data = error.formatted
    original = error.original_error
    code = original.code if isinstance(original, LinearError) else "INTERNAL_SERVER_ERROR"
    if original is None:  # a non-null field the sandbox does not hold
        code = "INTERNAL_SERVER_ERROR"
    data["extensions"] = {"code": code, "userError": code != "INTERNAL_SERVER_ERROR"}
    return data


def _errors(errors: list[dict], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response.json({"errors": errors}, status, headers)


# ---- complexity ------------------------------------------------------------------------------

def complexity(schema: GraphQLSchema, document, operation_name: str | None, variables: dict) -> int:
    """Linear's complexity estimate of the operation (rounded up)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)),
                     None)
    if operation is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = schema.get_root_type(operation.operation)

    def page_size(field: FieldNode) -> int:
        for argument in field.arguments:
            if argument.name.value in ("first", "last"):
                value = argument.value
                if isinstance(value, VariableNode):
                    given = variables.get(value.name.value)
                    return given if isinstance(given, int) else DEFAULT_FIRST
                return int(getattr(value, "value", DEFAULT_FIRST))
        return DEFAULT_FIRST

    def cost(selection_set, parent) -> float:
        total = 0.0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields = getattr(parent, "fields", {})
                definition = fields.get(selection.name.value)
                if definition is None or selection.selection_set is None:
                    total += 0.1
                    continue
                named = get_named_type(definition.type)
                inner = cost(selection.selection_set, named)
                total += 1 + (page_size(selection) * inner if named.name.endswith("Connection") else inner)
            elif isinstance(selection, InlineFragmentNode):
                target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                total += cost(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
                fragment = fragments[selection.name.value]
                total += cost(fragment.selection_set, schema.get_type(fragment.type_condition.name.value))
        return total

    return int(-(-cost(operation.selection_set, root) // 1))


# ---- execution context and pagination --------------------------------------------------------

class _Context:
    def __init__(self, ws: LinearWorkspace, request: Request):
        self.ws = ws
        self.request = request
        self.fault_used = False

    def take_fault(self) -> str | None:
        """The pagination fault of this request, for its first top-level connection only."""
        if self.fault_used:
            return None
        self.fault_used = True
        return self.request.take_fault() if self.request.fault else None


_ORDER_ATTR = {"createdAt": "created_at", "updatedAt": "updated_at"}


def _when(obj: Any, attr: str) -> datetime:
    value = getattr(obj, attr)
    return value if isinstance(value, datetime) else obj.updated_at  # a bad record's unparsable time


def _encode(key: tuple[datetime, str] | None, flag: str = "") -> str:
    text = "start" if key is None else f"{iso(key[0])}|{key[1]}"
    return base64.urlsafe_b64encode(f"{text}|{flag}".encode()).decode()


def _decode(cursor: str) -> tuple[tuple[datetime, str] | None, str]:
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        if parts[0] == "start":
            return None, parts[1]
        return (parse_iso(parts[0]), parts[1]), parts[2]
    except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
        raise LinearError(f"Invalid cursor {cursor[:40]!r}") from None


def _check_filter(filter_: dict | None) -> None:
    for name, comparator in (filter_ or {}).items():
        if name not in ("updatedAt", "createdAt", "id"):
            raise LinearError(f"The sandbox does not implement the filter field {name!r} (updatedAt, createdAt, id)")
        allowed = ("eq", "in") if name == "id" else ("eq", "gt", "gte", "lt", "lte")
        for op in comparator or {}:
            if op not in allowed:
                raise LinearError(f"The sandbox does not implement {name}.{op} (only {', '.join(allowed)})")


def _matches(obj: Any, filter_: dict | None) -> bool:
    for name, comparator in (filter_ or {}).items():
        for op, raw in (comparator or {}).items():
            if name == "id":
                if (op == "eq" and obj.id != raw) or (op == "in" and obj.id not in raw):
                    return False
                continue
            value = _when(obj, _ORDER_ATTR[name])
            try:
                bound = parse_iso(str(raw))
            except ValueError:
                raise LinearError(f"Invalid DateTimeOrDuration {raw!r}: the sandbox takes ISO 8601 datetimes") from None
            if not {"eq": value == bound, "gt": value > bound, "gte": value >= bound,
                    "lt": value < bound, "lte": value <= bound}[op]:
                return False
    return True


def connection(ctx: _Context, items: list, wrap: Callable[[Any], Any], args: dict, *, root: bool,
               archived: Callable[[Any], bool] | None = None) -> dict:
    """A Relay connection over ``items`` with Linear's arguments; see the module docstring."""
    if args.get("last") is not None or args.get("before") is not None:
        raise LinearError("The sandbox paginates forward only: use first and after.")
    if args.get("sort"):
        raise LinearError("The sandbox does not implement sort; use orderBy.")
    first = DEFAULT_FIRST if args.get("first") is None else args["first"]
    if not 0 <= first <= MAX_FIRST:
        raise LinearError(f"first must be between 0 and {MAX_FIRST}, not {first}")
    _check_filter(args.get("filter"))
    attr = _ORDER_ATTR[args.get("orderBy") or "createdAt"]
    if archived is not None and not args.get("includeArchived"):
        items = [item for item in items if not archived(item)]
    keyed = sorted(((_when(item, attr), item.id), item) for item in items if _matches(item, args.get("filter")))
    keys = [k for k, _ in keyed]
    after, flag = _decode(args["after"]) if args.get("after") else (None, "")
    start = 0 if after is None else bisect_right(keys, after)
    if flag == "loop":  # a repeat_cursor fault sticks to its cursor
        page = keyed[start:start + first]
        return _page(page, wrap, has_next=True, end_cursor=args["after"])
    fault = ctx.take_fault() if root else None
    before_start = keys[start - 1] if start > 0 else None
    again = int(flag.rpartition(":")[2] or 0) + 1 if flag.startswith(("empty:", "dup:")) else 1
    if fault == "empty_page" and start < len(keys):
        return _page([], wrap, has_next=True, end_cursor=_encode(before_start, f"empty:{again}"))
    page = keyed[start:start + first]
    if fault == "duplicate_page" and page:
        return _page(page, wrap, has_next=True, end_cursor=_encode(before_start, f"dup:{again}"))
    if fault == "repeat_cursor" and page:
        return _page(page, wrap, has_next=True, end_cursor=_encode(before_start, "loop"))
    end = _encode(page[-1][0]) if page else (args.get("after") or None)
    return _page(page, wrap, has_next=start + first < len(keys), end_cursor=end)


def _page(page: list, wrap: Callable[[Any], Any], *, has_next: bool, end_cursor: str | None) -> dict:
    nodes = [wrap(item) for _, item in page]
    edges = [{"node": node, "cursor": _encode(key)} for node, (key, _) in zip(nodes, page)]
    return {"nodes": nodes, "edges": edges,
            "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": False,
                         "startCursor": edges[0]["cursor"] if edges else None, "endCursor": end_cursor}}


# ---- resolvers: the schema's types over the world's objects -----------------------------------
# graphql-core's default resolver reads an attribute named like the field, and calls it with
# (info, **arguments) when it is a method: each node class below is one Linear type.

def _is_archived(obj: Any) -> bool:
    return getattr(obj, "archived_at", None) is not None


class _Root:
    def __init__(self, ctx: _Context):
        self.ctx, self.ws = ctx, ctx.ws

    def organization(self, info) -> _Organization:
        return _Organization(self.ctx)

    def viewer(self, info) -> _User:
        admin = next(u for u in self.ws.users.values() if u.admin)
        return _User(self.ctx, admin)

    def issue(self, info, id: str) -> _Issue:
        return _Issue(self.ctx, self.ws.issue(id))

    def issues(self, info, **args) -> dict:
        return connection(self.ctx, list(self.ws.issues.values()), self.ctx_issue, args, root=True,
                          archived=_is_archived)

    def comment(self, info, id: str | None = None, **args) -> _Comment:
        comment = self.ws.comments.get(id) if id else None
        if comment is None:
            raise LinearError(f"Entity not found: Comment {id}")
        return _Comment(self.ctx, comment)

    # -- mutations (Mutation shares this root) ----------------------------------------------------
    def commentCreate(self, info, input: dict) -> dict:
        if not input.get("issueId"):
            raise LinearError("The sandbox creates issue comments only: give issueId.")
        viewer = next(u.id for u in self.ws.users.values() if u.admin)  # the key's user writes it
        comment_id = self.ws.add_comment(input["issueId"], input.get("body") or "", user_id=viewer,
                                         comment_id=input.get("id"))
        return {"success": True, "comment": _Comment(self.ctx, self.ws.comments[comment_id]),
                "lastSyncId": float(self.ws.version)}

    def issueCreate(self, info, input: dict) -> dict:
        issue = self.ws.create_issue(
            input["teamId"], input.get("title") or "", issue_id=input.get("id"), description=input.get("description"),
            state_id=input.get("stateId"), assignee_id=input.get("assigneeId"), priority=input.get("priority") or 0,
            estimate=input.get("estimate"), label_ids=input.get("labelIds"), parent_id=input.get("parentId"),
            project_id=input.get("projectId"))
        return {"success": True, "issue": _Issue(self.ctx, issue), "lastSyncId": float(self.ws.version)}

    def comments(self, info, **args) -> dict:
        return connection(self.ctx, list(self.ws.comments.values()), lambda c: _Comment(self.ctx, c), args, root=True,
                          archived=lambda c: _is_archived(self.ws.issues[c.issue_id]))

    def teams(self, info, **args) -> dict:
        return connection(self.ctx, list(self.ws.teams.values()), lambda t: _Team(self.ctx, t), args, root=True)

    def workflowStates(self, info, **args) -> dict:
        return connection(self.ctx, list(self.ws.states.values()), lambda s: _State(self.ctx, s), args, root=True)

    def users(self, info, **args) -> dict:
        users = [u for u in self.ws.users.values() if u.listed and (u.active or args.get("includeDisabled"))]
        return connection(self.ctx, users, lambda u: _User(self.ctx, u), args, root=True)

    def projects(self, info, **args) -> dict:
        return connection(self.ctx, list(self.ws.projects.values()), lambda p: _Project(self.ctx, p), args, root=True)

    def cycles(self, info, **args) -> dict:
        return connection(self.ctx, list(self.ws.cycles.values()), lambda c: _Cycle(self.ctx, c), args, root=True)

    def issueLabels(self, info, **args) -> dict:
        return connection(self.ctx, list(self.ws.labels.values()), lambda label: _Label(self.ctx, label), args,
                          root=True)

    def ctx_issue(self, issue: Issue) -> _Issue:
        return _Issue(self.ctx, issue)


class _Node:
    __slots__ = ("ctx", "o")

    def __init__(self, ctx: _Context, obj: Any):
        self.ctx, self.o = ctx, obj

    @property
    def id(self) -> str:
        return self.o.id

    @property
    def createdAt(self) -> str:
        value = self.o.created_at
        return iso(value) if isinstance(value, datetime) else value

    @property
    def updatedAt(self) -> str:
        return iso(self.o.updated_at)

    @property
    def archivedAt(self) -> str | None:
        return iso(getattr(self.o, "archived_at", None))

    def _user(self, user_id: str | None) -> _User | None:
        return _User(self.ctx, self.ctx.ws.users[user_id]) if user_id else None


class _Organization(_Node):
    __slots__ = ()

    def __init__(self, ctx: _Context):
        super().__init__(ctx, ctx.ws.organization)

    @property
    def updatedAt(self) -> str:
        return iso(self.o.created_at)

    @property
    def name(self) -> str:
        return self.o.name

    @property
    def urlKey(self) -> str:
        return self.o.url_key

    @property
    def userCount(self) -> int:
        return sum(1 for u in self.ctx.ws.users.values() if u.active and u.listed)

    @property
    def previousUrlKeys(self) -> list[str]:
        return []


class _User(_Node):
    __slots__ = ()
    o: User

    name = property(lambda self: self.o.name)
    displayName = property(lambda self: self.o.display_name)
    email = property(lambda self: self.o.email)
    active = property(lambda self: self.o.active)
    admin = property(lambda self: self.o.admin)
    app = guest = isMe = owner = property(lambda self: False)
    avatarUrl = property(lambda self: None)
    url = property(lambda self: f"https://linear.app/{self.ctx.ws.organization.url_key}/profiles/{self.o.display_name}")


class _Team(_Node):
    __slots__ = ()
    o: Team

    key = property(lambda self: self.o.key)
    name = displayName = property(lambda self: self.o.name)
    timezone = property(lambda self: self.o.timezone)
    private = property(lambda self: False)
    triageEnabled = property(lambda self: self.o.triage_enabled)
    cyclesEnabled = property(lambda self: self.o.cycles_enabled)

    def states(self, info, **args) -> dict:
        states = [s for s in self.ctx.ws.states.values() if s.team_id == self.o.id]
        return connection(self.ctx, states, lambda s: _State(self.ctx, s), args, root=False)


class _State(_Node):
    __slots__ = ()
    o: State

    name = property(lambda self: self.o.name)
    type = property(lambda self: self.o.type)
    position = property(lambda self: self.o.position)
    color = property(lambda self: self.o.color)
    description = property(lambda self: None)
    team = property(lambda self: _Team(self.ctx, self.ctx.ws.teams[self.o.team_id]))


class _Project(_Node):
    __slots__ = ()
    o: Project

    name = property(lambda self: self.o.name)
    state = property(lambda self: self.o.state)
    description = property(lambda self: "")
    startedAt = property(lambda self: iso(self.o.started_at))
    completedAt = property(lambda self: iso(self.o.completed_at))
    canceledAt = property(lambda self: iso(self.o.canceled_at))
    targetDate = property(lambda self: self.o.target_date.isoformat() if self.o.target_date else None)
    url = property(lambda self: f"https://linear.app/{self.ctx.ws.organization.url_key}/project/{self.o.id}")


class _Cycle(_Node):
    __slots__ = ()
    o: Cycle

    number = property(lambda self: self.o.number)
    name = description = property(lambda self: None)
    startsAt = property(lambda self: iso(self.o.starts_at))
    endsAt = property(lambda self: iso(self.o.ends_at))
    completedAt = property(lambda self: iso(self.o.completed_at))
    team = property(lambda self: _Team(self.ctx, self.ctx.ws.teams[self.o.team_id]))


class _Label(_Node):
    __slots__ = ()
    o: Label

    name = property(lambda self: self.o.name)
    color = property(lambda self: self.o.color)
    description = property(lambda self: None)
    isGroup = property(lambda self: False)
    parent = property(lambda self: None)
    team = property(lambda self: _Team(self.ctx, self.ctx.ws.teams[self.o.team_id]) if self.o.team_id else None)


class _Issue(_Node):
    __slots__ = ()
    o: Issue

    identifier = property(lambda self: self.o.identifier)
    number = property(lambda self: self.o.number)
    title = property(lambda self: self.o.title)
    description = property(lambda self: self.o.description)
    priority = property(lambda self: self.o.priority)
    priorityLabel = property(lambda self: PRIORITY_LABELS[self.o.priority])
    estimate = property(lambda self: self.o.estimate)
    url = property(lambda self: self.o.url)
    branchName = property(lambda self: self.o.identifier.lower())
    labelIds = property(lambda self: list(self.o.label_ids))
    previousIdentifiers = property(lambda self: [])
    trashed = property(lambda self: None)
    startedAt = property(lambda self: iso(self.o.started_at))
    completedAt = property(lambda self: iso(self.o.completed_at))
    canceledAt = property(lambda self: iso(self.o.canceled_at))
    state = property(lambda self: _State(self.ctx, self.ctx.ws.states[self.o.state_id]))
    team = property(lambda self: _Team(self.ctx, self.ctx.ws.teams[self.o.team_id]))
    assignee = property(lambda self: self._user(self.o.assignee_id))
    creator = property(lambda self: self._user(self.o.creator_id))

    @property
    def project(self) -> _Project | None:
        return _Project(self.ctx, self.ctx.ws.projects[self.o.project_id]) if self.o.project_id else None

    @property
    def cycle(self) -> _Cycle | None:
        return _Cycle(self.ctx, self.ctx.ws.cycles[self.o.cycle_id]) if self.o.cycle_id else None

    @property
    def parent(self) -> _Issue | None:
        return _Issue(self.ctx, self.ctx.ws.issues[self.o.parent_id]) if self.o.parent_id else None

    def history(self, info, **args) -> dict:
        # Served in the order it happened; the connection pages by position, as createdAt may tie.
        entries = list(self.o.history)
        return _positional(self.ctx, entries, lambda h: _History(self.ctx, h), args)

    def comments(self, info, **args) -> dict:
        comments = [self.ctx.ws.comments[c] for c in self.o.comment_ids]
        return connection(self.ctx, comments, lambda c: _Comment(self.ctx, c), args, root=False)

    def children(self, info, **args) -> dict:
        children = [i for i in self.ctx.ws.issues.values() if i.parent_id == self.o.id]
        return connection(self.ctx, children, lambda i: _Issue(self.ctx, i), args, root=False, archived=_is_archived)

    def labels(self, info, **args) -> dict:
        labels = [self.ctx.ws.labels[label] for label in self.o.label_ids]
        return connection(self.ctx, labels, lambda label: _Label(self.ctx, label), args, root=False)


class _History(_Node):
    __slots__ = ()
    o: HistoryEntry

    @property
    def updatedAt(self) -> str:
        return self.createdAt

    actorId = property(lambda self: self.o.actor_id)
    actor = property(lambda self: self._user(self.o.actor_id))
    issue = property(lambda self: _Issue(self.ctx, self.ctx.ws.issues[self.o.issue_id]))
    fromStateId = property(lambda self: self.o.from_state_id)
    toStateId = property(lambda self: self.o.to_state_id)
    fromState = property(lambda self: self._state(self.o.from_state_id))
    toState = property(lambda self: self._state(self.o.to_state_id))
    fromPriority = property(lambda self: self.o.from_priority)
    toPriority = property(lambda self: self.o.to_priority)
    fromAssigneeId = property(lambda self: self.o.from_assignee_id)
    toAssigneeId = property(lambda self: self.o.to_assignee_id)
    fromAssignee = property(lambda self: self._user(self.o.from_assignee_id))
    toAssignee = property(lambda self: self._user(self.o.to_assignee_id))
    addedLabelIds = property(lambda self: self.o.added_label_ids)
    removedLabelIds = property(lambda self: None)
    archived = property(lambda self: None)

    def _state(self, state_id: str | None) -> _State | None:
        return _State(self.ctx, self.ctx.ws.states[state_id]) if state_id else None


class _Comment(_Node):
    __slots__ = ()
    o: Comment

    body = property(lambda self: self.o.body)
    editedAt = property(lambda self: iso(self.o.edited_at))
    issueId = property(lambda self: self.o.issue_id)
    issue = property(lambda self: _Issue(self.ctx, self.ctx.ws.issues[self.o.issue_id]))
    user = property(lambda self: self._user(self.o.user_id))
    parent = resolvedAt = property(lambda self: None)
    url = property(lambda self: f"{self.ctx.ws.issues[self.o.issue_id].url}#comment-{self.o.id[:8]}")


def _positional(ctx: _Context, items: list, wrap: Callable[[Any], Any], args: dict) -> dict:
    """A nested connection paged by position (history, served in the order it happened)."""
    if args.get("last") is not None or args.get("before") is not None:
        raise LinearError("The sandbox paginates forward only: use first and after.")
    first = DEFAULT_FIRST if args.get("first") is None else args["first"]
    if not 0 <= first <= MAX_FIRST:
        raise LinearError(f"first must be between 0 and {MAX_FIRST}, not {first}")
    start = 0
    if args.get("after"):
        try:
            start = int(base64.urlsafe_b64decode(args["after"].encode()).decode().removeprefix("pos:"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise LinearError(f"Invalid cursor {args['after'][:40]!r}") from None
    page = items[start:start + first]
    nodes = [wrap(item) for item in page]

    def cursor(position: int) -> str:
        return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode()

    edges = [{"node": node, "cursor": cursor(start + i + 1)} for i, node in enumerate(nodes)]
    return {"nodes": nodes, "edges": edges,
            "pageInfo": {"hasNextPage": start + first < len(items), "hasPreviousPage": start > 0,
                         "startCursor": edges[0]["cursor"] if edges else None,
                         "endCursor": cursor(start + len(page)) if page else args.get("after")}}
