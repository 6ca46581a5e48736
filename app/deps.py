"""Typed dependencies: routes read as sentences (`session: SessionDep, actor: CurrentUser`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import user_for_token
from app.errors import Unauthorized
from app.settings import Settings

log = logging.getLogger("app.access")


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back.

    Used with scope="function" so the commit happens before the response is sent:
    a failed commit is an error response, never a 200 for lost work.
    """
    reads_only = request.method in ("GET", "HEAD")
    factory = request.app.state.read_sessionmaker if reads_only else request.app.state.sessionmaker
    session: Session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_settings_dep(request: Request) -> Settings:
    # async: it does no I/O, and a sync dependency costs a hop to the thread pool.
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def current_user(request: Request, session: SessionDep) -> User:
    """Who is calling: a valid, unrevoked, unexpired bearer token of an active user."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        log.info("denied user=- route=%s reason=no bearer token", request.url.path)
        raise Unauthorized("Send a personal access token as 'Authorization: Bearer <token>'.")
    user = user_for_token(session, secret.strip())
    if user is None:
        log.info(
            "denied user=- route=%s reason=invalid, expired or revoked token", request.url.path
        )
        raise Unauthorized("The access token is invalid, expired or revoked.")
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]
