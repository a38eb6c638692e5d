"""A local HTTP server that speaks the wire formats of the services pmflow ingests.

Services are mounted by path prefix (``/slack/api/``, ``/openai/``; Linear and GitHub later), each
in its own module as a ``Service`` subclass or an ASGI app (``AsgiService``); to add one, append it
to ``default_services``. The
server counts requests per (service, endpoint), logs every request's parameter names, injects
faults from a ``FaultPlan`` and can add a fixed latency to every request.

Admin routes (never faulted, never counted), for a sandbox running in another process:
``GET /_sandbox/stats``, ``GET /_sandbox/requests``, ``POST /_sandbox/reset_stats``,
``GET|POST /_sandbox/faults`` (JSON ``FaultPlan`` fields; ``null`` or ``{}`` disables faults) and
``POST /_sandbox/world/<mutation>`` (JSON keyword arguments for one of ``WORLD_MUTATIONS``).
"""
from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from connectors.sandbox.faults import GENERIC_KINDS, PAGINATION_KINDS, Fault, FaultPlan

if TYPE_CHECKING:
    from connectors.sandbox.world import World

ADMIN_PREFIX = "/_sandbox/"
FAULT_HEADER = "x-sandbox-fault"  # to an ASGI app: the pagination fault drawn for this request
FAULT_APPLIED_HEADER = "x-sandbox-fault-applied"  # from it: the fault it applied (stripped before sending)
WORLD_MUTATIONS = ("post_message", "add_reply", "edit_message", "delete_message", "grow_old_history",
                   "move_ticket", "update_ticket", "archive_ticket", "add_ticket_comment", "edit_ticket_comment",
                   "add_linear_bad_records")
WORLD_MUTATIONS += ("github_update_pr", "github_close_pr", "github_reopen_pr", "github_add_review",
                    "github_add_comment", "github_edit_comment", "github_add_bad_records")


@dataclass
class Request:
    """One HTTP request. ``params`` merges the query string with a form or JSON body."""

    method: str
    path: str  # percent-decoded, without the query string
    target: str  # the request line's target as sent: raw path and query string
    headers: Message
    body: bytes
    query: dict[str, str]
    params: dict[str, Any]
    body_error: str | None = None  # "invalid_json" when a JSON body does not parse
    subpath: str = ""  # the path after the service's prefix
    fault: str | None = None  # a pagination fault for the service to apply
    fault_applied: bool = False

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def take_fault(self) -> str | None:
        """The pagination fault to apply (if any); marks it applied for the fault counters."""
        self.fault_applied = self.fault is not None
        return self.fault


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


class Service:
    """A mounted API. Subclasses set ``name`` and ``prefix`` and implement ``handle``."""

    name = ""
    prefix = ""  # e.g. "/slack/api/"; a request path starting with it is routed here

    def endpoint(self, request: Request) -> str:
        """The name requests are counted and faulted under (default: the path after the prefix)."""
        return request.subpath

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def fault_kinds(self, endpoint: str) -> frozenset[str]:
        """The fault kinds that make sense for ``endpoint``."""
        return GENERIC_KINDS

    def rate_limited(self, retry_after_s: int) -> Response:
        return Response.json({"error": "rate limited"}, 429, {"Retry-After": str(retry_after_s)})

    def server_error(self, status: int) -> Response:
        reason = "Internal Server Error" if status == 500 else "Service Unavailable"
        return Response(status, reason.encode(), {"Content-Type": "text/plain; charset=utf-8"})

    def ok_false(self) -> Response:
        raise NotImplementedError(f"{self.name} has no ok_false fault")


class AsgiService(Service):
    """Mounts an ASGI application (e.g. a FastAPI app) under ``prefix``.

    ``make_app`` builds the app on the first request (so a service nobody calls costs nothing).
    The app sees the full request path, so an app whose routes already include the prefix mounts
    as ``AsgiService("openai", "/openai/", lambda: create_app(...))``. Requests are counted under
    the path after the prefix; every generic fault applies. Endpoints for which ``paginated``
    is true also take the pagination faults: the one drawn reaches the app as the
    ``x-sandbox-fault`` request header, and the app names the fault it applied in an
    ``x-sandbox-fault-applied`` response header, which is counted and stripped.
    """

    def __init__(self, name: str, prefix: str, make_app: Callable[[], Callable], *,
                 paginated: Callable[[str], bool] | None = None):
        self.name = name
        self.prefix = prefix
        self._make_app = make_app
        self._paginated = paginated
        self._app: Callable | None = None
        self._lock = threading.Lock()

    def fault_kinds(self, endpoint: str) -> frozenset[str]:
        if self._paginated is not None and self._paginated(endpoint):
            return GENERIC_KINDS | frozenset(PAGINATION_KINDS)
        return GENERIC_KINDS

    def handle(self, request: Request) -> Response:
        with self._lock:
            if self._app is None:
                self._app = self._make_app()
        return asyncio.run(self._call(request))

    async def _call(self, request: Request) -> Response:
        target = urlsplit(request.target)
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
            "scheme": "http", "path": request.path, "raw_path": target.path.encode(), "root_path": "",
            "query_string": target.query.encode(), "server": ("127.0.0.1", 0), "client": ("127.0.0.1", 0),
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in request.headers.items() if name.lower() != FAULT_HEADER]
                       + ([(FAULT_HEADER.encode(), request.fault.encode())] if request.fault else []),
        }
        received = False
        response = Response(body=b"")

        async def receive() -> dict:
            nonlocal received
            if received:
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": request.body, "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                response.status = message["status"]
                response.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in message.get("headers", [])
                                    if k.lower() != b"content-length"}
            elif message["type"] == "http.response.body":
                response.body += message.get("body", b"")

        await self._app(scope, receive, send)
        if response.headers.pop(FAULT_APPLIED_HEADER, None):
            request.take_fault()
        return response


