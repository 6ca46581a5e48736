from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.deps import CurrentUser, PostRegistrar, SessionDep, SettingsDep
from app.http import model_response, problems
from app.limits import PostCode
from app.pagination import Cursor, Limit, page_size
from app.posts import service
from app.posts.models import Region
from app.posts.schemas import PostIn, PostOut, PostPage, PostUpdate

router = APIRouter(prefix="/posts", tags=["posts"])


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=PostOut, responses=problems(403, 409)
)
def create_post(data: PostIn, session: SessionDep, actor: PostRegistrar):
    """Register a post (administrators)."""
    post = service.create_post(session, data)
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
    post = service.update_post(session, service.get_post(session, code), data)
    return model_response(PostOut.model_validate(post))


@router.post("/{code}/deactivate", response_model=PostOut, responses=problems(403))
def deactivate_post(code: PostCode, session: SessionDep, actor: PostRegistrar):
    """Deactivate a post: it keeps its history but can no longer be tasked."""
    post = service.deactivate_post(session, service.get_post(session, code))
    return model_response(PostOut.model_validate(post))
