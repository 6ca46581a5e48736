"""Collectives over the API: dated memberships, the all-posts collective, who may write,
and the resolution of a cable addressed to one on the cable's date (issue 15)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import Role
from app.cables.parser import parse_cable
from app.cables.registry import resolve_addressees
from app.classification import Classification
from app.posts.models import CollectiveMembership, PostKind
from tests.cables._corpus import CABLES, needs_corpus
from tests.factories import make_collective, make_post, make_user, write

API = "/api/v1/collectives"


@pytest.fixture
def admin(db):
    return make_user(db, Role.ADMINISTRATOR, Classification.SECRET, username="registrar")[1]


def test_admin_registers_a_collective_whose_members_change_each_january(client, db, admin):
    for code in ("BEIJING", "HANOI", "JAKARTA"):
        make_post(db, code)
    body = {
        "code": "unsc",
        "name": "UN Security Council Collective",
        "members": [
            {"post": "beijing"},  # permanent: since before the registry knew
            {"post": "JAKARTA", "valid_from": "2007-01-01", "valid_to": "2008-12-31"},
            {"post": "HANOI", "valid_from": "2008-01-01", "valid_to": "2009-12-31"},
        ],
    }
    r = client.post(API, json=body, headers=admin)
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["code"], c["name"]) == ("UNSC", "UN SECURITY COUNCIL COLLECTIVE")
    assert r.headers["etag"] == f'W/"collective-{c["id"]}-v1"'

    def members(on: str) -> list[str]:
        got = client.get(f"{API}/UNSC", params={"on": on}, headers=admin)
        assert got.status_code == 200, got.text
        assert got.json()["members_on"] == on
        return got.json()["members"]

    assert members("2007-12-14") == ["BEIJING", "JAKARTA"]
    assert members("2008-06-01") == ["BEIJING", "HANOI", "JAKARTA"]
    assert members("2009-01-01") == ["BEIJING", "HANOI"]
    assert members("2010-01-01") == ["BEIJING"]

    # Beijing's membership ends; kept, so older cables still find it.
    beijing = next(m for m in c["memberships"] if m["post"] == "BEIJING")
    r = client.post(
        f"{API}/UNSC/members/{beijing['id']}/end", json={"valid_to": "2009-06-30"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["valid_to"] == "2009-06-30"
    assert members("2009-07-01") == ["HANOI"]
    assert members("2009-06-30") == ["BEIJING", "HANOI"]
    # Ending it again later is a conflict; before it began, invalid.
    again = client.post(
        f"{API}/UNSC/members/{beijing['id']}/end", json={"valid_to": "2009-12-31"}, headers=admin
    )
    assert again.status_code == 409, again.text
    hanoi = next(m for m in c["memberships"] if m["post"] == "HANOI")
    early = client.post(
        f"{API}/UNSC/members/{hanoi['id']}/end", json={"valid_to": "2007-06-30"}, headers=admin
    )
    assert early.status_code == 422 and early.headers["content-type"] == "application/problem+json"

    # A second term that overlaps the first is refused; one after it is a new row.
    overlap = client.post(
        f"{API}/UNSC/members", json={"post": "HANOI", "valid_from": "2009-06-01"}, headers=admin
    )
    assert overlap.status_code == 409, overlap.text
    second = client.post(
        f"{API}/UNSC/members", json={"post": "HANOI", "valid_from": "2020-01-01"}, headers=admin
    )
    assert second.status_code == 201, second.text
    assert members("2015-01-01") == []
    assert members("2020-01-01") == ["HANOI"]
    unknown = client.post(f"{API}/UNSC/members", json={"post": "NOWHERE"}, headers=admin)
    assert unknown.status_code == 422

    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.entity == "collective").order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "create",
        "add_member",
        "add_member",
        "add_member",
        "end_member",
        "add_member",
    ]


def test_rename_needs_if_match_and_a_name_is_unique(client, db, admin):
    make_collective(db, "NATO", "ALL NATO POST COLLECTIVE", [make_post(db, "PARIS")])
    make_collective(db, "EU", "EU MEMBER STATES COLLECTIVE", [])
    blind = client.patch(f"{API}/NATO", json={"routing_indicator": "RUEHXN"}, headers=admin)
    assert blind.status_code == 428
    r = write(client, "PATCH", f"{API}/NATO", admin, json={"routing_indicator": "RUEHXN"})
    assert r.status_code == 200 and r.json()["routing_indicator"] == "RUEHXN"
    stale = client.patch(
        f"{API}/NATO",
        json={"routing_indicator": "RUEHXO"},
        headers={**admin, "If-Match": r.headers["etag"].replace("-v2", "-v1")},
    )
    assert stale.status_code == 412
    clash = write(
        client, "PATCH", f"{API}/NATO", admin, json={"name": "EU MEMBER STATES COLLECTIVE"}
    )
    assert clash.status_code == 409
    dup = client.post(API, json={"code": "EU", "name": "ANOTHER"}, headers=admin)
    assert dup.status_code == 409


def test_all_diplomatic_and_consular_posts_is_every_active_post(client, db, admin):
    make_post(db, "HANOI")
    make_post(db, "PARIS")
    make_post(db, "CLOSED", active=False)
    r = client.post(
        API,
        json={"code": "ALLPOSTS", "name": "ALL DIPLOMATIC AND CONSULAR POSTS", "all_posts": True},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["members"] == ["HANOI", "PARIS"] and r.json()["memberships"] == []
    make_post(db, "SUVA", kind=PostKind.EMBASSY)  # a post added later belongs at once
    assert client.get(f"{API}/ALLPOSTS", headers=admin).json()["members"] == [
        "HANOI",
        "PARIS",
        "SUVA",
    ]
    listed = client.post(f"{API}/ALLPOSTS/members", json={"post": "HANOI"}, headers=admin)
    assert listed.status_code == 422


@pytest.mark.parametrize(
    "role,post",
    [(Role.POST_OFFICER, "HANOI"), (Role.DESK_OFFICER, None), (Role.VIEWER, None)],
)
def test_only_administrators_write_collectives_and_everyone_reads_them(client, db, role, post):
    hanoi = make_post(db, "HANOI")
    make_collective(db, "UNSC", "UN SECURITY COUNCIL COLLECTIVE", [hanoi])
    _, headers = make_user(db, role, Classification.SECRET, hanoi if post else None)
    assert client.get(API, headers=headers).json()["items"][0]["members"] == ["HANOI"]
    assert client.get(f"{API}/UNSC", headers=headers).status_code == 200
    for method, path, body in (
        ("POST", API, {"code": "MINE", "name": "MY COLLECTIVE"}),
        ("PATCH", f"{API}/UNSC", {"name": "RENAMED"}),
        ("POST", f"{API}/UNSC/members", {"post": "HANOI", "valid_from": "2030-01-01"}),
        ("POST", f"{API}/UNSC/members/1/end", {"valid_to": "2030-01-01"}),
    ):
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 403, (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert client.get(f"{API}/MINE", headers=headers).status_code == 404


# -- a cable addressed to a collective ------------------------------------------------


def _kosovo_world(db):
    """The Security Council of 2007 and 2008, and the posts 07STATE166909 names."""
    posts = {
        code: make_post(db, code, name=f"AMEMBASSY {name}", city=name.title(), country=country)
        for code, name, country in (
            ("BEIJING", "BEIJING", "China"),
            ("MOSCOW", "MOSCOW", "Russia"),
            ("JAKARTA", "JAKARTA", "Indonesia"),
            ("DOHA", "DOHA", "Qatar"),
            ("HANOI", "HANOI", "Vietnam"),
            ("TRIPOLI", "TRIPOLI", "Libya"),
            ("SANJOSE", "SAN JOSE", "Costa Rica"),
            ("OUAGADOUGOU", "OUAGADOUGOU", "Burkina Faso"),
        )
    }
    c = make_collective(
        db, "UNSC", "UN SECURITY COUNCIL COLLECTIVE", [posts["BEIJING"], posts["MOSCOW"]]
    )
    for code in ("JAKARTA", "DOHA"):  # elected for 2007-2008
        c.memberships.append(
            CollectiveMembership(
                post=posts[code], valid_from=date(2007, 1, 1), valid_to=date(2008, 12, 31)
            )
        )
    for code in ("HANOI", "TRIPOLI", "SANJOSE", "OUAGADOUGOU"):  # elected for 2008-2009
        c.memberships.append(
            CollectiveMembership(
                post=posts[code], valid_from=date(2008, 1, 1), valid_to=date(2009, 12, 31)
            )
        )
    db.commit()
    return posts


@needs_corpus
def test_the_kosovo_cable_tasks_the_council_of_its_day_except_beijing(db):
    _kosovo_world(db)
    parsed = parse_cable((CABLES / "07STATE166909.txt").read_text())
    resolved = resolve_addressees(db, parsed, on=date(2007, 12, 14))
    (unsc,) = resolved.collectives
    # December 2007: the permanent members and those elected for 2007, not 2008's.
    assert [p.code for p in unsc.members] == ["BEIJING", "DOHA", "JAKARTA", "MOSCOW"]
    assert [(e.post.code, e.said) for e in unsc.excluded] == [("BEIJING", "Beijing")]
    assert [p.code for p in unsc.tasked] == ["DOHA", "JAKARTA", "MOSCOW"]
    roles = {t.post: t.role.value for t in resolved.targets}
    assert roles == {
        "DOHA": "action",
        "JAKARTA": "action",
        "MOSCOW": "action",
        # Named on the TO lines themselves (the 2008 members-to-be).
        "HANOI": "action",
        "TRIPOLI": "action",
        "SANJOSE": "action",
        "OUAGADOUGOU": "action",
        "BEIJING": "info",  # "(except Beijing) ... This message is info only for Beijing"
    }
    # A year later the same collective is the 2008 Council.
    later = resolve_addressees(db, parsed, on=date(2008, 12, 14))
    assert [p.code for p in later.collectives[0].members] == [
        "BEIJING",
        "DOHA",
        "HANOI",
        "JAKARTA",
        "MOSCOW",
        "OUAGADOUGOU",
        "SANJOSE",
        "TRIPOLI",
    ]


@needs_corpus
def test_an_exclusion_names_posts_by_city_after_embassies_and_never_an_explicit_addressee(db):
    """09STATE97244: TO ALL NATO POST COLLECTIVE ... "(except for Embassies Warsaw and
    Prague)"; Beijing and Moscow on the TO lines are not NATO members and stay."""
    nato = [make_post(db, c, city=c.title()) for c in ("WARSAW", "PRAGUE", "PARIS", "ROME")]
    make_post(db, "BEIJING", routing_indicator="RUEHBJ")
    make_collective(db, "NATO", "ALL NATO POST COLLECTIVE", nato, valid_from=date(2004, 1, 1))
    parsed = parse_cable((CABLES / "09STATE97244.txt").read_text())
    resolved = resolve_addressees(db, parsed, on=date(2009, 9, 18))
    (c,) = resolved.collectives
    assert sorted(e.post.code for e in c.excluded) == ["PRAGUE", "WARSAW"]
    assert [p.code for p in c.tasked] == ["PARIS", "ROME"]
    codes = {t.post for t in resolved.targets}
    assert {"PARIS", "ROME", "BEIJING"} <= codes and not codes & {"PRAGUE", "WARSAW"}


def test_a_collective_with_no_members_that_day_is_said_not_silently_dropped(db):
    hanoi = make_post(db, "HANOI")
    make_collective(
        db,
        "UNSC",
        "UN SECURITY COUNCIL COLLECTIVE",
        [hanoi],
        valid_from=date.today() + timedelta(days=30),
    )
    text = (
        "O 140153Z DEC 07\nFM SECSTATE WASHDC\nTO UN SECURITY COUNCIL COLLECTIVE IMMEDIATE\n\n"
        "UNCLAS STATE 000001\n\nSUBJECT: TEST\n\n1. (U) This is an action request. Please "
        "deliver the points below.\n"
    )
    resolved = resolve_addressees(db, parse_cable(text), on=date(2007, 12, 14))
    assert resolved.targets == []
    assert [u.reason for u in resolved.unresolved] == [
        "the collective had no members on 2007-12-14"
    ]
