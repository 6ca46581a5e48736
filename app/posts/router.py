from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.auth.policy import Permission, require
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.posts import service
from app.posts.models import Region
from app.posts.schemas import PostIn, PostOut, PostPage, PostUpdate

router = APIRouter(prefix="/posts", tags=["posts"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PostOut)
def create_post(data: PostIn, session: SessionDep, actor: CurrentUser, request: Request):
    """Register a post (administrators)."""
    require(actor, Permission.MANAGE_POSTS, route=request.url.path)
    return service.create_post(session, data)


@router.get("", response_model=PostPage)
def list_posts(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    region: Region | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
):
    """List posts, filtered by region, active flag or text in code, name or country."""
    limit = min(limit or settings.default_page_size, settings.max_page_size)
    items, total = service.list_posts(
        session, region=region, active=active, q=q, limit=limit, offset=offset
    )
    return PostPage(items=[PostOut.model_validate(p) for p in items], total=total)


@router.get("/{code}", response_model=PostOut)
def get_post(code: str, session: SessionDep, actor: CurrentUser):
    """One post by its code."""
    return service.get_post(session, code)


@router.patch("/{code}", response_model=PostOut)
def update_post(
    code: str, data: PostUpdate, session: SessionDep, actor: CurrentUser, request: Request
):
    """Change a post's fields (administrators)."""
    require(actor, Permission.MANAGE_POSTS, route=request.url.path)
    return service.update_post(session, service.get_post(session, code), data)


@router.post("/{code}/deactivate", response_model=PostOut)
def deactivate_post(code: str, session: SessionDep, actor: CurrentUser, request: Request):
    """Deactivate a post: it keeps its history but can no longer be tasked."""
    require(actor, Permission.MANAGE_POSTS, route=request.url.path)
    return service.deactivate_post(session, service.get_post(session, code))
