"""The administrator's pages: the landing page, and users (add, change, disable, reset a
password, revoke tokens).

Thin over app/auth/service.py, as the /api/v1/users routes are: the policy's admin rules
(app/auth/policy.py) refuse what an administrator may not do, and every change is
audited there. Each POST checks the version its form was read at, redirects on success
(?done=...), and a refusal re-renders the form with the reason beside its field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import service
from app.auth.models import ApiToken, Role, User
from app.auth.policy import Permission, allows, deny
from app.auth.schemas import UserIn, UserUpdate
from app.classification import Classification
from app.concurrency import require_version
from app.deps import SessionDep
from app.errors import DomainError, Forbidden, Invalid, PreconditionFailed
from app.forms import field_errors
from app.limits import UserName
from app.pagination import Cursor
from app.posts.models import Collective, Post
from app.web import CsrfChecked, PageAdministrator, PageUser, render

router = APIRouter(include_in_schema=False)

DONE = {
    "created": "User added.",
    "changed": "User saved.",
    "password": "Password reset: the user's browser sessions were signed out.",
    "tokens": "Every token of the user was revoked.",
}
USERS_PAGE = 100


@router.get("/admin", name="admin")
def admin_home(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    # Any administrator's landing page; the links it offers follow the viewer's flags.
    if not (allows(user, Permission.MANAGE_USERS) or allows(user, Permission.MANAGE_POSTS)):
        raise deny(
            user,
            "Administration (users, posts, collectives) is for administrators.",
            reason="admin page without an admin permission",
            route=request.url.path,
        )
    counts = {
        "users": session.scalar(select(func.count()).select_from(User)) or 0,
        "active_users": session.scalar(
            select(func.count()).select_from(User).where(User.active.is_(True))
        )
        or 0,
        "posts": session.scalar(select(func.count()).select_from(Post)) or 0,
        "collectives": session.scalar(select(func.count()).select_from(Collective)) or 0,
    }
    return render(request, "admin/index.html", counts=counts)


def _post_choices(session: Session) -> list[tuple[str, str]]:
    return [
        (code, f"{code}: {name}")
        for code, name in session.execute(
            select(Post.code, Post.name).where(Post.active.is_(True)).order_by(Post.code)
        )
    ]


def _choices(session: Session, actor: User) -> dict[str, Any]:
    return {
        "roles": [(r.value, r.value.replace("_", " ")) for r in Role],
        # An administrator grants at most their own clearance: offer no more.
        "clearances": [(c.value, c.value) for c in Classification if c <= actor.clearance],
        "post_choices": _post_choices(session),
    }


def _users_page(
    request: Request,
    session: Session,
    actor: User,
    *,
    cursor: str | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    users, next_cursor = service.list_users(session, limit=USERS_PAGE, cursor=cursor)
    return render(
        request,
        "admin/users.html",
        status_code=status_code,
        users=users,
        next_cursor=next_cursor,
        form=form or {"role": Role.DESK_OFFICER.value, "clearance": Classification.SBU.value},
        errors=errors or {},
        notice=DONE.get(request.query_params.get("done", ""), ""),
        **_choices(session, actor),
    )


@router.get("/admin/users", name="admin_users")
def list_users(
    request: Request, session: SessionDep, actor: PageAdministrator, cursor: Cursor = None
) -> HTMLResponse:
    return _users_page(request, session, actor, cursor=cursor)


def _field_of(exc: DomainError, default: str) -> str:
    """Which field a service's refusal belongs beside."""
    text = exc.detail.lower()
    if isinstance(exc, Forbidden) or "clearance" in text:
        return "clearance"
    if "post" in text:
        return "post"
    if "already exists" in text or "username" in text:
        return "username"
    return default


