"""Commands of the dashboards package: a user's calendar feed address."""

from __future__ import annotations

import secrets

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.passwords import token_digest
from app.dashboards.models import CalendarFeed


def rotate_feed(session: Session, user: User) -> str:
    """A new secret for the user's feed; the old address stops working. The secret is
    returned once, to show: only its digest is kept."""
    secret = secrets.token_urlsafe(32)
    session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    session.add(CalendarFeed(user_id=user.id, secret_digest=token_digest(secret)))
    session.flush()
    return secret
