from __future__ import annotations

from fastapi import APIRouter

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.http import model_response, problems
from app.limits import RecordId
from app.notifications import reads, service
from app.notifications.schemas import MarkedRead, NotificationPage
from app.pagination import Cursor, Limit, page_size

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=NotificationPage)
def list_notifications(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    unread: bool = False,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """The caller's notifications, newest first (`unread=true`: only those not yet read)."""
    size = page_size(limit, settings)
    items, next_cursor = reads.list_for(
        session, actor, unread_only=unread, limit=size, cursor=cursor
    )
    page = NotificationPage(
        items=items,
        next_cursor=next_cursor,
        limit=size,
        unread=reads.unread_count(session, actor.id),
    )
    return model_response(page)


@router.post("/{notification_id}/read", response_model=MarkedRead, responses=problems(404))
def mark_notification_read(notification_id: RecordId, session: SessionDep, actor: CurrentUser):
    """Mark one of the caller's notifications read (again: no change)."""
    service.mark_read(session, notification_id, actor=actor)
    return model_response(MarkedRead(marked=1))


@router.post("/read", response_model=MarkedRead)
def mark_all_notifications_read(session: SessionDep, actor: CurrentUser):
    """Mark every one of the caller's notifications read."""
    return model_response(MarkedRead(marked=service.mark_all_read(session, actor=actor)))
