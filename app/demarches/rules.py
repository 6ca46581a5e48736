"""The demarche lifecycle as data: draft → issued → closed, or cancelled; amended while issued.

The desk's moves (edit, issue, amend, close, cancel) and the demarche's own (it closes
when no action tasking is open, and reopens when one is reopened) are rows of one
table. The services check it before writing, and the pages read it to offer only the
moves it allows, so neither restates it.

Beside it, the rule of portion marks (`check_marks`), which every write of a demarche's
texts passes through: no portion above the demarche, nor above its author.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.classification import Classification
from app.db import utcnow
from app.demarches.models import Demarche
from app.demarches.models import DemarcheStatus as S
from app.errors import Conflict, Invalid, PreconditionFailed
from app.taskings.models import FINISHED, Tasking
from app.vocabulary import TaskingRole


class DemarcheAction(enum.StrEnum):
    EDIT = "edit"
    ISSUE = "issue"
    AMEND = "amend"
    CLOSE = "close"
    CANCEL = "cancel"
    # The demarche's own, when its action taskings all finish or one reopens.
    SETTLE = "settle"
    RESUME = "resume"


@dataclass(frozen=True)
class Move:
    action: DemarcheAction
    sources: frozenset[S]
    target: S
    # Said when the demarche is in another state ({id}, {status}).
    refusal: str
    by_desk: bool = True
    # Takes every post's work back: the pages ask for a reason and a confirmation.
    destructive: bool = False


LIFECYCLE: tuple[Move, ...] = (
    Move(
        DemarcheAction.EDIT,
        frozenset({S.DRAFT}),
        S.DRAFT,
        "Demarche {id} is {status}: only a draft can be edited; "
        "an issued demarche changes by amendment.",
    ),
    Move(
        DemarcheAction.ISSUE,
        frozenset({S.DRAFT}),
        S.ISSUED,
        "Demarche {id} is already {status}; it can be issued once.",
    ),
    Move(
        DemarcheAction.AMEND,
        frozenset({S.ISSUED}),
        S.ISSUED,
        "Demarche {id} is {status}: only an issued demarche is amended (edit a draft directly).",
    ),
    Move(
        DemarcheAction.CLOSE,
        frozenset({S.ISSUED}),
        S.CLOSED,
        "Demarche {id} is {status}; only an issued one is closed.",
    ),
    Move(
        DemarcheAction.CANCEL,
        frozenset({S.DRAFT, S.ISSUED}),
        S.CANCELLED,
        "Demarche {id} is already {status}.",
        destructive=True,
    ),
    Move(
        DemarcheAction.SETTLE,
        frozenset({S.ISSUED}),
        S.CLOSED,
        "Demarche {id} is {status}.",
        by_desk=False,
    ),
    Move(
        DemarcheAction.RESUME,
        frozenset({S.CLOSED}),
        S.ISSUED,
        "Demarche {id} is {status}.",
        by_desk=False,
    ),
)

BY_ACTION: dict[DemarcheAction, Move] = {m.action: m for m in LIFECYCLE}


def desk_actions(status: S) -> list[DemarcheAction]:
    """What the desk may do to a demarche in this state (the pages offer these)."""
    return [m.action for m in LIFECYCLE if m.by_desk and status in m.sources]


def check(demarche: Demarche, action: DemarcheAction) -> Move:
    """The move, or a 409 that says why not and what is allowed. Writes nothing."""
    move = BY_ACTION[action]
    if demarche.status not in move.sources:
        raise Conflict(
            move.refusal.format(id=demarche.id, status=demarche.status.value),
            current_state=demarche.status.value,
            allowed_actions=[a.value for a in desk_actions(demarche.status)],
        )
    return move


def enter(demarche: Demarche, move: Move) -> None:
    """Put the demarche in the move's state (checked by `check`), with its dates."""
    demarche.status = move.target
    if move.target == S.ISSUED and move.action == DemarcheAction.ISSUE:
        demarche.issued_at = utcnow()
    if move.target in (S.CLOSED, S.CANCELLED):
        demarche.closed_at = utcnow()
    elif move.action == DemarcheAction.RESUME:
        demarche.closed_at = None


