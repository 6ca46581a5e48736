"""Typed dependencies: routes read as sentences (`session: SessionDep, actor: CurrentUser`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.credentials import CredentialCache
from app.auth.models import ApiToken, User
from app.auth.policy import Permission, require
from app.auth.service import token_for_secret
from app.db import take_deferred_writes, write_briefly
from app.errors import Unauthorized
from app.settings import Settings

log = logging.getLogger("app.access")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the handler returns, else rolled back.

    Used with scope="function" so the commit happens before the response is sent:
    a failed commit is an error response, never a 200 for lost work.

    async, so that opening and closing a session costs no trip through the thread pool
    (opening does no I/O). What does I/O, committing a request that wrote and rolling
    one back, still runs there; a read that wrote nothing only closes, which asks
    nothing of the database.
    """
    writes = request.method not in ("GET", "HEAD")
    factory = request.app.state.sessionmaker if writes else request.app.state.read_sessionmaker
    session: Session = factory()
    try:
        yield session
        if writes or _has_writes(session):
            await run_in_threadpool(session.commit)
    except BaseException:
        if writes or _has_writes(session):
            await run_in_threadpool(session.rollback)
        raise
    finally:
        deferred = take_deferred_writes(session)
        session.close()  # after a commit or rollback, or a read that wrote nothing: no I/O
        if deferred:
            # A stamp (a token's last use), once the request's own transaction is over,
            # in a brief one of its own; it gives way to a busy database, never fails
            # the request, and costs the connection the session just gave back.
            await run_in_threadpool(write_briefly, request.app.state.engine, deferred)


def _has_writes(session: Session) -> bool:
    return bool(session.info.get("flushed") or session.new or session.dirty or session.deleted)


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _ctx: Any) -> None:
    # A GET that wrote (none should: a token's last-used stamp is deferred, app/db.py)
    # needs its commit too.
    session.info["flushed"] = True


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_settings_dep(request: Request) -> Settings:
    # async: it does no I/O, and a sync dependency costs a hop to the thread pool.
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def current_token(request: Request, session: SessionDep) -> ApiToken:
    """The caller's credential: a valid, unrevoked, unexpired bearer token of an active user.

    Only a personal access token: a browser's session cookie is another credential,
    looked up apart (app/web.py), and never accepted here, in the header or as a cookie.
    Answered from the worker's credential cache when it can (no query, no thread); see
    app/auth/credentials.py for what that costs revocation.
    """
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        log.info("denied user=- route=%s reason=no bearer token", request.url.path)
        raise Unauthorized("Send a personal access token as 'Authorization: Bearer <token>'.")
    cache: CredentialCache = request.app.state.credentials
    token = await cache.resolve(session, ApiToken, secret, token_for_secret)
    if token is None:
        log.info(
            "denied user=- route=%s reason=invalid, expired or revoked token", request.url.path
        )
        raise Unauthorized("The access token is invalid, expired or revoked.")
    request.state.user = token.user
    return token


CurrentToken = Annotated[ApiToken, Depends(current_token)]


async def current_user(token: CurrentToken) -> User:
    """Who is calling: the user of the bearer token (current_token)."""
    return token.user


CurrentUser = Annotated[User, Depends(current_user)]


def permitted(permission: Permission) -> Callable[..., Awaitable[User]]:
    """The caller, once the policy grants their role this permission (else 403): for
    routes that act on no record, so have no record to find first."""

    async def permitted_user(request: Request, actor: CurrentUser) -> User:
        require(actor, permission, route=request.url.path)
        return actor

    return permitted_user


Administrator = Annotated[User, Depends(permitted(Permission.MANAGE_USERS))]
PostRegistrar = Annotated[User, Depends(permitted(Permission.MANAGE_POSTS))]
DemarcheWriter = Annotated[User, Depends(permitted(Permission.WRITE_DEMARCHES))]
CableIngester = Annotated[User, Depends(permitted(Permission.INGEST_CABLES))]
