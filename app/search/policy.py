"""Which indexed portions a reader may find: the policy's own filters, portion by portion.

A portion matches only if its record is visible to the reader by the very filter every
read uses (visible_demarches, visible_taskings, visible_cables) and its own mark is at
or below the reader's clearance (the withholding rule, may_read_portion, in SQL). The
search applies this before it ranks, counts or cuts a snippet: a hidden portion
neither matches, nor scores, nor shows."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select

from app.auth.models import User
from app.auth.policy import Reader, visible_cables, visible_demarches, visible_taskings
from app.cables.models import Cable
from app.classification import Classification
from app.demarches.models import Demarche
from app.search.models import Kind, portions
from app.taskings.models import Tasking


def readable_marks(actor: User | Reader) -> ColumnElement[bool]:
    """The portion's own mark: none (its record's) or one the reader is cleared for."""
    levels = [c.value for c in Classification.at_or_below(actor.clearance)]
    return or_(portions.c.classification.is_(None), portions.c.classification.in_(levels))


def visible_portions(actor: User | Reader, kind: Kind) -> ColumnElement[bool]:
    """The WHERE clause for the portions of this kind the reader may find."""
    p = portions.c
    record: ColumnElement[bool]
    if kind == Kind.DEMARCHE:
        record = exists(
            select(Demarche.id).where(Demarche.id == p.demarche_id, visible_demarches(actor))
        )
    elif kind in (Kind.RESPONSE, Kind.DELIVERY):
        record = exists(
            select(Tasking.id).where(Tasking.id == p.tasking_id, visible_taskings(actor))
        )
    elif kind == Kind.CABLE:
        record = exists(select(Cable.id).where(Cable.id == p.cable_id, visible_cables(actor)))
    else:  # the post registry: every reader's
        record = p.post_id.is_not(None)
    return and_(p.kind == kind.value, readable_marks(actor), record)
