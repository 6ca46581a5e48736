"""Attacks by administrators on access itself (issue 13, item 8): raising their own
clearance, creating accounts cleared above themselves, and changes nobody can trace.

An administrator manages accounts; they never change their own access, never grant more
than they hold, and every change of access is in the audit trail, before and after.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import Role, User
from app.classification import Classification
from tests.factories import demarche_payload, make_post, make_user

API = "/api/v1"
CONF, SECRET = Classification.CONFIDENTIAL, Classification.SECRET


@pytest.fixture
def admins(db):
    """A CONFIDENTIAL administrator (the attacker) and the accounts they manage."""
    make_post(db, "HANOI")
    admin, headers = make_user(db, Role.ADMINISTRATOR, CONF, username="root")
    secret_viewer, _ = make_user(db, Role.VIEWER, SECRET, username="sv")
    viewer, _ = make_user(db, Role.VIEWER, Classification.SBU, username="vi")
    _, desk = make_user(db, Role.DESK_OFFICER, SECRET, username="desk")
    return {
        "admin": admin,
        "h": headers,
        "secret_viewer": secret_viewer,
        "viewer": viewer,
        "desk": desk,
    }


def _user(db, username: str) -> User:
    db.expire_all()
    return db.scalar(select(User).where(User.username == username))


def _changes(db, user: User) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "user", AuditEvent.entity_id == user.id)
            .where(AuditEvent.action == "change")
            .order_by(AuditEvent.id)
        )
    )


def _refused(r, *words: str) -> None:
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["type"] == "/problems/forbidden"
    assert all(w in body["detail"] for w in words), body["detail"]


def test_an_administrator_cannot_raise_their_own_clearance_and_read_secret(client, db, admins):
    h = admins["h"]
    secret = client.post(
        f"{API}/demarches",
        json=demarche_payload([], classification="SECRET"),
        headers=admins["desk"],
    ).json()
    assert client.get(f"{API}/demarches/{secret['id']}", headers=h).status_code == 404
    _refused(client.patch(f"{API}/users/root", json={"clearance": "SECRET"}, headers=h), "own")
    assert _user(db, "root").clearance == CONF
    assert client.get(f"{API}/me", headers=h).json()["clearance"] == "CONFIDENTIAL"
    assert client.get(f"{API}/demarches/{secret['id']}", headers=h).status_code == 404
    assert _changes(db, admins["admin"]) == []  # refused: nothing written


@pytest.mark.parametrize(
    "change",
    [
        {"role": "desk_officer"},
        {"role": "post_officer", "post": "HANOI"},
        {"clearance": "SBU"},  # even downwards: another administrator must
        {"active": False},
        {"post": "HANOI"},
    ],
    ids=["role", "post_officer", "lower_clearance", "deactivate", "post"],
)
def test_an_administrator_changes_none_of_their_own_access(client, db, admins, change):
    r = client.patch(f"{API}/users/root", json=change, headers=admins["h"])
    _refused(r, "own", "another administrator")
    root = _user(db, "root")
    assert (root.role, root.clearance, root.active) == (Role.ADMINISTRATOR, CONF, True)


def test_an_administrator_may_still_rename_themselves_and_repeat_what_is(client, db, admins):
    r = client.patch(
        f"{API}/users/root",
        json={"full_name": "Root Admin", "clearance": "CONFIDENTIAL", "active": True},
        headers=admins["h"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["full_name"] == "Root Admin" and r.json()["clearance"] == "CONFIDENTIAL"


def test_the_self_refusal_comes_before_checking_the_post(client, db, admins):
    r = client.patch(
        f"{API}/users/root", json={"role": "post_officer", "post": "NOWHERE"}, headers=admins["h"]
    )
    _refused(r, "own")  # 403 before the unknown post's 422


def test_no_account_is_created_above_the_creators_clearance(client, db, admins):
    body = {
        "username": "mole",
        "full_name": "M",
        "role": "viewer",
        "clearance": "SECRET",
        "password": "a long enough password",
    }
    r = client.post(f"{API}/users", json=body, headers=admins["h"])
    _refused(r, "at most your own clearance", "CONFIDENTIAL")
    assert _user(db, "mole") is None
    # Up to their own clearance, they may.
    ok = client.post(
        f"{API}/users", json={**body, "clearance": "CONFIDENTIAL"}, headers=admins["h"]
    )
    assert ok.status_code == 201, ok.text


def test_the_grant_refusal_comes_before_the_duplicate_and_the_post(client, db, admins):
    for body in (
        {"username": "sv", "full_name": "X", "role": "viewer", "clearance": "SECRET"},
        {
            "username": "new",
            "full_name": "X",
            "role": "post_officer",
            "clearance": "SECRET",
            "post": "NOWHERE",
        },
    ):
        _refused(client.post(f"{API}/users", json=body, headers=admins["h"]), "clearance")


def test_no_grant_above_the_granters_clearance(client, db, admins):
    h = admins["h"]
    _refused(client.patch(f"{API}/users/vi", json={"clearance": "SECRET"}, headers=h), "SECRET")
    assert _user(db, "vi").clearance == Classification.SBU
    # Another role, another post or reactivation of a SECRET account grants at SECRET.
    for change in ({"role": "desk_officer"}, {"role": "post_officer", "post": "HANOI"}):
        _refused(client.patch(f"{API}/users/sv", json=change, headers=h), "clearance")
    assert _user(db, "sv").role == Role.VIEWER
    assert _changes(db, admins["secret_viewer"]) == []


def test_taking_access_away_is_open_to_any_administrator(client, db, admins):
    h = admins["h"]
    r = client.patch(f"{API}/users/sv", json={"active": False}, headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    _refused(client.patch(f"{API}/users/sv", json={"active": True}, headers=h), "clearance")
    r = client.patch(f"{API}/users/sv", json={"clearance": "CONFIDENTIAL"}, headers=h)
    assert r.status_code == 200 and r.json()["clearance"] == "CONFIDENTIAL"
    # Now within the administrator's clearance: reactivation is theirs to grant.
    assert client.patch(f"{API}/users/sv", json={"active": True}, headers=h).status_code == 200


def test_every_change_of_access_is_audited_before_and_after(client, db, admins):
    h, admin = admins["h"], admins["admin"]
    r = client.post(
        f"{API}/users",
        json={
            "username": "minh",
            "full_name": "Minh",
            "role": "post_officer",
            "clearance": "CONFIDENTIAL",
            "post": "HANOI",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    minh = _user(db, "minh")
    created = db.scalar(
        select(AuditEvent).where(
            AuditEvent.entity == "user",
            AuditEvent.entity_id == minh.id,
            AuditEvent.action == "create",
        )
    )
    assert created.actor_id == admin.id and created.before is None
    assert created.after == {
        "role": "post_officer",
        "clearance": "CONFIDENTIAL",
        "post": "HANOI",
        "active": True,
    }

    client.patch(f"{API}/users/minh", json={"role": "viewer", "clearance": "SBU"}, headers=h)
    client.patch(f"{API}/users/minh", json={"active": False}, headers=h)
    client.patch(f"{API}/users/minh", json={"full_name": "Minh"}, headers=h)  # no change
    events = _changes(db, minh)
    assert [(e.actor_id, e.before, e.after) for e in events] == [
        (
            admin.id,
            {"role": "post_officer", "clearance": "CONFIDENTIAL", "post": "HANOI"},
            {"role": "viewer", "clearance": "SBU", "post": None},
        ),
        (admin.id, {"active": True}, {"active": False}),
    ]
    assert all(e.demarche_id is None for e in events)  # on no demarche's timeline


def test_an_unknown_user_is_404_before_any_refusal(client, db, admins):
    r = client.patch(f"{API}/users/ghost", json={"clearance": "SECRET"}, headers=admins["h"])
    assert r.status_code == 404


def test_two_administrators_cannot_raise_each_other_past_themselves(client, db, admins):
    """The second account the attacker makes is no ladder: it holds no more than they do."""
    h = admins["h"]
    r = client.post(
        f"{API}/users",
        json={
            "username": "root2",
            "full_name": "R2",
            "role": "administrator",
            "clearance": "CONFIDENTIAL",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    _refused(
        client.patch(f"{API}/users/root2", json={"clearance": "SECRET"}, headers=h), "clearance"
    )