def hold(session: Session, demarche: Demarche, *, read_version: int | None = None) -> Demarche:
    """Lock the demarche's row for the rest of the transaction and read it afresh.

    Every move that may settle a demarche takes this first, before it changes its
    tasking: of two last taskings finishing at once, the second then waits for the
    first to commit, and its `settle` counts the first's tasking as finished. Without
    it each saw the other still open, and the demarche stayed issued for ever.
    PostgreSQL locks the row (FOR NO KEY UPDATE: it waits for another holder, and
    under READ COMMITTED each later statement sees what that one committed; unlike FOR
    UPDATE it lets rows that merely refer to the demarche, its audit events, be
    written meanwhile, so two movers that logged something first cannot deadlock on
    it). SQLite has no row locks and needs none: a write transaction holds the
    database's one write lock from its start (app/db.py).

    Read afresh (what is pending in this session is flushed first, not lost): `check`
    and `settle` then judge the demarche as it stands, not as it was first loaded.
    The demarche's version is then the current one, which is right for a tasking's
    move (its If-Match is the tasking's). A write of the demarche itself passes the
    version its If-Match was checked against as read_version: if the demarche changed
    since, 412, as the version column would have said at the write.
    """
    held = session.scalars(
        select(Demarche)
        .where(Demarche.id == demarche.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    if read_version is not None and held.version != read_version:
        raise PreconditionFailed(
            f"Someone else changed demarche {held.id} at the same moment (now version "
            f"{held.version}); reload it and try again.",
            current_version=held.version,
        )
    return held


def settle(session: Session, demarche: Demarche, *, actor: User) -> None:
    """A demarche closes itself when no action tasking is open, and reopens with one.

    Safe under concurrency only inside a transaction that holds the demarche (`hold`)
    since before it changed the tasking that made it settle.
    """
    open_action = session.scalar(
        select(Tasking.id)
        .where(
            Tasking.demarche_id == demarche.id,
            Tasking.role == TaskingRole.ACTION,
            Tasking.status.not_in(FINISHED),
        )
        .limit(1)
    )
    if open_action is None and demarche.status in BY_ACTION[DemarcheAction.SETTLE].sources:
        move, action, why = BY_ACTION[DemarcheAction.SETTLE], "close", "no action tasking is open"
    elif open_action is not None and demarche.status in BY_ACTION[DemarcheAction.RESUME].sources:
        move, action, why = BY_ACTION[DemarcheAction.RESUME], "reopen", "a tasking was reopened"
    else:
        return
    before = demarche.status
    enter(demarche, move)
    session.flush()
    audit(
        session,
        demarche,
        action,
        actor=actor,
        before={"status": before},
        after={"status": demarche.status, "reason": why},
    )


def audit(
    session: Session,
    demarche: Demarche,
    action: str,
    *,
    actor: User,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit event about the demarche itself (its taskings name their post)."""
    record(
        session,
        actor_id=actor.id,
        entity="demarche",
        entity_id=demarche.id,
        demarche_id=demarche.id,
        action=action,
        before=before,
        after=after,
    )


# -- portion marks ------------------------------------------------------------------


class Portion(NamedTuple):
    """A marked part of a demarche's text, as a refusal names it: ("point 3", "point")."""

    name: str
    kind: str
    classification: Classification

    @property
    def field(self) -> str:
        """The input that holds it, named in the refusal so a form can show it there."""
        return _FIELDS[self.kind]


_FIELDS = {
    "summary": "summary",
    "objective": "objectives",
    "point": "talking_points",
    "key date": "key_dates",
}


def check_marks(
    level: Classification,
    *,
    actor: User,
    written: Iterable[Portion],
    kept: Iterable[Portion] = (),
    reclassified: bool = False,
) -> None:
    """A 422 unless the demarche, at this level, may hold these portions. Writes nothing.

    What a write supplies is marked no higher than its author may read (they could
    neither see nor correct it) and no higher than the demarche: a reader cleared for the
    demarche then reads every portion of it. What the write keeps as it was (a list it
    leaves alone, portions withheld from its author) is weighed only when the demarche's
    own classification changes, so a row marked before this rule can still be amended.
    """
    written = list(written)
    for p in written:
        if p.classification > actor.clearance:
            raise Invalid(
                f"You are cleared to {actor.clearance.value}: {p.name} cannot be marked "
                f"{p.classification.value}.",
                field=p.field,
            )
    for p in written:
        if p.classification > level:
            raise Invalid(
                f"{_capital(p.name)} is marked {p.classification.value}: classify the demarche "
                f"{p.classification.value} or mark the {p.kind} lower.",
                field=p.field,
            )
    if reclassified:
        for p in kept:
            if p.classification > level:
                raise Invalid(
                    f"{_capital(p.name)} is marked {p.classification.value}: the demarche cannot "
                    f"be classified {level.value}, below it.",
                    field="classification",
                )


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]
