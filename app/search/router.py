"""GET /search: every kind of record the reader may see, through the policy, by kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.demarches.models import DemarcheStatus
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.http import model_response, problems
from app.limits import QUERY_TEXT_MAX, IsoDate
from app.pagination import Cursor, Limit, page_size
from app.posts.models import Region
from app.search import reads
from app.search.models import Kind
from app.search.schemas import HitOut, KindOut, SearchOut

router = APIRouter(tags=["search"])

SearchText = Annotated[
    str,
    Query(
        max_length=QUERY_TEXT_MAX,
        description='Web-search syntax: words, "a phrase", -excluded, a or b',
    ),
]


def results_out(q: str, groups: list[reads.KindResults], size: int) -> SearchOut:
    return SearchOut(
        q=q,
        limit=size,
        groups=[
            KindOut(
                kind=g.kind,
                total=g.total,
                next_cursor=g.next_cursor,
                items=[
                    HitOut(
                        id=h.id,
                        title=h.title,
                        field=h.field,
                        snippet=h.snippet,
                        highlights=h.highlights,
                        link=h.link,
                    )
                    for h in g.hits
                ],
            )
            for g in groups
        ],
    )


@router.get("/search", response_model=SearchOut, responses=problems(422))
def search(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    q: SearchText = "",
    kind: Kind | None = None,
    status: DemarcheStatus | None = None,
    tag: Annotated[str | None, Query(max_length=16)] = None,
    post: Annotated[str | None, Query(max_length=32, description="Post code")] = None,
    region: Region | None = None,
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: IsoDate | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Search what you may read, best match first, grouped by kind (a cursor continues
    its own kind). A filter that does not apply to a kind leaves that kind out."""
    size = page_size(limit, settings)
    filters = reads.SearchFilters(
        status=status, tag=tag, post=post, region=region, since=from_, until=to
    )
    groups = reads.search(
        session,
        actor=actor,
        q=q,
        kinds=[kind] if kind else list(Kind),
        filters=filters,
        limit=size,
        cursor=cursor,
    )
    return model_response(results_out(q, groups, size))
