"""A demarche's history as a reader may see it: its timeline and its earlier texts."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from app.audit import AuditEvent
from app.auth.models import User
from app.auth.policy import Reader, may_read_portion, visible_events, withhold
from app.classification import Classification
from app.demarches.models import DemarcheRevision
from app.demarches.schemas import AuditEventOut, RevisionOut
from app.posts.models import Post


def revisions(session: Session, demarche_id: int, *, actor: User) -> list[RevisionOut]:
    """Every earlier text of the demarche, with points above the reader's clearance withheld."""
    out = []
    for rev in session.scalars(
        select(DemarcheRevision)
        .where(DemarcheRevision.demarche_id == demarche_id)
        .order_by(DemarcheRevision.number)
    ):
        out.append(
            RevisionOut(
                number=rev.number,
                reason=rev.reason,
                created_at=rev.created_at,
                content=_withhold(rev.content, actor) or {},
            )
        )
    return out


def _events(demarche_id: Any, actor: User | Reader, *columns: Any) -> Select[Any]:
    """The demarche's events this reader may see: the given columns (default: the whole
    event), with who acted and for which post."""
    return (
        select(*(columns or (AuditEvent,)), User.username, Post.code)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Post, Post.id == AuditEvent.post_id)
        .where(AuditEvent.demarche_id == demarche_id, visible_events(actor))
    )


def _out(rows: Any, actor: User) -> list[AuditEventOut]:
    return [
        AuditEventOut(
            id=ev.id,
            at=ev.at,
            actor=username,
            entity=ev.entity,
            entity_id=ev.entity_id,
            action=ev.action,
            post=code,
            before=_withhold(ev.before, actor, demarche=ev.entity == "demarche"),
            after=_withhold(ev.after, actor, demarche=ev.entity == "demarche"),
        )
        for ev, username, code in rows
    ]


def timeline(
    session: Session,
    demarche_id: int,
    *,
    actor: User,
    limit: int | None = None,
    offset: int = 0,
) -> list[AuditEventOut]:
    """The demarche's audit trail in order (a page of it, given a limit)."""
    stmt = _events(demarche_id, actor).order_by(AuditEvent.id)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return _out(session.execute(stmt), actor)


class Entry(NamedTuple):
    """An event as a page lists it: who did what and when, with its reason or position.

    Pages never show the before/after snapshots, and the first events of a demarche to
    200 posts carry all 200 targets: reading two fields out of them in SQL spares
    decoding and copying the rest on every view."""

    id: int
    at: datetime
    entity: str
    entity_id: int
    action: str
    reason: str | None
    position: str | None
    actor: str | None
    post: str | None


_ENTRY_COLUMNS = (
    AuditEvent.id,
    AuditEvent.at,
    AuditEvent.entity,
    AuditEvent.entity_id,
    AuditEvent.action,
    AuditEvent.after["reason"].as_string(),
    AuditEvent.after["position"].as_string(),
)


class TimelinePage(NamedTuple):
    entries: list[Entry]
    page: int
    pages: int


def timeline_page(
    session: Session, demarche_id: int, *, actor: User, page: int, size: int
) -> TimelinePage:
    """A page of the demarche's timeline, in order, as a page shows it (a page past the
    end shows the last), and how many pages there are.

    The count rides along as a scalar subquery, so a page in range is one statement."""
    page = max(page, 1)
    reader = Reader.of(actor)
    params = {"demarche_id": demarche_id, "limit": size, "offset": (page - 1) * size}
    rows = session.execute(_page_statement(reader), params).all()
    if not rows and page > 1:
        # Past the end (or nothing to show): count alone, then read the last page.
        total = session.scalar(_counting(reader), params) or 0
        last = max(1, -(-total // size))
        return timeline_page(session, demarche_id, actor=actor, page=last, size=size)
    total = rows[0][-1] if rows else 0
    return TimelinePage([Entry(*row[:-1]) for row in rows], page, max(1, -(-total // size)))


def _counting(reader: Reader) -> Select[Any]:
    return (
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.demarche_id == bindparam("demarche_id"), visible_events(reader))
    )


@lru_cache(maxsize=256)
def _page_statement(reader: Reader) -> Select[Any]:
    # Built once per kind of reader: the demarche page asks on every view.
    return (
        _events(bindparam("demarche_id"), reader, *_ENTRY_COLUMNS)
        .add_columns(_counting(reader).scalar_subquery())
        .order_by(AuditEvent.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


def _withhold(
    values: dict[str, Any] | None, actor: User, *, demarche: bool = True
) -> dict[str, Any] | None:
    """A demarche's snapshot (a revision, or an event about the demarche) with what the
    reader may not see kept out: every portion (summary, objectives, points, key dates)
    through the one withholding rule. Other events carry no portion of the demarche
    (a response's own "summary" is the post's): only points are looked for in them.

    A portion recorded before portions carried marks (an objective as a bare string, a
    key date or summary without one) was shown at the snapshot's own classification; a
    mark that cannot be told at all is taken as SECRET."""
    if not values:
        return values
    level = _mark(values.get("classification"), Classification.SECRET)
    out = dict(values)
    if demarche and "summary" in values:
        mark = _mark(values.get("summary_classification"), level)
        out["summary_classification"] = mark.value
        if not may_read_portion(actor, mark):
            out["summary"], out["summary_withheld"] = None, True
    for key, text_keys, default in (
        ("objectives", ("text",), level),
        ("talking_points", ("text",), Classification.SECRET),
        ("key_dates", ("date", "what"), level),
    ):
        if not isinstance(values.get(key), list) or (not demarche and key != "talking_points"):
            continue
        portions = [p if isinstance(p, dict) else {"text": p} for p in values[key]]
        marked = [
            {**p, "classification": _mark(p.get("classification"), default).value} for p in portions
        ]
        _, hidden = withhold(actor, marked, lambda p: Classification(p["classification"]))
        withheld = {id(p) for p in hidden}
        out[key] = [
            {**p, **dict.fromkeys(text_keys), "withheld": True} if id(p) in withheld else p
            for p in marked
        ]
    return out


def _mark(value: Any, default: Classification) -> Classification:
    try:
        return Classification(value)
    except ValueError:
        return default
