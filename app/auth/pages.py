"""Sign in and out in the browser: a server-side session cookie and CSRF on every form."""

from __future__ import annotations

import hmac
import math
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.auth import service, throttle
from app.auth.policy import has_inbox
from app.deps import SessionDep
from app.limits import NextPath
from app.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfChecked,
    WebSessionDep,
    is_https,
    render,
)

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    # Only same-site paths: never let ?next= send a signed-in user elsewhere. Browsers
    # read a backslash as a slash and drop tabs and newlines, so "/\\evil" and
    # "/\t/evil" would leave the site: any of those, or any control character, is refused.
    target = target or "/"
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
    ):
        return "/"
    return target


def _landing(next_url: str, inbox: bool) -> str:
    """Where a sign-in lands: the page asked for, else a post officer's inbox (what its
    post must do), else the dashboard. "/" is what the form sends when nothing was asked."""
    if next_url != "/":
        return next_url
    return "/inbox" if inbox else "/"


def _login_form(
    request: Request, *, next_url: str, error: str = "", username: str = "", status_code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "auth/login.html",
        status_code=status_code,
        login_csrf=token,
        next=next_url,
        error=error,
        username=username,
    )
    # Double-submit token: there is no session yet to hold it.
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/login",
    )
    return response


@router.get("/login", name="login")
def login_page(request: Request, next: NextPath = "/") -> HTMLResponse:
    return _login_form(request, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
):
    next_url = _safe_next(next)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_token or not hmac.compare_digest(csrf_token, cookie_token):
        return _login_form(
            request,
            next_url=next_url,
            username=username,
            status_code=403,
            error="The sign-in form expired; please try again.",
        )
    # The peer, or the client a configured proxy names (settings.forwarded_allow_ips,
    # applied in app/main.py); never a header anyone else sends.
    address = request.client.host if request.client else "unknown"
    attempt = throttle.claim(session, username=username, address=address)
    # Committed before the password is checked: a parallel attempt counts after this
    # one, whichever finishes first, and no lock waits on the hash.
    session.commit()
    if attempt.retry_after is not None:  # refused, and counted nowhere
        minutes = math.ceil(attempt.retry_after / 60)
        refused = _login_form(
            request,
            next_url=next_url,
            username=username,
            status_code=429,
            error=(
                "Too many failed sign-ins. Try again in "
                f"{minutes} minute{'s' if minutes != 1 else ''}."
            ),
        )
        refused.headers["Retry-After"] = str(attempt.retry_after)
        return refused
    user = service.authenticate(session, username=username, password=password, address=address)
    throttle.settle(session, attempt, signed_in=user is not None)
    if user is None:
        return _login_form(
            request,
            next_url=next_url,
            username=username,
            status_code=401,
            error="Wrong user name or password.",
        )
    opened = service.open_session(session, user=user)
    response = RedirectResponse(_landing(next_url, has_inbox(user)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.cookie,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        max_age=int(service.SESSION_TTL.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(session: SessionDep, ws: WebSessionDep):
    service.close_session(session, ws)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
