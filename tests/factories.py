"""Plain typed factories: deterministic rows for deterministic tests."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import count

from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.service import add_user, issue_token
from app.classification import Classification
from app.posts.models import Post, PostKind, Region

_seq = count(1)


def make_post(session: Session, code: str | None = None, **kw) -> Post:
    n = next(_seq)
    code = code or f"POST{n:03d}"
    post = Post(
        code=code,
        name=kw.pop("name", f"AMEMBASSY {code}"),
        kind=kw.pop("kind", PostKind.EMBASSY),
        city=kw.pop("city", code.title()),
        country=kw.pop("country", f"Country {code}"),
        routing_indicator=kw.pop("routing_indicator", None),
        region=kw.pop("region", Region.EUR),
        **kw,
    )
    session.add(post)
    # Committed (a savepoint release inside the test's outer transaction), so a
    # request that fails and rolls back does not take the fixture rows with it.
    session.commit()
    return post


def make_user(
    session: Session,
    role: Role = Role.DESK_OFFICER,
    clearance: Classification = Classification.SECRET,
    post: Post | None = None,
    username: str | None = None,
) -> tuple[User, dict[str, str]]:
    """A user and the Authorization header of a fresh token of theirs."""
    user = add_user(
        session,
        username=username or f"user{next(_seq)}",
        full_name="Test User",
        role=role,
        clearance=clearance,
        post_code=post.code if post else None,
    )
    secret = issue_token(session, user=user, name="test").secret
    session.commit()
    return user, {"Authorization": f"Bearer {secret}"}


def future(days: int = 10) -> date:
    return date.today() + timedelta(days=days)


def demarche_payload(posts: list[Post], **over) -> dict:
    body = {
        "subject": "UNSC: SUPPORT FOR THE RENEWAL OF A MISSION",
        "summary": "Urge support for renewal.",
        "classification": "CONFIDENTIAL",
        "deadline": future().isoformat(),
        "delivery_level": "highest appropriate level",
        "tags": ["PREL", "UNSC"],
        "objectives": ["Secure a yes vote.", "Learn the PR's instructions."],
        "talking_points": [
            {"text": "We ask you to vote yes.", "classification": "UNCLASSIFIED", "use": "public"},
            {
                "text": "A) keep the mandate B) review in six months",
                "classification": "CONFIDENTIAL",
            },
        ],
        "key_dates": [{"date": future(12).isoformat(), "what": "Council vote"}],
        "targets": [{"post": p.code} for p in posts],
    }
    body.update(over)
    return body


def write(
    client, method: str, path: str, headers: dict[str, str], etag_path: str | None = None, **kw
):
    """Send a write the way a careful client does: with If-Match from a fresh read."""
    read = client.get(
        etag_path or re.sub(r"/(issue|cancel|amend|close)$", "", path), headers=headers
    )
    assert read.status_code == 200, read.text
    return client.request(method, path, headers={**headers, "If-Match": read.headers["etag"]}, **kw)
