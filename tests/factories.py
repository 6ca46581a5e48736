"""Plain typed factories: deterministic rows for deterministic tests.

One rule for every factory here: it commits what it made. Inside the `db` fixture a
commit only releases a savepoint of the test's outer transaction (tests/conftest.py),
so the rows still vanish when the test ends; but a request that fails and rolls back
its session does not take the fixture rows with it. Outside that fixture (the browser
tests seed a real database through their own Session) the rows are there for the
server to read.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import count

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.service import add_user, issue_token
from app.classification import Classification
from app.demarches import service as demarches
from app.demarches.models import Demarche, PointUse, TalkingPoint
from app.demarches.schemas import DemarcheIn, TalkingPointIn, TargetIn
from app.posts.models import Collective, CollectiveMembership, Post, PostKind, Region
from app.taskings.models import Tasking

_seq = count(1)

PASSWORD = "correct-horse-battery-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


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


# -- rows for the pages: named people who sign in through the form ------------------


def make_region_post(session: Session, code: str, region: Region = Region.EUR) -> Post:
    """A post in a region, with a readable country ("Country Hanoi") the pages show."""
    return make_post(session, code, region=region, country=f"Country {code.title()}")


def make_signin_user(
    session: Session,
    username: str,
    role: Role = Role.DESK_OFFICER,
    clearance: Classification = Classification.SECRET,
    post_code: str | None = None,
) -> User:
    """A user with PASSWORD, to sign in through the login form (see login())."""
    user = add_user(
        session,
        username=username,
        full_name=f"{username.title()} Officer",
        role=role,
        clearance=clearance,
        post_code=post_code,
        password=PASSWORD,
    )
    session.commit()
    return user


def make_collective(
    session: Session,
    code: str,
    name: str,
    members: list[Post],
    *,
    valid_from: date | None = None,
    valid_to: date | None = None,
    routing_indicator: str | None = None,
) -> Collective:
    """A collective whose members all hold from valid_from to valid_to (open: None)."""
    c = Collective(
        code=code,
        name=name,
        routing_indicator=routing_indicator,
        memberships=[
            CollectiveMembership(post=p, valid_from=valid_from, valid_to=valid_to) for p in members
        ],
    )
    session.add(c)
    session.commit()
    return c


def make_demarche(
    session: Session,
    desk: User,
    posts: list[Post],
    *,
    subject: str = "UNSC: SUPPORT THE RENEWAL OF UNOMAR",
    classification: Classification = Classification.CONFIDENTIAL,
    deadline: date | None = None,
    issue: bool = True,
    issued_on: date | None = None,
    secret_point: bool = True,
    tags: tuple[str, ...] = ("PREL", "UNSC"),
    extra_points: int = 0,
) -> Demarche:
    """A demarche to these posts; issued_on in the past (with a past deadline) makes it late.

    secret_point adds a SECRET point 2 whatever the demarche's level: below SECRET that is
    a row from before the rule of marks (the service refuses it now), written directly,
    so that the withholding every reader applies to such rows stays tested."""
    deadline = deadline or date.today() + timedelta(days=10)
    points = [TalkingPointIn(text="We ask you to vote yes.", classification="UNCLASSIFIED")]
    extras = [
        TalkingPointIn(text=f"Further point {i}.", classification="UNCLASSIFIED")
        for i in range(extra_points)
    ]
    d = demarches.create_draft(
        session,
        DemarcheIn(
            subject=subject,
            summary="Urge a yes vote on a clean renewal.",
            classification=classification,
            deadline=deadline,
            delivery_level="highest appropriate level",
            tags=list(tags),
            objectives=["Secure a yes vote."],
            talking_points=points + ([] if secret_point else extras),
            targets=[TargetIn(post=p.code) for p in posts],
        ),
        actor=desk,
    )
    if issue:
        demarches.issue(session, d, actor=desk, today=issued_on)
    # The legacy point is written after issuing: the completeness check (rightly) stops
    # a draft whose portion is marked above it from being issued.
    if secret_point:
        legacy_point(d, "Our red line is the mandate.", position=2)
        for i, p in enumerate(extras, start=3):
            d.talking_points.append(
                TalkingPoint(position=i, text=p.text, classification=p.classification, use=p.use)
            )
        session.flush()
    session.commit()
    return d


def legacy_point(
    d: Demarche,
    text: str,
    *,
    position: int,
    classification: Classification = Classification.SECRET,
) -> TalkingPoint:
    """A point marked above its demarche, as rows written before the rule of marks are:
    straight into the demarche's list, past the service that now refuses it (the caller
    flushes). For the tests of what withholding still guards."""
    point = TalkingPoint(
        position=position, text=text, classification=classification, use=PointUse.PRIVATE
    )
    d.talking_points.append(point)
    return point


def tasking_of(session: Session, d: Demarche, code: str) -> Tasking:
    """The demarche's tasking of the post with this code."""
    return next(
        t
        for t in session.scalars(select(Tasking).where(Tasking.demarche_id == d.id))
        if t.post.code == code
    )


def login(client, username: str) -> str:
    """Sign a TestClient in through the real form; returns the session's CSRF token."""
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get("/")
    assert home.status_code == 200, home.text
    return CSRF.search(home.text).group(1)


def delivery_form(csrf: str, version: int, **over) -> dict:
    """The tasking page's delivery form, filled in."""
    body = {
        "csrf_token": csrf,
        "version": version,
        "delivered_on": date.today().isoformat(),
        "delivered_by": "Pol Counselor",
        "recipient_name": "Le Van A",
        "recipient_title": "Director-General",
        "recipient_office": "MFA International Organizations",
        "level": "senior_official",
        "method": "meeting",
        "points": ["1"],
        "notes": "",
    }
    body.update(over)
    return body