def default_services(world: World) -> list[Service]:
    from connectors.sandbox.slack_api import SlackService

    from connectors.sandbox.linear_api import LinearService

    from connectors.sandbox.github_api import GitHubService

    openai = AsgiService("openai", "/openai/", lambda: _openai_app(world),
                         paginated=lambda endpoint: endpoint.startswith("v1/organization/"))
    return [SlackService(world), openai, LinearService(world), GitHubService(world)]


def _openai_app(world: World) -> Callable:
    """Imported on first use (FastAPI, numpy). ``org_for`` is the world's one organization, shared
    with tests that read its ground truth."""
    from connectors.sandbox import openai_api, openai_data

    return openai_api.create_app(openai_data.org_for(world))


class LoggedRequest(NamedTuple):
    service: str
    endpoint: str
    http_method: str
    params: tuple[str, ...]  # sorted parameter names (query + body)


class SandboxServer:
    """``with SandboxServer(world) as server: ...`` serves ``world`` on 127.0.0.1:<free port>."""

    def __init__(self, world: World, faults: FaultPlan | None = None, latency_s: float = 0.0, *,
                 host: str = "127.0.0.1", port: int = 0, services: list[Service] | None = None):
        self.world = world
        self.faults = faults
        self.latency_s = latency_s
        self._address = (host, port)
        self._services = list(services if services is not None else default_services(world))
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._stats_lock = threading.Lock()
        self.request_log: list[LoggedRequest] = []
        self._requests: Counter = Counter()
        self._faults_injected: Counter = Counter()

    # ---- lifecycle ---------------------------------------------------------------------------
    def mount(self, service: Service) -> None:
        self._services.append(service)

    def start(self) -> SandboxServer:
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(self._address, _Handler)
        self._httpd.sandbox = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in latency/slow/timeout faults
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def service(self, name: str) -> Service:
        """The mounted service called ``name`` (e.g. to read what the Linear service received)."""
        return next(s for s in self._services if s.name == name)

    def service_url(self, name: str) -> str:
        return self.url + next(s.prefix for s in self._services if s.name == name)

    @property
    def slack_api_url(self) -> str:
        """Base URL for ``slack_sdk.WebClient(base_url=...)`` (ends with "/")."""
        return self.service_url("slack")

    @property
    def linear_api_url(self) -> str:
        """Linear's GraphQL endpoint (LINEAR_API_URL)."""
        return self.service_url("linear") + "graphql"

    @property
    def github_api_url(self) -> str:
        """GitHub's REST base URL (GITHUB_API_URL), without a trailing slash."""
        return self.service_url("github").rstrip("/")

    @property
    def openai_base_url(self) -> str:
        """Base URL for ``openai.OpenAI(base_url=...)`` (OPENAI_BASE_URL)."""
        return self.service_url("openai") + "v1"

    # ---- accounting ------------------------------------------------------------------------
    def stats(self) -> dict:
        """{"total": n, "requests": {service: {endpoint: n}}, "faults": {kind: n}}."""
        with self._stats_lock:
            per_service: dict[str, dict[str, int]] = {}
            for (service, endpoint), count in sorted(self._requests.items()):
                per_service.setdefault(service, {})[endpoint] = count
            return {"total": sum(self._requests.values()), "requests": per_service,
                    "faults": dict(sorted(self._faults_injected.items()))}

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._requests.clear()
            self._faults_injected.clear()
            self.request_log.clear()

    def _count(self, service: Service, endpoint: str, request: Request) -> None:
        with self._stats_lock:
            self._requests[(service.name, endpoint)] += 1
            names = tuple(sorted(request.params))
            self.request_log.append(LoggedRequest(service.name, endpoint, request.method, names))

    def _count_fault(self, kind: str) -> None:
        with self._stats_lock:
            self._faults_injected[kind] += 1

    # ---- serving -----------------------------------------------------------------------------
    def _serve(self, handler: _Handler) -> None:
        request = _read_request(handler)
        if request.path.startswith(ADMIN_PREFIX):
            _write(handler, self._admin(request))
            return
        service = next((s for s in self._services if request.path.startswith(s.prefix)), None)
        if service is None:
            _write(handler, Response.json({"error": "not_found", "path": request.path}, 404))
            return
        request.subpath = request.path[len(service.prefix):]
        endpoint = service.endpoint(request)
        self._count(service, endpoint, request)
        fault = self._draw(service, endpoint, request)
        if self.latency_s:
            self._stopping.wait(self.latency_s)
        self._serve_with_fault(handler, service, request, fault)

    def _draw(self, service: Service, endpoint: str, request: Request) -> Fault | None:
        if self.faults is None:
            return None
        key = (service.name, endpoint, request.body, tuple(sorted(request.query.items())))
        return self.faults.draw(service.name, endpoint, service.fault_kinds(endpoint), key)

    def _serve_with_fault(self, handler: _Handler, service: Service, request: Request, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        if kind in PAGINATION_KINDS:
            request.fault = kind
            _write(handler, service.handle(request))
            if request.fault_applied:
                self._count_fault(kind)
            return
        if kind is not None:
            self._count_fault(kind)
        if kind == "ratelimit":
            _write(handler, service.rate_limited(self.faults.retry_after_s))
        elif kind == "server_error":
            _write(handler, service.server_error(fault.status))
        elif kind == "ok_false":
            _write(handler, service.ok_false())
        else:
            self._serve_after_handling(handler, service.handle(request), kind)

    def _serve_after_handling(self, handler: _Handler, response: Response, kind: str | None) -> None:
        """Faults that hit after the request took effect: slow, timeout, malformed, reset."""
        if kind == "slow":
            self._stopping.wait(self.faults.slow_delay_s)
        elif kind == "timeout":
            self._stopping.wait(self.faults.timeout_delay_s)
            if self.faults.timeout_then == "drop":
                handler.close_connection = True
                return
        elif kind == "malformed_json":
            response.body = response.body[: max(1, len(response.body) // 2)]
        elif kind == "reset":
            _write_then_reset(handler, response)
            return
        _write(handler, response)

    # ---- admin -------------------------------------------------------------------------------
    def _admin(self, request: Request) -> Response:
        route = request.path[len(ADMIN_PREFIX):]
        try:
            if route == "stats" and request.method == "GET":
                return Response.json(self.stats())
            if route == "requests" and request.method == "GET":
                return Response.json([list(entry) for entry in self.request_log])
            if route == "reset_stats" and request.method == "POST":
                self.reset_stats()
                return Response.json({"ok": True})
            if route == "faults":
                if request.method == "POST":
                    plan = json.loads(request.body or b"null")
                    self.faults = FaultPlan.from_dict(plan) if plan else None
                return Response.json(self.faults.to_dict() if self.faults else None)
            if route.startswith("world/") and request.method == "POST":
                return Response.json({"ok": True, "result": self._mutate(route[len("world/"):], request.body)})
        except (ValueError, TypeError, KeyError) as error:
            return Response.json({"ok": False, "error": str(error)}, 400)
        return Response.json({"ok": False, "error": f"unknown admin route {request.method} {request.path}"}, 404)

    def _mutate(self, name: str, body: bytes) -> Any:
        if name not in WORLD_MUTATIONS:
            raise ValueError(f"unknown mutation {name!r}; known: {WORLD_MUTATIONS}")
        return getattr(self.world, name)(**json.loads(body or b"{}"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs; every response has Content-Length
    # The head and the body go out in two writes: with Nagle's algorithm on, a keep-alive client's
    # delayed ACK held every response about 40 ms (measured: 45 ms -> 4 ms a request).
    disable_nagle_algorithm = True
    server_version = "pmflow-sandbox"

    def do_GET(self) -> None:
        self.server.sandbox._serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args) -> None:
        """Silence the per-request stderr line."""


def _read_request(handler: _Handler) -> Request:
    split = urlsplit(handler.path)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    params: dict[str, Any] = dict(query)
    body_error = None
    content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if body and content_type == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed, body_error = None, "invalid_json"
        if isinstance(parsed, dict):
            params.update(parsed)
        elif body_error is None:
            body_error = "json_not_object"
    elif body and content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return Request(method=handler.command, path=unquote(split.path), target=handler.path, headers=handler.headers,
                   body=body, query=query, params=params, body_error=body_error)


def _write(handler: _Handler, response: Response) -> None:
    _write_head(handler, response)
    handler.wfile.write(response.body)


def _write_then_reset(handler: _Handler, response: Response) -> None:
    """Announce the full body, send half of it, then reset the TCP connection (RST)."""
    _write_head(handler, response)
    handler.wfile.write(response.body[: len(response.body) // 2])
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def _write_head(handler: _Handler, response: Response) -> None:
    handler.send_response(response.status)
    for name, value in response.headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(response.body)))
    handler.end_headers()
