from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.auth.policy import has_inbox
from app.classification import highest
from app.deps import SessionDep
from app.errors import DomainError
from app.limits import QueryText, RecordId
from app.notifications import reads, service
from app.web import CsrfChecked, PageUser, render

router = APIRouter()


@router.get("/notifications", name="notifications")
def notifications_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    unread: QueryText = "",
    cursor: QueryText = "",
) -> HTMLResponse:
    """The signed-in user's notifications, newest first, each with a mark-read button."""
    only = unread == "1"
    try:
        items, next_cursor = reads.list_for(
            session, user, unread_only=only, limit=50, cursor=cursor or None
        )
    except DomainError:  # a stale or hand-made cursor: the first page
        items, next_cursor = reads.list_for(session, user, unread_only=only, limit=50)
    query = "unread=1&" if only else ""
    return render(
        request,
        "notifications/list.html",
        banner=highest([n.classification for n in items]),
        items=items,
        unread_only=only,
        opens_inbox=has_inbox(user),
        next_link=f"/notifications?{query}cursor={next_cursor}" if next_cursor else "",
    )


@router.post("/notifications/{notification_id}/read", dependencies=[CsrfChecked])
def mark_read_page(
    notification_id: RecordId,
    session: SessionDep,
    user: PageUser,
    unread: Annotated[str, Form(max_length=1)] = "",
) -> RedirectResponse:
    service.mark_read(session, notification_id, actor=user)
    return RedirectResponse("/notifications" + ("?unread=1" if unread == "1" else ""), 303)


@router.post("/notifications/read", dependencies=[CsrfChecked])
def mark_all_read_page(session: SessionDep, user: PageUser) -> RedirectResponse:
    service.mark_all_read(session, actor=user)
    return RedirectResponse("/notifications", 303)
