"""How an error is answered: problem JSON (RFC 9457) for the API, a readable page for a
browser. The services raise app/errors.py's family; nothing else translates them."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db import is_busy
from app.errors import MAX_LISTED_ERRORS, DomainError, clip, problem
from app.headers import security_headers
from app.web import render

log = logging.getLogger("app.errors")

# Seconds a client is asked to wait after a busy database's 503: the lock waits it
# meets last milliseconds, so a second is ample and keeps a retrying client gentle.
BUSY_RETRY_AFTER = 1


def _field_path(loc: tuple[Any, ...]) -> str:
    return clip(".".join(str(p) for p in loc if p != "body") or "body")


# A path parameter that no record could have (an id past the INTEGER columns' range,
# or below 1; a code longer than any code): the path names nothing, as for a missing
# record. Malformed ones (not a number at all) stay a 422. See app/limits.py.
_OUT_OF_RANGE = {"greater_than_equal", "less_than_equal", "string_too_long"}


def _names_nothing(errors: list[Any]) -> bool:
    return any(e["loc"][:1] == ("path",) and e.get("type") in _OUT_OF_RANGE for e in errors)


def wants_html(request: Request) -> bool:
    """Pages get a readable page; the API, its document and the probes get problem JSON."""
    path = request.url.path
    return not (path.startswith(("/api/", "/health/")) or path in ("/openapi.json", "/health"))


def html_error(request: Request, status: int, title: str, detail: str) -> Response:
    if status == 401:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return render(request, "error.html", status_code=status, title=title, detail=detail)


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path, for a 405's `Allow` (RFC 9110: all of
    them). Starlette's router stops at the first route whose path matches, so the 405 it
    raises names that route's methods only (`GET` for a path that takes PATCH too)."""
    scope = {
        "type": "http",
        "method": request.method,
        "path": request.scope["path"],
        "root_path": request.scope.get("app_root_path", ""),
    }
    methods: set[str] = set()
    for route in routing.iter_route_contexts(request.app.routes):
        if route.matches(scope)[0] is Match.NONE:
            continue
        if route.methods:
            methods |= route.methods
        elif isinstance(getattr(route.original_route, "app", None), StaticFiles):
            methods |= {"GET", "HEAD"}
    return ", ".join(sorted(methods))


def server_error(path: str) -> JSONResponse:
    """The 500 for an exception nothing expected, with the headers every answer carries."""
    return problem(
        500,
        "Internal server error",
        "Something went wrong on our side; nothing was saved.",
        instance=path,
        headers=security_headers(path),
    )


class AnswerUnexpectedErrors:
    """An exception nothing handled is answered here with the 500 problem JSON, logged
    once with its traceback, and not raised further.

    Starlette's ServerErrorMiddleware (outside every middleware) would answer it too,
    but then re-raises it, and uvicorn closes the connection of any request whose
    exception reaches it: every keep-alive client lost its connection on every 500.
    Installed innermost, so the 500 passes through the other middleware like any
    answer. An exception after the answer has started is raised on: half an answer is
    out, and only closing the connection can tell the client it is not whole.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            await server_error(scope["path"])(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """The exception handlers, and AnswerUnexpectedErrors: call it before adding any
    other middleware, so that it sits inside them all."""
    app.add_middleware(AnswerUnexpectedErrors)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if wants_html(request):
            return html_error(request, exc.status, exc.title, exc.detail)
        headers = {"WWW-Authenticate": 'Bearer realm="demarche"'} if exc.status == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            instance=request.url.path,
            type_slug=exc.type_slug,
            headers=headers or None,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if _names_nothing(list(errors)):
            if wants_html(request):
                return html_error(request, 404, "Not found", "There is no such record.")
            return problem(
                404,
                "Not found",
                "There is no such record.",
                instance=request.url.path,
                type_slug="not-found",
            )
        if wants_html(request):
            listed = "; ".join(
                f"{_field_path(tuple(e['loc']))}: {clip(e['msg'])}" for e in errors[:5]
            )
            return html_error(request, 422, "Please check the form", listed)
        if any(e.get("type") == "json_invalid" for e in errors):
            first = next(e for e in errors if e.get("type") == "json_invalid")
            msg = (first.get("ctx") or {}).get("error", "invalid JSON")
            return problem(
                400,
                "Malformed JSON",
                f"The request body is not valid JSON: {msg}.",
                instance=request.url.path,
                type_slug="malformed-json",
            )
        # Listed in full only up to the bound (problem() clips and counts the rest too);
        # building 85,000 entries to throw them away would cost what the bound saves.
        fields = [
            {"field": _field_path(tuple(e["loc"])), "message": clip(e["msg"])}
            for e in errors[:MAX_LISTED_ERRORS]
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        more: dict[str, Any] = {}
        if len(errors) > len(fields):
            more["errors_omitted"] = len(errors) - len(fields)
        return problem(
            422,
            "Invalid request",
            detail,
            instance=request.url.path,
            type_slug="validation",
            errors=fields,
            **more,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {
            400: "Bad request",
            404: "Not found",
            405: "Method not allowed",
            413: "Content too large",
        }
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route matches {request.url.path}."
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
            detail = f"{request.method} is not one of the methods {request.url.path} takes."
        if wants_html(request):
            page = html_error(
                request, exc.status_code, titles.get(exc.status_code, "Error"), detail
            )
            page.headers.update(headers)
            return page
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            detail,
            instance=request.url.path,
            headers=headers or None,
        )

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        # Two writers passed the If-Match check at once; the version column let one win.
        return problem(
            412,
            "Precondition failed",
            "Someone else changed this record at the same moment; reload it and try again.",
            instance=request.url.path,
            type_slug="stale-version",
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(request: Request, exc: Exception) -> Response:
        # A busy database (a lock not granted in time, a serialization failure, a
        # deadlock, no free connection) is no bug: the request rolled back, and the
        # same one is likely to succeed in a moment. Anything else is a 500.
        if not is_busy(exc):
            return await _unexpected(request, exc)
        log.warning(
            "database busy on %s %s: %s", request.method, request.url.path, type(exc).__name__
        )
        title = "Service busy"
        detail = "The database is busy; nothing was saved. Retry in a moment."
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
        if wants_html(request):
            page = html_error(request, 503, title, detail)
            page.headers.update(headers)
            return page
        return problem(
            503, title, detail, instance=request.url.path, type_slug="busy", headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Only what AnswerUnexpectedErrors cannot catch (an exception in another
        # middleware) comes here: Starlette answers it outside every middleware, so the
        # headers go on here, and re-raises it.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return server_error(request.url.path)
