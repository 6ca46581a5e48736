"""One search over every kind of record, through the policy, ranked, by kind.

For each kind: the portions that match the query AND that the reader may find
(policy.visible_portions) AND that the filters keep, in one subquery; the records are
ranked by their best visible portion, counted, paged and given a snippet from that
subquery only, so a hidden portion can neither score, count nor show. A record is
found when one of its portions holds the whole query (words in different portions
of one demarche do not add up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    column,
    desc,
    distinct,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import Session, aliased

from app.auth.models import User
from app.auth.policy import Reader, has_inbox
from app.cables.models import Cable
from app.demarches.models import Demarche, DemarcheStatus, DemarcheTag, DemarcheTarget
from app.pagination import decode_cursor, encode_cursor
from app.posts.models import Post, Region
from app.search import syntax
from app.search.ddl import FTS
from app.search.models import Kind, portions
from app.search.policy import visible_portions
from app.taskings.models import Delivery, Response, Tasking

ON_DEMARCHES = (Kind.DEMARCHE, Kind.RESPONSE, Kind.DELIVERY)
_TAG = re.compile(r"[A-Z0-9]{1,16}")


@dataclass(frozen=True)
class SearchFilters:
    status: DemarcheStatus | None = None
    tag: str | None = None
    post: str | None = None
    region: Region | None = None
    since: date | None = None  # a demarche's deadline, a cable's date-time group
    until: date | None = None


@dataclass
class Hit:
    kind: Kind
    id: int
    title: str
    field: str
    snippet: str
    highlights: list[tuple[int, int]]
    link: str


@dataclass
class KindResults:
    kind: Kind
    total: int
    hits: list[Hit] = field(default_factory=list)
    next_cursor: str | None = None


def match_params(q: str, dialect: str) -> dict[str, str] | None:
    """The bound values of `matching`, or None when the query can match nothing."""
    query = syntax.parse(q)
    if query.empty:
        return None
    if dialect == "postgresql":
        return {"search_q": syntax.clean(q)}
    fts = syntax.to_fts5(query)
    return {"search_fts": fts} if fts else None


def _scored(dialect: str) -> tuple[Any, ColumnElement[Any], ColumnElement[bool] | None]:
    """(FROM, score: higher is better, WHERE) of the portions matching the bound query."""
    if dialect == "postgresql":
        tsq = func.websearch_to_tsquery(
            literal_column("'english'::regconfig"),
            func.search_fold(bindparam("search_q", type_=String)),
        )
        tsv: ColumnElement[Any] = literal_column(f"{portions.name}.tsv")
        return portions, func.ts_rank(tsv, tsq), tsv.op("@@")(tsq)
    fts = table(FTS, column("rowid"), column("rank"))
    matched = (
        select(fts.c.rowid.label("id"), (-fts.c.rank).label("score"))
        .where(literal_column(FTS).op("MATCH")(bindparam("search_fts", type_=String)))
        .subquery("matched")
    )
    return portions.join(matched, matched.c.id == portions.c.id), matched.c.score, None


def matching(reader: User | Reader, kind: Kind, dialect: str) -> Select[Any]:
    """The ids of the records of this kind the reader may find with the bound query."""
    source, _score, where = _scored(dialect)
    stmt = select(portions.c.record_id).select_from(source).where(visible_portions(reader, kind))
    return stmt.where(where) if where is not None else stmt


def _narrowed(kind: Kind, f: SearchFilters) -> list[ColumnElement[bool]] | None:
    """The filters as WHERE clauses on this kind's portions; None: the kind is left out
    (a filter that does not apply to it, such as a status on a post)."""
    p = portions.c
    out: list[ColumnElement[bool]] = []
    on_demarche = kind in ON_DEMARCHES
    if (f.status or f.since or f.until) and kind == Kind.POST:
        return None
    if f.status:
        if not on_demarche:
            return None
        out.append(
            exists(
                select(Demarche.id).where(Demarche.id == p.demarche_id, Demarche.status == f.status)
            )
        )
    if f.tag:
        tag = f.tag.upper()
        if kind == Kind.POST or not _TAG.fullmatch(tag):
            return None
        if on_demarche:
            out.append(
                exists(
                    select(DemarcheTag.tag).where(
                        DemarcheTag.demarche_id == p.demarche_id, DemarcheTag.tag == tag
                    )
                )
            )
        else:
            tags = aliased(portions)
            spaced = literal(" ") + func.upper(tags.c.body) + literal(" ")
            out.append(
                exists(
                    select(tags.c.id).where(
                        tags.c.cable_id == p.cable_id,
                        tags.c.field == "tags",
                        spaced.like(f"% {tag} %"),
                    )
                )
            )
    for value, column_ in ((f.post, Post.code), (f.region, Post.region)):
        if not value:
            continue
        wanted = column_ == (value.upper() if isinstance(value, str) else value)
        if kind == Kind.DEMARCHE:
            out.append(
                exists(
                    select(DemarcheTarget.id)
                    .join(Post, Post.id == DemarcheTarget.post_id)
                    .where(DemarcheTarget.demarche_id == p.demarche_id, wanted)
                )
            )
        else:
            out.append(p.post_id.in_(select(Post.id).where(wanted)))
    if f.since or f.until:
        if on_demarche:
            bounds = [Demarche.id == p.demarche_id]
            if f.since:
                bounds.append(Demarche.deadline >= f.since)
            if f.until:
                bounds.append(Demarche.deadline <= f.until)
            out.append(exists(select(Demarche.id).where(*bounds)))
        else:
            bounds = [Cable.id == p.cable_id]
            if f.since:
                bounds.append(Cable.dtg >= datetime.combine(f.since, time(), UTC))
            if f.until:
                bounds.append(
                    Cable.dtg < datetime.combine(f.until + timedelta(days=1), time(), UTC)
                )
            out.append(exists(select(Cable.id).where(*bounds)))
    return out


def search(
    session: Session,
    *,
    actor: User,
    q: str,
    kinds: list[Kind],
    filters: SearchFilters,
    limit: int,
    cursor: str | None = None,
) -> list[KindResults]:
    """The records of each kind asked for that match, best first; `cursor` (from a
    previous answer's kind) continues that one kind."""
    offset = 0
    if cursor:
        kind_name, offset = decode_cursor(cursor, str, int)
        try:
            kinds = [Kind(kind_name)]
        except ValueError:
            kinds = []
    dialect = session.get_bind().dialect.name
    params = match_params(q, dialect)
    query = syntax.parse(q)
    out = []
    for kind in kinds:
        narrowed = _narrowed(kind, filters)
        if params is None or narrowed is None:
            out.append(KindResults(kind, 0))
            continue
        out.append(_one_kind(session, actor, kind, narrowed, params, query, limit, offset, dialect))
    return out


def _one_kind(
    session: Session,
    actor: User,
    kind: Kind,
    narrowed: list[ColumnElement[bool]],
    params: dict[str, str],
    query: syntax.Query,
    limit: int,
    offset: int,
    dialect: str,
) -> KindResults:
    source, score, where = _scored(dialect)
    p = portions.c
    m = (
        select(p.record_id, p.field, p.body, score.label("score"))
        .select_from(source)
        .where(visible_portions(actor, kind), *narrowed, *([where] if where is not None else []))
        .subquery("m")
    )
    total = session.execute(select(func.count(distinct(m.c.record_id))), params).scalar_one()
    if not total:
        return KindResults(kind, 0)
    best = func.max(m.c.score).label("best")
    ranked = session.execute(
        select(m.c.record_id, best)
        .group_by(m.c.record_id)
        .order_by(desc(best), m.c.record_id.desc())
        .limit(limit + 1)
        .offset(offset),
        params,
    ).all()
    more = len(ranked) > limit
    ids = [r.record_id for r in ranked[:limit]]
    chosen: dict[int, tuple[float, str, str]] = {}
    for r in session.execute(
        select(m.c.record_id, m.c.field, m.c.body, m.c.score).where(m.c.record_id.in_(ids)),
        params,
    ):
        if r.record_id not in chosen or r.score > chosen[r.record_id][0]:
            chosen[r.record_id] = (r.score, r.field, r.body)
    titles = _titles(session, kind, ids, actor)
    hits = []
    for record_id in ids:
        _s, field_, body = chosen[record_id]
        snippet, marks = syntax.highlight(body, query)
        title, link = titles[record_id]
        hits.append(Hit(kind, record_id, title, field_, snippet, marks, link))
    next_cursor = encode_cursor(kind.value, offset + limit) if more else None
    return KindResults(kind, total, hits, next_cursor)


def _titles(
    session: Session, kind: Kind, ids: list[int], actor: User
) -> dict[int, tuple[str, str]]:
    """Each found record's title and page. The ids come from visible portions only, and a
    title says no more than the record's own page does."""
    if kind == Kind.DEMARCHE:
        rows: Any = session.execute(
            select(Demarche.id, Demarche.subject).where(Demarche.id.in_(ids))
        )
        return {r[0]: (r[1], f"/demarches/{r[0]}") for r in rows}
    if kind == Kind.CABLE:
        rows = session.execute(
            select(Cable.id, Cable.ref_id, Cable.subject).where(Cable.id.in_(ids))
        )
        return {r[0]: (f"{r[1]} {r[2] or ''}".strip(), f"/api/v1/cables/{r[0]}") for r in rows}
    if kind == Kind.POST:
        rows = session.execute(select(Post.id, Post.code, Post.name).where(Post.id.in_(ids)))
        return {i: (f"{name} ({code})", f"/?post={code}") for i, code, name in rows}
    record = Response if kind == Kind.RESPONSE else Delivery
    word = "Response" if kind == Kind.RESPONSE else "Delivery"
    rows = session.execute(
        select(record.id, Tasking.id, Tasking.demarche_id, Post.code, Demarche.subject)
        .join(Tasking, Tasking.id == record.tasking_id)
        .join(Post, Post.id == Tasking.post_id)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .where(record.id.in_(ids))
    )
    inbox = has_inbox(actor)
    return {
        i: (
            f"{word} from {code}: {subject}",
            f"/inbox/{tasking}" if inbox else f"/demarches/{demarche}",
        )
        for i, tasking, demarche, code, subject in rows
    }
