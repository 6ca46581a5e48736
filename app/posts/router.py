from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from app.cables import matching
from app.concurrency import IfMatch, require_version, set_etag
from app.deps import CurrentUser, PostRegistrar, SessionDep, SettingsDep
from app.http import model_response, problems, sends_etag
from app.limits import IsoDate, PostCode, RecordId
from app.pagination import Cursor, Limit, page_size
from app.posts import reads, service
from app.posts.models import Collective, Region
from app.posts.schemas import (
    CollectiveIn,
    CollectiveOut,
    CollectivePage,
    CollectiveUpdate,
    MembershipEnd,
    MembershipIn,
    MembershipOut,
    PostIn,
    PostOut,
    PostPage,
    PostUpdate,
)

router = APIRouter(prefix="/posts", tags=["posts"])
collectives = APIRouter(prefix="/collectives", tags=["collectives"])


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=PostOut, responses=problems(403, 409)
)
def create_post(data: PostIn, session: SessionDep, actor: PostRegistrar):
    """Register a post (administrators)."""
    post = service.create_post(session, data, actor=actor)
    # The reports filed before their sender was registered find it now.
    matching.rematch_senders(session)
    return model_response(PostOut.model_validate(post), status_code=status.HTTP_201_CREATED)


@router.get("", response_model=PostPage)
def list_posts(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    region: Region | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=80)] = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """List posts by code, filtered by region, active flag or text in code, name or country."""
    size = page_size(limit, settings)
    items, next_cursor = service.list_posts(
        session, region=region, active=active, q=q, limit=size, cursor=cursor
    )
    page = PostPage(
        items=[PostOut.model_validate(p) for p in items], next_cursor=next_cursor, limit=size
    )
    return model_response(page)


@router.get("/{code}", response_model=PostOut)
def get_post(code: PostCode, session: SessionDep, actor: CurrentUser):
    """One post by its code."""
    return model_response(PostOut.model_validate(service.get_post(session, code)))


@router.patch("/{code}", response_model=PostOut, responses=problems(403, 409))
def update_post(code: PostCode, data: PostUpdate, session: SessionDep, actor: PostRegistrar):
    """Change a post's fields (administrators)."""
    post = service.update_post(session, service.get_post(session, code), data, actor=actor)
    return model_response(PostOut.model_validate(post))


@router.post("/{code}/deactivate", response_model=PostOut, responses=problems(403))
def deactivate_post(code: PostCode, session: SessionDep, actor: PostRegistrar):
    """Deactivate a post: it keeps its history but can no longer be tasked."""
    post = service.deactivate_post(session, service.get_post(session, code), actor=actor)
    return model_response(PostOut.model_validate(post))


# -- collectives ---------------------------------------------------------------------

CollectiveCode = Annotated[str, Path(max_length=32, description="The collective's code, e.g. UNSC")]
# The day a collective's members are read for: today unless asked.
OnDay = Annotated[IsoDate | None, Query(description="Members on this day (default today)")]


def collective_out(session: Session, c: Collective, on: date | None = None) -> CollectiveOut:
    day = on or date.today()
    return CollectiveOut(
        id=c.id,
        code=c.code,
        name=c.name,
        routing_indicator=c.routing_indicator,
        all_posts=c.all_posts,
        memberships=[
            MembershipOut(
                id=m.id,
                post=m.post.code,
                post_name=m.post.name,
                valid_from=m.valid_from,
                valid_to=m.valid_to,
            )
            for m in c.memberships
        ],
        members_on=day,
        members=[p.code for p in reads.members_on(session, c, day)],
    )


@collectives.get("", response_model=CollectivePage)
def list_collectives(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    on: OnDay = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """List collectives by code, each with its memberships and its members on a day."""
    size = page_size(limit, settings)
    items, next_cursor = reads.list_collectives(session, limit=size, cursor=cursor)
    page = CollectivePage(
        items=[collective_out(session, c, on) for c in items], next_cursor=next_cursor, limit=size
    )
    return model_response(page)


@collectives.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CollectiveOut,
    responses=problems(403, 409) | sends_etag(201),
)
def create_collective(data: CollectiveIn, session: SessionDep, actor: PostRegistrar):
    """Register a collective and its first members (administrators); audited."""
    c = service.create_collective(session, data, actor=actor)
    c = reads.get_collective(session, c.code)
    response = model_response(collective_out(session, c), status_code=status.HTTP_201_CREATED)
    set_etag(response, "collective", c)
    return response


@collectives.get("/{code}", response_model=CollectiveOut, responses=sends_etag())
def get_collective(code: CollectiveCode, session: SessionDep, actor: CurrentUser, on: OnDay = None):
    """One collective by its code: every membership, and its members on a day."""
    c = reads.get_collective(session, code)
    response = model_response(collective_out(session, c, on))
    set_etag(response, "collective", c)
    return response


@collectives.patch(
    "/{code}", response_model=CollectiveOut, responses=problems(403, 409) | sends_etag()
)
def update_collective(
    code: CollectiveCode,
    data: CollectiveUpdate,
    session: SessionDep,
    actor: PostRegistrar,
    if_match: IfMatch = None,
):
    """Rename a collective, change its routing indicator or whether it stands for every
    active post (administrators); send If-Match with the ETag you read."""
    c = reads.get_collective(session, code)
    require_version("collective", c, if_match=if_match)
    service.update_collective(session, c, data, actor=actor)
    response = model_response(collective_out(session, c))
    set_etag(response, "collective", c)
    return response


@collectives.post(
    "/{code}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=MembershipOut,
    responses=problems(403, 409),
)
def add_member(code: CollectiveCode, data: MembershipIn, session: SessionDep, actor: PostRegistrar):
    """A post joins the collective from a day until a day, both included (administrators)."""
    c = reads.get_collective(session, code)
    m = service.add_member(session, c, data, actor=actor)
    out = MembershipOut(
        id=m.id,
        post=m.post.code,
        post_name=m.post.name,
        valid_from=m.valid_from,
        valid_to=m.valid_to,
    )
    return model_response(out, status_code=status.HTTP_201_CREATED)


@collectives.post(
    "/{code}/members/{membership_id}/end",
    response_model=MembershipOut,
    responses=problems(403, 409),
)
def end_membership(
    code: CollectiveCode,
    membership_id: RecordId,
    data: MembershipEnd,
    session: SessionDep,
    actor: PostRegistrar,
):
    """End a membership after a day (administrators): kept, so older cables still
    resolve to the members of their day."""
    c = reads.get_collective(session, code)
    m = service.end_membership(
        session, c, service.get_membership(c, membership_id), data.valid_to, actor=actor
    )
    out = MembershipOut(
        id=m.id,
        post=m.post.code,
        post_name=m.post.name,
        valid_from=m.valid_from,
        valid_to=m.valid_to,
    )
    return model_response(out)
