"""The administrator's pages (issue 15): users, posts and collectives managed in the
browser, over the same services and rules as the API, each refusal said beside its
field, each change audited, and every other role refused with a readable 403 page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import ApiToken, Role, User, WebSession
from app.auth.service import issue_token
from app.classification import Classification
from app.posts.models import Collective, Post
from tests.factories import login, make_collective, make_post, make_signin_user

CONF = Classification.CONFIDENTIAL


@pytest.fixture
def admin_world(db):
    hanoi = make_post(db, "HANOI", city="Hanoi")
    make_post(db, "PARIS")
    admin = make_signin_user(db, "root", Role.ADMINISTRATOR, CONF)
    make_signin_user(db, "desk", Role.DESK_OFFICER, CONF)
    make_signin_user(db, "hanoi", Role.POST_OFFICER, CONF, "HANOI")
    make_signin_user(db, "secret", Role.VIEWER, Classification.SECRET)
    make_collective(db, "UNSC", "UN SECURITY COUNCIL COLLECTIVE", [hanoi])
    return admin


def _user(db, username: str) -> User:
    db.expire_all()
    return db.scalar(select(User).where(User.username == username))


def _version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def test_the_admins_menu_links_to_the_admin_pages_and_the_landing_page_to_each(
    client, db, admin_world
):
    login(client, "root")
    home = client.get("/").text
    for link in ('href="/admin"', 'href="/admin/users"', 'href="/admin/posts"'):
        assert link in home
    landing = client.get("/admin")
    assert landing.status_code == 200
    assert 'href="/admin/collectives"' in landing.text and "4 accounts" in landing.text


def test_admin_adds_a_user_from_the_page_and_errors_sit_beside_their_fields(
    client, db, admin_world
):
    csrf = login(client, "root")
    page = client.get("/admin/users")
    assert page.status_code == 200 and "hanoi" in page.text
    # An administrator cleared CONFIDENTIAL is not offered SECRET to grant.
    assert '<option value="SECRET"' not in page.text
    bad = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "x y",
            "full_name": "",
            "role": "viewer",
            "clearance": "SBU",
        },
    )
    assert bad.status_code == 422
    assert 'id="username-error"' in bad.text and 'id="full_name-error"' in bad.text
    taken = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "desk",
            "full_name": "Again",
            "role": "viewer",
            "clearance": "SBU",
        },
    )
    assert taken.status_code == 409 and 'id="username-error"' in taken.text
    above = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "spy",
            "full_name": "Spy",
            "role": "viewer",
            "clearance": "SECRET",
        },
    )
    assert above.status_code == 403 and 'id="clearance-error"' in above.text
    assert _user(db, "spy") is None
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "NewOfficer",
            "full_name": "New Officer",
            "role": "post_officer",
            "clearance": "SBU",
            "post": "HANOI",
            "password": "a-long-password-1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/users/newofficer?done=created"
    shown = client.get(r.headers["location"])
    assert "User added." in shown.text
    made = _user(db, "newofficer")
    assert (made.role, made.clearance, made.post.code) == (
        Role.POST_OFFICER,
        Classification.SBU,
        "HANOI",
    )
    assert (
        db.scalar(
            select(AuditEvent).where(AuditEvent.entity == "user", AuditEvent.entity_id == made.id)
        ).actor_id
        == admin_world.id
    )


def test_admin_changes_role_and_disables_but_never_their_own_access(client, db, admin_world):
    csrf = login(client, "root")
    page = client.get("/admin/users/hanoi").text
    r = client.post(
        "/admin/users/hanoi",
        data={
            "csrf_token": csrf,
            "version": _version(page),
            "full_name": "Hanoi Officer",
            "role": "viewer",
            "clearance": "SBU",
            "post": "HANOI",
            "active": "no",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    u = _user(db, "hanoi")
    assert (u.role, u.clearance, u.post, u.active) == (Role.VIEWER, Classification.SBU, None, False)
    # The form read before that change is stale now: refused, nothing saved.
    stale = client.post(
        "/admin/users/hanoi",
        data={
            "csrf_token": csrf,
            "version": _version(page),
            "full_name": "Hanoi Officer",
            "role": "desk_officer",
            "clearance": "SBU",
            "active": "yes",
        },
    )
    assert stale.status_code == 412 and "Someone else changed this user" in stale.text
    assert _user(db, "hanoi").role == Role.VIEWER

    mine = client.get("/admin/users/root").text
    own = client.post(
        "/admin/users/root",
        data={
            "csrf_token": csrf,
            "version": _version(mine),
            "full_name": "Root",
            "role": "administrator",
            "clearance": "UNCLASSIFIED",
            "active": "yes",
        },
    )
    assert own.status_code == 403 and "another administrator must" in own.text
    assert _user(db, "root").clearance == CONF


def test_admin_resets_a_password_and_revokes_tokens_of_no_one_cleared_above_them(
    client, db, admin_world
):
    desk = _user(db, "desk")
    issue_token(db, user=desk, name="laptop")
    db.commit()
    # The desk is signed in somewhere: the reset signs that browser out.
    other = client.__class__(client.app)
    login(other, "desk")
    csrf = login(client, "root")
    short = client.post(
        "/admin/users/desk/password",
        data={"csrf_token": csrf, "password": "short", "confirm": "short"},
    )
    assert short.status_code == 422 and 'id="password-error"' in short.text
    r = client.post(
        "/admin/users/desk/password",
        data={"csrf_token": csrf, "password": "a-new-password-2", "confirm": "a-new-password-2"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    assert (
        db.scalars(
            select(WebSession).where(WebSession.user_id == desk.id, WebSession.revoked_at.is_(None))
        ).all()
        == []
    )
    r = client.post(
        "/admin/users/desk/tokens/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    db.expire_all()
    assert all(
        t.revoked_at is not None
        for t in db.scalars(select(ApiToken).where(ApiToken.user_id == desk.id))
    )
    # A SECRET account is not a CONFIDENTIAL administrator's to take over.
    for path, data in (
        ("/admin/users/secret/password", {"password": "p" * 14, "confirm": "p" * 14}),
        ("/admin/users/secret/tokens/revoke", {}),
    ):
        refused = client.post(path, data={"csrf_token": csrf, **data})
        assert refused.status_code == 403 and "above your own clearance" in refused.text
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.entity == "user", AuditEvent.entity_id == desk.id
        )
    ).all()
    assert "reset_password" in actions and "revoke_tokens" in actions


def test_admin_adds_and_edits_a_post_and_a_collective_from_the_pages(client, db, admin_world):
    csrf = login(client, "root")
    assert "HANOI" in client.get("/admin/posts").text
    r = client.post(
        "/admin/posts",
        data={
            "csrf_token": csrf,
            "code": "suva",
            "name": "AMEMBASSY SUVA",
            "kind": "embassy",
            "city": "Suva",
            "country": "Fiji",
            "routing_indicator": "RUEHSV",
            "region": "EAP",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/posts/SUVA?done=created"
    clash = client.post(
        "/admin/posts",
        data={
            "csrf_token": csrf,
            "code": "NADI",
            "name": "AMCONSUL NADI",
            "kind": "consulate",
            "city": "Nadi",
            "country": "Fiji",
            "routing_indicator": "RUEHSV",
            "region": "EAP",
        },
    )
    assert clash.status_code == 409 and 'id="routing_indicator-error"' in clash.text
    page = client.get("/admin/posts/SUVA").text
    r = client.post(
        "/admin/posts/SUVA",
        data={
            "csrf_token": csrf,
            "version": _version(page),
            "name": "AMEMBASSY SUVA",
            "kind": "embassy",
            "city": "Suva",
            "country": "Fiji, Nauru, Tonga",
            "routing_indicator": "RUEHSV",
            "region": "EAP",
            "active": "no",
            "time_zone": "Pacific/Fiji",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    suva = db.scalar(select(Post).where(Post.code == "SUVA"))
    assert (suva.country, suva.active, suva.time_zone) == (
        "Fiji, Nauru, Tonga",
        False,
        "Pacific/Fiji",
    )
    # A zone the zone database does not know is refused beside its field; nothing changes.
    page = client.get("/admin/posts/SUVA").text
    assert 'value="Pacific/Fiji"' in page
    bad = client.post(
        "/admin/posts/SUVA",
        data={
            "csrf_token": csrf,
            "version": _version(page),
            "name": "AMEMBASSY SUVA",
            "kind": "embassy",
            "city": "Suva",
            "country": "Fiji",
            "region": "EAP",
            "time_zone": "Mars/Olympus",
        },
    )
    assert bad.status_code == 422 and 'id="time_zone-error"' in bad.text
    db.expire_all()
    assert db.scalar(select(Post.time_zone).where(Post.code == "SUVA")) == "Pacific/Fiji"

    r = client.post(
        "/admin/collectives",
        data={"csrf_token": csrf, "code": "eu", "name": "EU member states collective"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/collectives/EU?done=created"
    r = client.post(
        "/admin/collectives/EU/members",
        data={"csrf_token": csrf, "post": "PARIS", "valid_from": "2004-05-01", "valid_to": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    backwards = client.post(
        "/admin/collectives/EU/members",
        data={
            "csrf_token": csrf,
            "post": "HANOI",
            "valid_from": "2010-01-01",
            "valid_to": "2009-01-01",
        },
    )
    assert backwards.status_code == 422 and 'id="valid_to-error"' in backwards.text
    page = client.get("/admin/collectives/EU").text
    assert "PARIS" in page and "2004-05-01" in page
    c = db.scalar(select(Collective).where(Collective.code == "EU"))
    db.refresh(c)
    m = c.memberships[0]
    r = client.post(
        f"/admin/collectives/EU/members/{m.id}/end",
        data={"csrf_token": csrf, "valid_to": "2004-04-01"},
    )
    assert r.status_code == 422 and f'id="end-{m.id}-error"' in r.text
    r = client.post(
        f"/admin/collectives/EU/members/{m.id}/end",
        data={"csrf_token": csrf, "valid_to": "2020-01-31"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    assert str(db.get(type(m), m.id).valid_to) == "2020-01-31"


@pytest.mark.parametrize("who", ["desk", "hanoi", "secret"])
def test_no_one_else_reaches_the_admin_pages_or_writes_through_them(client, db, admin_world, who):
    csrf = login(client, who)
    home = client.get("/").text
    assert 'href="/admin' not in home
    for path in (
        "/admin",
        "/admin/users",
        "/admin/posts",
        "/admin/collectives",
        "/admin/users/root",
        "/admin/collectives/UNSC",
    ):
        r = client.get(path)
        assert r.status_code == 403, path
        assert "<h1>Forbidden</h1>" in r.text or "may not" in r.text
    for path, data in (
        (
            "/admin/users",
            {
                "username": "mine",
                "full_name": "Mine",
                "role": "administrator",
                "clearance": "SECRET",
            },
        ),
        ("/admin/collectives", {"code": "MINE", "name": "MY COLLECTIVE"}),
        ("/admin/collectives/UNSC/members", {"post": "PARIS"}),
        (
            "/admin/posts",
            {
                "code": "MINE",
                "name": "AMEMBASSY MINE",
                "kind": "embassy",
                "city": "M",
                "country": "M",
                "region": "EUR",
            },
        ),
    ):
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    assert _user(db, "mine") is None
    assert db.scalar(select(Collective).where(Collective.code == "MINE")) is None
