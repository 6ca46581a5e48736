"""The administrator's pages over the post registry: posts and collectives.

Thin over app/posts/service.py and reads.py, the same commands and reader as
/api/v1/posts and /api/v1/collectives. Each POST checks the version its form was read
at, redirects on success (?done=...), and a refusal re-renders the form with the
reason beside its field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cables import matching
from app.clock import DEFAULT_ZONE
from app.concurrency import require_version
from app.deps import SessionDep
from app.errors import DomainError, PreconditionFailed
from app.forms import field_errors
from app.limits import PostCode, RecordId
from app.pagination import Cursor
from app.posts import reads, service
from app.posts.models import Post, PostKind, Region
from app.posts.schemas import CollectiveIn, CollectiveUpdate, MembershipIn, PostIn, PostUpdate
from app.web import CsrfChecked, PagePostRegistrar, render

router = APIRouter(include_in_schema=False)

DONE = {
    "created": "Saved.",
    "changed": "Saved.",
    "member": "Member added.",
    "ended": "Membership ended.",
}
POSTS_PAGE = 200


def _notice(request: Request) -> str:
    return DONE.get(request.query_params.get("done", ""), "")


def _field_of(exc: DomainError, default: str) -> str:
    """Which field a service's refusal belongs beside."""
    text = exc.detail.lower()
    for field, words in (
        ("routing_indicator", "routing indicator"),
        ("code", "code"),
        ("name", "named"),
        ("post", "post"),
        ("valid_to", "end"),
    ):
        if words in text:
            return field
    return default


def _kinds() -> dict[str, Any]:
    return {
        "kinds": [(k.value, k.value) for k in PostKind],
        "regions": [(r.value, r.value) for r in Region],
    }


# -- posts ----------------------------------------------------------------------------