@router.post("/admin/users", dependencies=[CsrfChecked])
def add_user(
    request: Request,
    session: SessionDep,
    actor: PageAdministrator,
    username: Annotated[str, Form(max_length=64)] = "",
    full_name: Annotated[str, Form(max_length=120)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    clearance: Annotated[str, Form(max_length=32)] = "",
    post: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    form = {
        "username": username,
        "full_name": full_name,
        "role": role,
        "clearance": clearance,
        "post": post,
    }
    try:
        data = UserIn(**{**form, "post": post or None, "password": password or None})
    except ValidationError as exc:
        return _users_page(
            request, session, actor, form=form, errors=field_errors(exc), status_code=422
        )
    try:
        user = service.add_user(
            session,
            username=data.username,
            full_name=data.full_name,
            role=data.role,
            clearance=data.clearance,
            post_code=data.post,
            password=data.password,
            actor=actor,
        )
    except DomainError as exc:
        session.rollback()
        errors = {_field_of(exc, "username"): exc.detail}
        return _users_page(
            request, session, actor, form=form, errors=errors, status_code=exc.status
        )
    return RedirectResponse(f"/admin/users/{user.username}?done=created", status_code=303)


def _user_page(
    request: Request,
    session: Session,
    actor: User,
    username: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    target = service.get_user(session, username)
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == target.id).order_by(ApiToken.id)
    ).all()
    current = {
        "full_name": target.full_name,
        "role": target.role.value,
        "clearance": target.clearance.value,
        "post": target.post.code if target.post else "",
        "active": "yes" if target.active else "no",
    }
    choices = _choices(session, actor)
    if target.clearance > actor.clearance:  # shown as it is, though not offered to grant
        choices["clearances"].append((target.clearance.value, target.clearance.value))
    return render(
        request,
        "admin/user.html",
        status_code=status_code,
        target=target,
        tokens=tokens,
        form=form or current,
        errors=errors or {},
        itself=target.id == actor.id,
        notice=DONE.get(request.query_params.get("done", ""), ""),
        **choices,
    )


@router.get("/admin/users/{username}", name="admin_user")
def show_user(
    request: Request, username: UserName, session: SessionDep, actor: PageAdministrator
) -> HTMLResponse:
    return _user_page(request, session, actor, username)


@router.post("/admin/users/{username}", dependencies=[CsrfChecked])
def change_user(
    request: Request,
    username: UserName,
    session: SessionDep,
    actor: PageAdministrator,
    version: Annotated[int, Form()],
    full_name: Annotated[str, Form(max_length=120)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    clearance: Annotated[str, Form(max_length=32)] = "",
    post: Annotated[str, Form(max_length=32)] = "",
    active: Annotated[str, Form(max_length=3)] = "yes",
) -> Response:
    form = {
        "full_name": full_name,
        "role": role,
        "clearance": clearance,
        "post": post,
        "active": active,
    }
    target = service.get_user(session, username)  # 404 first
    try:
        require_version("user", target, form_version=version)
        data = UserUpdate(
            full_name=full_name,
            role=role,  # type: ignore[arg-type]
            clearance=clearance,  # type: ignore[arg-type]
            post=post or None,
            active=active == "yes",
        )
    except ValidationError as exc:
        return _user_page(
            request, session, actor, username, form=form, errors=field_errors(exc), status_code=422
        )
    except PreconditionFailed as exc:
        return _user_page(
            request, session, actor, username, errors={"form": exc.detail}, status_code=412
        )
    try:
        service.update_user(
            session,
            target,
            actor=actor,
            role=data.role,
            clearance=data.clearance,
            # A post only for a post officer: the form's post is ignored for other roles.
            post_code=data.post if data.role == Role.POST_OFFICER else None,
            active=data.active,
            full_name=data.full_name,
        )
        session.flush()
    except DomainError as exc:
        session.rollback()
        field = "form" if isinstance(exc, Forbidden) and "own" in exc.detail else None
        errors = {field or _field_of(exc, "form"): exc.detail}
        return _user_page(
            request, session, actor, username, form=form, errors=errors, status_code=exc.status
        )
    return RedirectResponse(f"/admin/users/{target.username}?done=changed", status_code=303)


@router.post("/admin/users/{username}/password", dependencies=[CsrfChecked])
def reset_password(
    request: Request,
    username: UserName,
    session: SessionDep,
    actor: PageAdministrator,
    password: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    target = service.get_user(session, username)
    try:
        if password != confirm:
            raise Invalid("The two passwords differ: type the same one twice.")
        service.reset_password(session, target, password, actor=actor)
    except DomainError as exc:
        session.rollback()
        return _user_page(
            request,
            session,
            actor,
            username,
            errors={"password": exc.detail},
            status_code=exc.status,
        )
    return RedirectResponse(f"/admin/users/{target.username}?done=password", status_code=303)


@router.post("/admin/users/{username}/tokens/revoke", dependencies=[CsrfChecked])
def revoke_tokens(
    request: Request, username: UserName, session: SessionDep, actor: PageAdministrator
) -> Response:
    target = service.get_user(session, username)
    try:
        service.revoke_tokens(session, target, actor=actor)
    except DomainError as exc:
        session.rollback()
        return _user_page(
            request, session, actor, username, errors={"tokens": exc.detail}, status_code=exc.status
        )
    return RedirectResponse(f"/admin/users/{target.username}?done=tokens", status_code=303)
