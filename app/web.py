"""What every server-rendered page shares: templates, the signed-in user, CSRF, banners."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from app.auth.credentials import CredentialCache
from app.auth.models import Role, User, WebSession
from app.auth.policy import Permission, allows, has_inbox, has_reply_import, require
from app.auth.service import session_for_cookie
from app.classification import Classification
from app.clock import local_time
from app.deps import SessionDep
from app.errors import DomainError, Forbidden
from app.notifications.reads import unread_count

log = logging.getLogger("app.access")

SESSION_COOKIE = "dmt_session"
LOGIN_CSRF_COOKIE = "dmt_login_csrf"

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))


@lru_cache(maxsize=1024)
def words(name: str) -> str:
    """A state, position or action as words: "mark_unable" -> "mark unable". Cached, and
    cheaper than `replace` under autoescape: a long page writes a few hundred of them."""
    return str(name).replace("_", " ")


def strftime(value: date, fmt: str) -> str:
    """A date or time in this format: as a filter, it skips the template's checks on calls."""
    return value.strftime(fmt)


templates.env.filters["words"] = words
templates.env.filters["strftime"] = strftime
# A stored UTC moment on a post's clock, naming the zone: {{ at | local_time(zone) }}.
templates.env.filters["local_time"] = local_time


class LoginRequired(DomainError):
    """A page asked for by someone not signed in: the handler redirects to /login."""

    status, title, type_slug = 401, "Sign in required", "login-required"


@dataclass(frozen=True, slots=True)
class PostLabel:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user as every page shows them, read when the cookie is resolved.

    An error page renders after the request's session has ended, and a write that
    failed has rolled it back, expiring every row it held: what the page header needs
    must not be left to load from the database then.
    """

    full_name: str
    role: Role
    post: PostLabel | None
    csrf_token: str
    # What the header links to, as the policy decides it (templates never check a role).
    has_inbox: bool
    writes_demarches: bool
    imports_replies: bool
    manages_users: bool
    manages_posts: bool
    # The bell: the user's unread notifications (read for a page, not for a form post).
    unread: int = 0

    @classmethod
    def of(cls, ws: WebSession) -> Viewer:
        user, post = ws.user, ws.user.post
        return cls(
            full_name=user.full_name,
            role=user.role,
            post=PostLabel(post.code, post.name) if post is not None else None,
            csrf_token=ws.csrf_token,
            has_inbox=has_inbox(user),
            writes_demarches=allows(user, Permission.WRITE_DEMARCHES),
            imports_replies=has_reply_import(user),
            manages_users=allows(user, Permission.MANAGE_USERS),
            manages_posts=allows(user, Permission.MANAGE_POSTS),
        )


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


async def current_web_session(request: Request, session: SessionDep) -> WebSession:
    """The signed-in browser's session, from the worker's credential cache when it can
    (see app/auth/credentials.py), else from the database.

    Only a session cookie: an API token sent as the cookie is no session (looked up as
    one, it is found as nothing), and the page asks the browser to sign in."""
    cookie = request.cookies.get(SESSION_COOKIE)
    ws: WebSession | None = None
    if cookie:
        cache: CredentialCache = request.app.state.credentials
        ws = await cache.resolve(session, WebSession, cookie, session_for_cookie)
    if ws is None:
        log.info("denied user=- route=%s reason=no valid session", request.url.path)
        raise LoginRequired("Sign in to see this page.")
    request.state.user = ws.user
    request.state.web_session = ws
    viewer = Viewer.of(ws)
    if request.method == "GET":
        # One indexed count (app/notifications/reads.py), read now: an error page renders
        # after the session has ended.
        count = await run_in_threadpool(unread_count, session, ws.user_id)
        viewer = replace(viewer, unread=count)
    request.state.viewer = viewer
    return ws


WebSessionDep = Annotated[WebSession, Depends(current_web_session)]


async def page_user(ws: WebSessionDep) -> User:
    return ws.user


PageUser = Annotated[User, Depends(page_user)]


def page_permitted(permission: Permission) -> Callable[..., Awaitable[User]]:
    """The signed-in user, once the policy grants their role this permission (else 403,
    as a page): for pages that act on no record."""

    async def permitted_page_user(request: Request, user: PageUser) -> User:
        require(user, permission, route=request.url.path)
        return user

    return permitted_page_user


PageDemarcheWriter = Annotated[User, Depends(page_permitted(Permission.WRITE_DEMARCHES))]
PageCableIngester = Annotated[User, Depends(page_permitted(Permission.INGEST_CABLES))]
PageAdministrator = Annotated[User, Depends(page_permitted(Permission.MANAGE_USERS))]
PagePostRegistrar = Annotated[User, Depends(page_permitted(Permission.MANAGE_POSTS))]


async def check_csrf(
    request: Request, ws: WebSessionDep, csrf_token: Annotated[str, Form()] = ""
) -> None:
    """Every form POST carries the session's CSRF token; a forged or missing one is refused."""
    if not csrf_token or not hmac.compare_digest(csrf_token, ws.csrf_token):
        log.warning(
            "denied user=%s route=%s reason=bad csrf token", ws.user.username, request.url.path
        )
        raise Forbidden("This form has expired or did not come from this site; reload the page.")


CsrfChecked = Depends(check_csrf)


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    banner: Classification | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page with the user, the CSRF token and the classification banner.

    The banner is the highest classification of what the page shows; pages pass it,
    and it defaults to UNCLASSIFIED.
    """
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": viewer,
            "csrf_token": viewer.csrf_token if viewer else "",
            "banner": (banner or Classification.UNCLASSIFIED).value,
            **context,
        },
        status_code=status_code,
    )