def _posts_page(
    request: Request,
    session: Session,
    *,
    cursor: str | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    posts, next_cursor = service.list_posts(session, limit=POSTS_PAGE, cursor=cursor)
    return render(
        request,
        "admin/posts.html",
        status_code=status_code,
        posts=posts,
        next_cursor=next_cursor,
        form=form or {"kind": PostKind.EMBASSY.value},
        errors=errors or {},
        notice=_notice(request),
        **_kinds(),
    )


@router.get("/admin/posts", name="admin_posts")
def list_posts(
    request: Request, session: SessionDep, actor: PagePostRegistrar, cursor: Cursor = None
) -> HTMLResponse:
    return _posts_page(request, session, cursor=cursor)


PostField = Annotated[str, Form(max_length=120)]


@router.post("/admin/posts", dependencies=[CsrfChecked])
def add_post(
    request: Request,
    session: SessionDep,
    actor: PagePostRegistrar,
    code: Annotated[str, Form(max_length=32)] = "",
    name: PostField = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    city: Annotated[str, Form(max_length=80)] = "",
    country: Annotated[str, Form(max_length=80)] = "",
    routing_indicator: Annotated[str, Form(max_length=16)] = "",
    region: Annotated[str, Form(max_length=8)] = "",
    time_zone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    form = {
        "code": code,
        "name": name,
        "kind": kind,
        "city": city,
        "country": country,
        "routing_indicator": routing_indicator,
        "region": region,
        "time_zone": time_zone,
    }
    try:
        data = PostIn(
            **{
                **form,
                "routing_indicator": routing_indicator or None,
                # Empty: the default (UTC), which the post's officers see on every date.
                "time_zone": time_zone or DEFAULT_ZONE,
            }
        )
    except ValidationError as exc:
        return _posts_page(request, session, form=form, errors=field_errors(exc), status_code=422)
    try:
        post = service.create_post(session, data, actor=actor)
        matching.rematch_senders(session)
    except DomainError as exc:
        session.rollback()
        errors = {_field_of(exc, "code"): exc.detail}
        return _posts_page(request, session, form=form, errors=errors, status_code=exc.status)
    return RedirectResponse(f"/admin/posts/{post.code}?done=created", status_code=303)


def _post_page(
    request: Request,
    session: Session,
    code: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    post = service.get_post(session, code)
    current = {
        "name": post.name,
        "kind": post.kind.value,
        "city": post.city,
        "country": post.country,
        "routing_indicator": post.routing_indicator or "",
        "region": post.region.value,
        "active": "yes" if post.active else "no",
        "time_zone": post.time_zone,
    }
    return render(
        request,
        "admin/post.html",
        status_code=status_code,
        post=post,
        form=form or current,
        errors=errors or {},
        notice=_notice(request),
        **_kinds(),
    )


@router.get("/admin/posts/{code}", name="admin_post")
def show_post(
    request: Request, code: PostCode, session: SessionDep, actor: PagePostRegistrar
) -> HTMLResponse:
    return _post_page(request, session, code)


@router.post("/admin/posts/{code}", dependencies=[CsrfChecked])
def change_post(
    request: Request,
    code: PostCode,
    session: SessionDep,
    actor: PagePostRegistrar,
    version: Annotated[int, Form()],
    name: PostField = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    city: Annotated[str, Form(max_length=80)] = "",
    country: Annotated[str, Form(max_length=80)] = "",
    routing_indicator: Annotated[str, Form(max_length=16)] = "",
    region: Annotated[str, Form(max_length=8)] = "",
    active: Annotated[str, Form(max_length=3)] = "yes",
    time_zone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    form = {
        "name": name,
        "kind": kind,
        "city": city,
        "country": country,
        "routing_indicator": routing_indicator,
        "region": region,
        "active": active,
        "time_zone": time_zone,
    }
    post = service.get_post(session, code)  # 404 first
    try:
        require_version("post", post, form_version=version)
        data = PostUpdate(
            **{
                **form,
                "routing_indicator": routing_indicator or None,
                "active": active == "yes",
                "time_zone": time_zone or None,  # empty: leave it as it is
            }
        )
    except ValidationError as exc:
        return _post_page(
            request, session, code, form=form, errors=field_errors(exc), status_code=422
        )
    except PreconditionFailed as exc:
        return _post_page(request, session, code, errors={"form": exc.detail}, status_code=412)
    try:
        service.update_post(session, post, data, actor=actor)
    except DomainError as exc:
        session.rollback()
        errors = {_field_of(exc, "form"): exc.detail}
        return _post_page(request, session, code, form=form, errors=errors, status_code=exc.status)
    return RedirectResponse(f"/admin/posts/{post.code}?done=changed", status_code=303)


# -- collectives ----------------------------------------------------------------------


def _collectives_page(
    request: Request,
    session: Session,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    collectives, _ = reads.list_collectives(session, limit=500)
    today = date.today()
    rows = [(c, len(reads.members_on(session, c, today))) for c in collectives]
    return render(
        request,
        "admin/collectives.html",
        status_code=status_code,
        rows=rows,
        today=today,
        form=form or {},
        errors=errors or {},
        notice=_notice(request),
    )


@router.get("/admin/collectives", name="admin_collectives")
def list_collectives(
    request: Request, session: SessionDep, actor: PagePostRegistrar
) -> HTMLResponse:
    return _collectives_page(request, session)


@router.post("/admin/collectives", dependencies=[CsrfChecked])
def add_collective(
    request: Request,
    session: SessionDep,
    actor: PagePostRegistrar,
    code: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=120)] = "",
    routing_indicator: Annotated[str, Form(max_length=16)] = "",
    all_posts: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    form = {
        "code": code,
        "name": name,
        "routing_indicator": routing_indicator,
        "all_posts": all_posts,
    }
    try:
        data = CollectiveIn(
            code=code,
            name=name,
            routing_indicator=routing_indicator or None,
            all_posts=all_posts == "yes",
        )
    except ValidationError as exc:
        return _collectives_page(
            request, session, form=form, errors=field_errors(exc), status_code=422
        )
    try:
        c = service.create_collective(session, data, actor=actor)
    except DomainError as exc:
        session.rollback()
        errors = {_field_of(exc, "code"): exc.detail}
        return _collectives_page(request, session, form=form, errors=errors, status_code=exc.status)
    return RedirectResponse(f"/admin/collectives/{c.code}?done=created", status_code=303)


def _collective_page(
    request: Request,
    session: Session,
    code: str,
    *,
    form: dict[str, Any] | None = None,
    member_form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    c = reads.get_collective(session, code)
    today = date.today()
    posts = [
        (p, f"{p}: {n}")
        for p, n in session.execute(
            select(Post.code, Post.name).where(Post.active.is_(True)).order_by(Post.code)
        )
    ]
    current = {
        "name": c.name,
        "routing_indicator": c.routing_indicator or "",
        "all_posts": "yes" if c.all_posts else "",
    }
    return render(
        request,
        "admin/collective.html",
        status_code=status_code,
        c=c,
        today=today,
        members=reads.members_on(session, c, today),
        post_choices=posts,
        form=form or current,
        member_form=member_form or {"valid_from": today.isoformat()},
        errors=errors or {},
        notice=_notice(request),
    )


@router.get("/admin/collectives/{code}", name="admin_collective")
def show_collective(
    request: Request, code: PostCode, session: SessionDep, actor: PagePostRegistrar
) -> HTMLResponse:
    return _collective_page(request, session, code)


@router.post("/admin/collectives/{code}", dependencies=[CsrfChecked])
def change_collective(
    request: Request,
    code: PostCode,
    session: SessionDep,
    actor: PagePostRegistrar,
    version: Annotated[int, Form()],
    name: Annotated[str, Form(max_length=120)] = "",
    routing_indicator: Annotated[str, Form(max_length=16)] = "",
    all_posts: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    form = {"name": name, "routing_indicator": routing_indicator, "all_posts": all_posts}
    c = reads.get_collective(session, code)  # 404 first
    try:
        require_version("collective", c, form_version=version)
        data = CollectiveUpdate(
            name=name, routing_indicator=routing_indicator or None, all_posts=all_posts == "yes"
        )
    except ValidationError as exc:
        return _collective_page(
            request, session, code, form=form, errors=field_errors(exc), status_code=422
        )
    except PreconditionFailed as exc:
        return _collective_page(
            request, session, code, errors={"form": exc.detail}, status_code=412
        )
    try:
        service.update_collective(session, c, data, actor=actor)
    except DomainError as exc:
        session.rollback()
        errors = {_field_of(exc, "form"): exc.detail}
        return _collective_page(
            request, session, code, form=form, errors=errors, status_code=exc.status
        )
    return RedirectResponse(f"/admin/collectives/{c.code}?done=changed", status_code=303)


def _date_or_none(text: str) -> str | None:
    return text.strip() or None


@router.post("/admin/collectives/{code}/members", dependencies=[CsrfChecked])
def add_member(
    request: Request,
    code: PostCode,
    session: SessionDep,
    actor: PagePostRegistrar,
    post: Annotated[str, Form(max_length=32)] = "",
    valid_from: Annotated[str, Form(max_length=10)] = "",
    valid_to: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    member_form = {"post": post, "valid_from": valid_from, "valid_to": valid_to}
    c = reads.get_collective(session, code)
    try:
        data = MembershipIn(
            post=post,
            valid_from=_date_or_none(valid_from),  # type: ignore[arg-type]
            valid_to=_date_or_none(valid_to),  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        return _collective_page(
            request,
            session,
            code,
            member_form=member_form,
            errors=field_errors(exc),
            status_code=422,
        )
    try:
        service.add_member(session, c, data, actor=actor)
    except DomainError as exc:
        session.rollback()
        errors = {_field_of(exc, "post"): exc.detail}
        return _collective_page(
            request, session, code, member_form=member_form, errors=errors, status_code=exc.status
        )
    return RedirectResponse(f"/admin/collectives/{c.code}?done=member", status_code=303)


@router.post("/admin/collectives/{code}/members/{membership_id}/end", dependencies=[CsrfChecked])
def end_membership(
    request: Request,
    code: PostCode,
    membership_id: RecordId,
    session: SessionDep,
    actor: PagePostRegistrar,
    valid_to: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    c = reads.get_collective(session, code)
    m = service.get_membership(c, membership_id)  # 404 for another collective's
    try:
        try:
            last = date.fromisoformat(valid_to)
        except ValueError:
            return _collective_page(
                request,
                session,
                code,
                errors={f"end-{m.id}": "Give the last day of the membership, as YYYY-MM-DD."},
                status_code=422,
            )
        service.end_membership(session, c, m, last, actor=actor)
    except DomainError as exc:
        session.rollback()
        return _collective_page(
            request,
            session,
            code,
            errors={f"end-{membership_id}": exc.detail},
            status_code=exc.status,
        )
    return RedirectResponse(f"/admin/collectives/{c.code}?done=ended", status_code=303)
