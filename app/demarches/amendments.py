"""Amendments: an issued demarche changes as numbered revisions, earlier text kept."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import jsonable
from app.auth.models import User
from app.db import today_utc, utcnow
from app.demarches import rules
from app.demarches.models import Demarche, DemarcheRevision
from app.demarches.rules import DemarcheAction, audit
from app.demarches.schemas import AmendIn
from app.demarches.service import plan_texts, resolve_targets, tasking_for, write_texts
from app.errors import Invalid
from app.notifications.models import Kind
from app.notifications.outbox import to_posts
from app.taskings.models import OPEN_STATUSES, Tasking
from app.taskings.workflow import audit_tasking, revive, withdraw


def amend(
    session: Session, demarche: Demarche, data: AmendIn, *, actor: User, today: date | None = None
) -> Demarche:
    """Amend an issued demarche as a numbered revision; the earlier text stays readable.

    New targets get a tasking; removed ones are cancelled; taskings that follow the
    deadline move with it. Posts see the change through their seen_revision.
    """
    today = today or today_utc()
    # Held before any of its taskings is written, as a tasking's move holds it
    # (rules.hold): both lock the demarche first, so they queue instead of deadlocking.
    rules.hold(session, demarche, read_version=demarche.version)
    rules.check(demarche, DemarcheAction.AMEND)
    if data.deadline is not None and data.deadline < today:
        raise Invalid(f"The new deadline {data.deadline.isoformat()} is in the past.")
    # An amendment keeps the demarche's classification: its new portions fit under it.
    texts = plan_texts(
        demarche,
        actor=actor,
        level=demarche.classification,
        objectives=data.objectives,
        talking_points=data.talking_points,
        key_dates=data.key_dates,
    )
    before = demarche.snapshot()
    session.add(
        DemarcheRevision(
            demarche_id=demarche.id,
            number=demarche.revision,
            content=jsonable(before),
            reason=data.reason,
            created_by_id=actor.id,
        )
    )
    old_deadline = demarche.deadline
    if data.deadline is not None:
        demarche.deadline = data.deadline
    write_texts(session, demarche, texts)

    taskings = {
        (t.post_id, t.country): t
        for t in session.scalars(select(Tasking).where(Tasking.demarche_id == demarche.id))
    }
    known = {t.id for t in taskings.values()}
    revived: set[int] = set()
    if data.targets is not None:
        wanted = resolve_targets(session, data.targets)
        wanted_keys = {(t.post.id, t.country) for t in wanted}
        for t in list(demarche.targets):
            if (t.post_id, t.country) not in wanted_keys:
                demarche.targets.remove(t)
                tasking = taskings.get((t.post_id, t.country))
                if tasking is not None:
                    withdraw(
                        session,
                        tasking,
                        actor=actor,
                        reason=f"Removed by amendment {demarche.revision + 1}: {data.reason}",
                    )
        session.flush()
        existing = {(t.post_id, t.country): t for t in demarche.targets}
        for w in wanted:
            key = (w.post.id, w.country)
            if key in existing:
                existing[key].role, existing[key].due_date = w.role, w.due_date
                continue
            demarche.targets.append(w)
            session.flush()
            prior = taskings.get(key)
            if prior is not None:  # re-added after removal: revive the same tasking
                revive(prior)
                revived.add(prior.id)
                prior.due_date = w.due_date or demarche.deadline
                prior.role = w.role
                new = prior
            else:
                new = tasking_for(demarche, w)
                session.add(new)
            session.flush()
            audit_tasking(
                session,
                new,
                "create",
                actor=actor,
                after={
                    "status": new.status,
                    "due_date": new.due_date,
                    "role": new.role,
                    "reason": f"added by amendment {demarche.revision + 1}",
                },
            )
    if data.deadline is not None and data.deadline != old_deadline:
        own_dates = {(t.post_id, t.country) for t in demarche.targets if t.due_date}
        for key, tasking in taskings.items():
            if key not in own_dates and tasking.status in OPEN_STATUSES:
                tasking.due_date = data.deadline

    demarche.revision += 1
    demarche.updated_at = utcnow()
    session.flush()
    audit(
        session,
        demarche,
        "amend",
        actor=actor,
        before=before,
        after={**demarche.snapshot(), "revision": demarche.revision, "reason": data.reason},
    )
    rules.settle(session, demarche, actor=actor)
    # Posts still at work hear of the change; a post the amendment adds, of its tasking.
    current = list(session.scalars(select(Tasking).where(Tasking.demarche_id == demarche.id)))
    to_posts(
        session,
        Kind.AMENDED,
        [t for t in current if t.id in known - revived and t.status in OPEN_STATUSES],
    )
    to_posts(
        session,
        Kind.NEW_TASKING,
        [t for t in current if t.id not in known or t.id in revived],
    )
    return demarche
