"""The operator's view of each request: its id, its access line, its metrics; and the
restricted `/metrics` endpoint.

RequestContext wraps the whole app (outermost): it takes or makes the request id
(app/logs.py), returns it as X-Request-ID on every answer (problem JSON carries it in
its body too, app/errors.py), and when the request is done writes one access line and
counts it. The line names the route's template, the method, the status, the time and
the caller's user id (an id, not a name: the log is read by operations, who need to tell
callers apart, not to know who worked on what), never the path, query or any header.

MetricsEndpoint answers GET /metrics only to a peer in METRICS_ALLOW_IPS or to a
request with the metrics token; everyone else's request goes on into the app, where no
route has that path, so they get exactly what any unknown path gets (404), whatever
the method, headers or body. It sits inside the proxy-header middleware, so the peer it
checks is the client a trusted proxy names, not the proxy.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from typing import Any

from sqlalchemy import inspect
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.logs import new_request_id, request_id

log = logging.getLogger("app.http")

REQUEST_ID_HEADER = "X-Request-ID"
METRICS_PATH = "/metrics"
# The scope key a route outside the router (MetricsEndpoint) names its template under.
ROUTE_KEY = "demarche.route"
# Answered often, and by machines: their successful lines go to DEBUG.
_PROBES = frozenset({"/health", "/health/live", "/health/ready", METRICS_PATH})

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/api/v1/demarches/{demarche_id}`),
    `/static/{path}` for a static file, or "unmatched": never the path itself.

    A route of an included router knows only its own part of the path (FastAPI's
    routers no longer copy the prefix into it); the part before, which the router's
    prefix matched, is literal text, so it is read off the path.
    """
    named = scope.get(ROUTE_KEY)
    if isinstance(named, str):
        return named
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    regex = getattr(route, "path_regex", None)
    path: str = scope.get("path", "")
    if isinstance(template, str) and regex is not None:
        if regex.match(path):
            return template
        for i in [i for i, c in enumerate(path) if c == "/" and i] + [len(path)]:
            if regex.match(path[i:]):
                return path[:i] + template
        return template
    root = scope.get("root_path", "")
    if root and scope.get("endpoint") is not None:  # a mount (the static files)
        return f"{root}/{{path}}"
    return "unmatched"


def user_id_of(scope: Scope) -> int | None:
    """The id of the user the request's credential belonged to (request.state.user)."""
    user = (scope.get("state") or {}).get("user")
    if user is None:
        return None
    # The identity survives the session's rollback and close, which expire the columns.
    state = inspect(user, raiseerr=False)
    identity = state.identity if state is not None else None
    return int(identity[0]) if identity else None


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id(_header(scope, b"x-request-id"))
        # Not reset on the way out when the app raised: the 500 handler answers outside
        # this middleware, and its problem JSON must still carry the id. Each request runs
        # in its own task, so the value goes no further than this request.
        token = request_id.set(rid)
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        started = time.perf_counter()
        metrics.IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = status or 500
            raise
        finally:
            metrics.IN_FLIGHT.dec()
            _done(scope, status, time.perf_counter() - started)
        request_id.reset(token)


def _done(scope: Scope, status: int | None, seconds: float) -> None:
    route = route_template(scope)
    method = scope.get("method", "")
    metrics.observe_request(route, method, status, seconds)
    quiet = scope.get("path") in _PROBES and status is not None and status < 400
    client = scope.get("client")
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s %s %.1f ms",
        metrics.method_label(method),
        route,
        status if status is not None else "-",
        seconds * 1000,
        extra={
            "method": metrics.method_label(method),
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "user_id": user_id_of(scope),
            "client": client[0] if client else None,
        },
    )


def networks(spec: str) -> list[IPNetwork]:
    """ "127.0.0.1, ::1, 10.0.0.0/8" as networks (an address is a network of one)."""
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    ]


class MetricsEndpoint:
    def __init__(self, app: ASGIApp, *, allow: list[IPNetwork], token: str | None) -> None:
        self.app = app
        self.allow = allow
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == METRICS_PATH
            and scope["method"] in ("GET", "HEAD")
            and self._may_scrape(scope)
        ):
            scope[ROUTE_KEY] = METRICS_PATH
            body, media_type = await run_in_threadpool(metrics.exposition)
            await Response(body, media_type=media_type)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _may_scrape(self, scope: Scope) -> bool:
        if self.token is not None:
            scheme, _, sent = (_header(scope, b"authorization") or "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                sent.strip().encode("latin-1"), self.token
            ):
                return True
        client = scope.get("client")
        return client is not None and _in(client[0], self.allow)


def _in(host: Any, allow: list[IPNetwork]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # not an address at all ("testclient", a unix socket's peer)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in allow)
