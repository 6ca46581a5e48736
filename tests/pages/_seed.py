"""Rows and sign-ins shared by the page tests and the browser tests."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.service import add_user
from app.classification import Classification
from app.demarches import service as demarches
from app.demarches.models import Demarche
from app.demarches.schemas import DemarcheIn, TalkingPointIn, TargetIn
from app.posts.models import Collective, Post, PostKind, Region

PASSWORD = "correct-horse-battery-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def post(session: Session, code: str, region: Region = Region.EUR) -> Post:
    p = Post(
        code=code,
        name=f"AMEMBASSY {code}",
        kind=PostKind.EMBASSY,
        city=code.title(),
        country=f"Country {code.title()}",
        region=region,
    )
    session.add(p)
    session.flush()
    return p


def user(
    session: Session,
    username: str,
    role: Role = Role.DESK_OFFICER,
    clearance: Classification = Classification.SECRET,
    post_code: str | None = None,
) -> User:
    return add_user(
        session,
        username=username,
        full_name=f"{username.title()} Officer",
        role=role,
        clearance=clearance,
        post_code=post_code,
        password=PASSWORD,
    )


def collective(session: Session, code: str, name: str, members: list[Post]) -> Collective:
    c = Collective(code=code, name=name, members=members)
    session.add(c)
    session.flush()
    return c


def demarche(
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
    """A demarche to these posts; issued_on in the past (with a past deadline) makes it late."""
    deadline = deadline or date.today() + timedelta(days=10)
    points = [TalkingPointIn(text="We ask you to vote yes.", classification="UNCLASSIFIED")]
    if secret_point:
        points.append(TalkingPointIn(text="Our red line is the mandate.", classification="SECRET"))
    points += [
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
            tags=list(tags),
            objectives=["Secure a yes vote."],
            talking_points=points,
            targets=[TargetIn(post=p.code) for p in posts],
        ),
        actor=desk,
    )
    if issue:
        demarches.issue(session, d, actor=desk, today=issued_on)
    session.flush()
    return d


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
