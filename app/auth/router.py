from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from app.auth import service
from app.auth.models import User
from app.auth.schemas import (
    NewToken,
    TokenIn,
    TokenOut,
    TokenPage,
    UserIn,
    UserOut,
    UserPage,
    UserUpdate,
)
from app.deps import Administrator, CurrentToken, CurrentUser, SessionDep, SettingsDep
from app.http import model_response, problems
from app.limits import RecordId, UserName
from app.pagination import Cursor, Limit, page_size

router = APIRouter(tags=["users and tokens"])


def user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        full_name=u.full_name,
        role=u.role,
        clearance=u.clearance,
        post=u.post.code if u.post else None,
        active=u.active,
    )


@router.get("/me", response_model=UserOut)
def who_am_i(actor: CurrentUser):
    """The user your credentials belong to."""
    return model_response(user_out(actor))


@router.get("/tokens", response_model=TokenPage)
def list_tokens(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Your personal access tokens (never their secrets), oldest first, by cursor."""
    size = page_size(limit, settings)
    rows, next_cursor = service.list_tokens(session, user=actor, limit=size, cursor=cursor)
    items = [TokenOut.model_validate(t) for t in rows]
    return model_response(TokenPage(items=items, next_cursor=next_cursor, limit=size))


@router.post("/tokens", response_model=NewToken, status_code=status.HTTP_201_CREATED)
def create_token(data: TokenIn, session: SessionDep, caller: CurrentToken):
    """Create a personal access token. The secret is in this answer and nowhere else.

    Only a token creates a token (a browser's session cookie is no bearer token, and
    the pages offer no token form), and never one that outlives it: a token that
    expires creates only tokens that expire no later than itself, and asking for more
    (or for none, a token that never expires) is refused with 422 and the most days
    it may have, never silently shortened. A token that never expires may create any.
    The new token is the caller's user's, with that user's rights and no more.
    """
    issued = service.issue_token(
        session,
        user=caller.user,
        name=data.name,
        ttl=timedelta(days=data.days) if data.days else None,
        minted_by=caller,
    )
    out = NewToken(**TokenOut.model_validate(issued.token).model_dump(), token=issued.secret)
    return model_response(out, status_code=status.HTTP_201_CREATED)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: RecordId, session: SessionDep, actor: CurrentUser):
    """Revoke one of your tokens; it stops working at once."""
    token = service.revoke_token(session, user=actor, token_id=token_id)
    return model_response(TokenOut.model_validate(token))


@router.get("/users", response_model=UserPage, responses=problems(403))
def list_users(
    session: SessionDep,
    actor: Administrator,
    settings: SettingsDep,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Every user by username, by cursor (administrators)."""
    size = page_size(limit, settings)
    rows, next_cursor = service.list_users(session, limit=size, cursor=cursor)
    items = [user_out(u) for u in rows]
    return model_response(UserPage(items=items, next_cursor=next_cursor, limit=size))


@router.post(
    "/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 409),
)
def create_user(data: UserIn, session: SessionDep, actor: Administrator):
    """Add a user (administrators), cleared at most as high as yourself; audited."""
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
    return model_response(user_out(user), status_code=status.HTTP_201_CREATED)


@router.patch("/users/{username}", response_model=UserOut, responses=problems(403))
def update_user(username: UserName, data: UserUpdate, session: SessionDep, actor: Administrator):
    """Change a user's role, clearance, post or active flag (administrators); audited.

    Never your own (another administrator must), and never a grant above your own
    clearance: 403. Lowering a clearance or deactivating is open to any administrator.
    """
    user = service.get_user(session, username)
    service.update_user(
        session,
        user,
        actor=actor,
        role=data.role,
        clearance=data.clearance,
        post_code=data.post,
        active=data.active,
        full_name=data.full_name,
    )
    return model_response(user_out(user))
