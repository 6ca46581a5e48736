"""Load-or-refuse for every write on a demarche, in the one refusal order that the API
and the pages share: 404 (not visible) → 403 (not the desk) → 428/412 (not the version
you read) → then the lifecycle's 409 → then 422 (what was typed).

The API declares `Depends(writable(action))`; a page handler calls `to_write` with the version
its form was read at, so that it can show a refusal beside the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import Permission, require
from app.concurrency import IfMatch, require_version
from app.demarches import reads, rules
from app.demarches.models import Demarche
from app.demarches.rules import DemarcheAction
from app.deps import CurrentUser, SessionDep
from app.limits import RecordId


def to_write(
    session: Session,
    demarche_id: int,
    *,
    actor: User,
    route: str = "",
    if_match: str | None = None,
    form_version: int | None = None,
    skip_version: bool = False,
) -> Demarche:
    """The demarche a desk write changes, once it passed 404, 403 and 428/412. A page
    passes skip_version to check its form's version itself, and show why beside it."""
    demarche = reads.load(session, demarche_id, actor=actor)
    require(actor, Permission.WRITE_DEMARCHES, route=route)
    if not skip_version:
        require_version("demarche", demarche, if_match=if_match, form_version=form_version)
    return demarche


def writable(action: DemarcheAction) -> Callable[..., Demarche]:
    """The API's demarche for a desk write: to_write with the request's If-Match, then
    the lifecycle's 409, as a dependency, so that both come before the body's 422."""

    def writable_demarche(
        demarche_id: RecordId,
        session: SessionDep,
        actor: CurrentUser,
        request: Request,
        if_match: IfMatch = None,
    ) -> Demarche:
        demarche = to_write(
            session, demarche_id, actor=actor, route=request.url.path, if_match=if_match
        )
        rules.check(demarche, action)
        return demarche

    return writable_demarche


def _visible(demarche_id: RecordId, session: SessionDep, actor: CurrentUser) -> int:
    reads.require_visible(session, demarche_id, actor=actor)
    return demarche_id


# A demarche id the caller may see (404 otherwise), for reads of its parts.
VisibleDemarche = Annotated[int, Depends(_visible)]
