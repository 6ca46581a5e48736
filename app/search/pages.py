"""The search page: the same search as the API, results grouped by kind, words marked."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.classification import Classification
from app.deps import SessionDep, SettingsDep
from app.errors import Invalid
from app.limits import QueryText
from app.search import reads
from app.search.models import Kind
from app.web import PageUser, render

router = APIRouter(include_in_schema=False)

LABELS = {
    Kind.DEMARCHE: "Demarches",
    Kind.CABLE: "Cables",
    Kind.RESPONSE: "Responses",
    Kind.DELIVERY: "Deliveries",
    Kind.POST: "Posts",
}


def segments(snippet: str, marks: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The snippet cut into (text, marked) pieces: the template escapes each piece and
    wraps the marked ones in <mark>, so no stored text is ever read as HTML."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in marks:
        if start > at:
            out.append((snippet[at:start], False))
        out.append((snippet[start:end], True))
        at = end
    if at < len(snippet):
        out.append((snippet[at:], False))
    return out


@router.get("/search", name="search")
def search_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    q: QueryText = "",
    kind: QueryText = "",
    cursor: QueryText = "",
) -> HTMLResponse:
    try:
        kinds = [Kind(kind)] if kind else list(Kind)
    except ValueError:
        kinds = list(Kind)  # a stale bookmark: search everything
    groups: list[reads.KindResults] = []
    error = ""
    if q.strip():
        try:
            groups = reads.search(
                session,
                actor=user,
                q=q,
                kinds=kinds,
                filters=reads.SearchFilters(),
                limit=settings.default_page_size,
                cursor=cursor or None,
            )
        except Invalid as exc:
            error = exc.detail
    found = any(g.hits for g in groups)
    return render(
        request,
        "search/results.html",
        # Snippets are portions the reader is cleared for: marked at most at their
        # clearance (over-marking a page is safe, under-marking is not).
        banner=user.clearance if found else Classification.UNCLASSIFIED,
        q=q,
        groups=[g for g in groups if g.total],
        labels=LABELS,
        segments=segments,
        searched=bool(q.strip()),
        error=error,
    )
