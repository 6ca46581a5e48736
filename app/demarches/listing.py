"""The demarche list: the demarches a reader may see, newest first, filtered, by cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, literal, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import Reader, visible_demarches
from app.demarches.models import Demarche, DemarcheStatus, DemarcheTag, DemarcheTarget
from app.demarches.schemas import DemarcheSummary
from app.pagination import decode_cursor, encode_cursor
from app.posts.models import Post
from app.search import reads as search_reads
from app.search.models import Kind
from app.vocabulary import TaskingRole


@dataclass(frozen=True)
class DemarcheFilters:
    status: DemarcheStatus | None = None
    post: str | None = None
    tag: str | None = None
    deadline_before: date | None = None
    deadline_after: date | None = None
    q: str | None = None


def _tag_list(dialect: str) -> Any:
    """A demarche's tags as one space-separated string in the row itself (tags hold no
    spaces), so that a page of demarches is one query."""
    if dialect == "postgresql":
        agg = func.string_agg(DemarcheTag.tag, literal(" "))
    else:
        agg = func.group_concat(DemarcheTag.tag, literal(" "))
    return (
        select(agg)
        .where(DemarcheTag.demarche_id == Demarche.id)
        .correlate(Demarche)
        .scalar_subquery()
        .label("tags")
    )


def list_visible(
    session: Session,
    *,
    actor: User,
    filters: DemarcheFilters,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[DemarcheSummary], str | None]:
    """Newest first, keyset-paginated on id so deep pages cost the same as the first.

    A list needs a few columns, not whole demarches: plain rows, with the tags
    aggregated in the same query, spare building some 200 ORM objects per page of 50.
    """
    params: dict[str, Any] = {"limit": limit + 1}
    if filters.status:
        params["status"] = filters.status
    if filters.post:
        params["post"] = filters.post.upper()
    if filters.tag:
        params["tag"] = filters.tag.upper()
    if filters.deadline_before:
        params["deadline_before"] = filters.deadline_before
    if filters.deadline_after:
        params["deadline_after"] = filters.deadline_after
    dialect = session.get_bind().dialect.name
    if filters.q:
        found = search_reads.match_params(filters.q, dialect)
        if found is None:  # only exclusions, or no word at all: nothing matches
            return [], None
        params.update(found)
    if cursor:
        (params["before_id"],) = decode_cursor(cursor, int)
    stmt = _list_statement(Reader.of(actor), frozenset(params), dialect)
    rows = session.execute(stmt, params).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    return [
        DemarcheSummary(
            id=r.id,
            subject=r.subject,
            classification=r.classification,
            status=r.status,
            deadline=r.deadline,
            tags=sorted(r.tags.split(" ")) if r.tags else [],
            issued_at=r.issued_at,
        )
        for r in rows
    ], next_cursor


@lru_cache(maxsize=1024)
def _list_statement(reader: Reader, given: frozenset[str], dialect: str) -> Select[Any]:
    """The list query for one kind of reader and one set of filters, built once: the
    filter values are bound parameters, so a hot list skips building and hashing it."""
    stmt = select(
        Demarche.id,
        Demarche.subject,
        Demarche.classification,
        Demarche.status,
        Demarche.deadline,
        Demarche.issued_at,
        _tag_list(dialect),
    ).where(visible_demarches(reader))
    if "status" in given:
        stmt = stmt.where(Demarche.status == bindparam("status"))
    if "post" in given:
        stmt = stmt.where(
            exists(
                select(DemarcheTarget.id)
                .join(Post, Post.id == DemarcheTarget.post_id)
                .where(DemarcheTarget.demarche_id == Demarche.id, Post.code == bindparam("post"))
            )
        )
    if "tag" in given:
        stmt = stmt.where(
            exists(
                select(DemarcheTag.tag).where(
                    DemarcheTag.demarche_id == Demarche.id, DemarcheTag.tag == bindparam("tag")
                )
            )
        )
    if "deadline_before" in given:
        stmt = stmt.where(Demarche.deadline < bindparam("deadline_before"))
    if "deadline_after" in given:
        stmt = stmt.where(Demarche.deadline > bindparam("deadline_after"))
    if given & {
        "search_q",
        "search_fts",
    }:  # the full-text search, through the same policy (app/search)
        stmt = stmt.where(Demarche.id.in_(search_reads.matching(reader, Kind.DEMARCHE, dialect)))
    if "before_id" in given:
        stmt = stmt.where(Demarche.id < bindparam("before_id"))
    return stmt.order_by(Demarche.id.desc()).limit(bindparam("limit"))


@dataclass(frozen=True)
class TargetCount:
    """What a draft targets, as the draft list says it: it has no taskings yet."""

    action: int = 0
    info: int = 0

    @property
    def posts(self) -> int:
        return self.action + self.info


def target_counts(session: Session, ids: list[int]) -> dict[int, TargetCount]:
    """Each of these demarches' targets by role, in one GROUP BY. The ids are demarches
    the caller may see, and the counts name no post (a post officer is never shown them:
    the caller checks policy.sees_other_posts)."""
    out = {i: TargetCount() for i in ids}
    if not ids:
        return out
    counts: dict[int, dict[TaskingRole, int]] = {}
    for demarche_id, role, n in session.execute(
        select(DemarcheTarget.demarche_id, DemarcheTarget.role, func.count(DemarcheTarget.id))
        .where(DemarcheTarget.demarche_id.in_(ids))
        .group_by(DemarcheTarget.demarche_id, DemarcheTarget.role)
    ):
        counts.setdefault(demarche_id, {})[role] = n
    for demarche_id, by_role in counts.items():
        out[demarche_id] = TargetCount(
            action=by_role.get(TaskingRole.ACTION, 0), info=by_role.get(TaskingRole.INFO, 0)
        )
    return out
