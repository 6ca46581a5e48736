"""The pages follow the same access rules as the API, route by route, from the route table.

Signed-out visitors are sent to sign in; forms need the session's CSRF token;
and every page route answers each kind of user as its rule says: a 404 page
where they may not know the record exists, a 403 page where they may not act.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.auth.models import Role
from app.auth.service import open_session
from app.classification import Classification
from app.demarches.models import Demarche
from app.taskings.models import Tasking
from tests.auth.matrix import (
    ADMIN,
    ANYONE,
    CLASSIFICATIONS,
    DESK,
    INGEST,
    Actor,
    Rule,
    World,
    always,
    build_worlds,
    fresh,
    own_post,
    own_post_or_desk,
    sees_demarche,
    sees_tasking,
)
from tests.routes import RouteKey, route_table

POST_OFFICERS = lambda a, _w: a.user.role == Role.POST_OFFICER  # noqa: E731

# The calendar feed: its secret address is its credential (tests/dashboards/test_calendar.py).
PUBLIC = {
    RouteKey("GET", "/login"),
    RouteKey("POST", "/login"),
    RouteKey("GET", "/calendar/{secret}.ics"),
}

PAGE_RULES: dict[RouteKey, Rule] = {
    RouteKey("GET", "/"): Rule(always, ANYONE),
    RouteKey("GET", "/overdue"): Rule(always, ANYONE),
    RouteKey("GET", "/calendar"): Rule(always, ANYONE),
    RouteKey("POST", "/calendar/rotate"): Rule(always, ANYONE),
    RouteKey("GET", "/search"): Rule(always, ANYONE),
    RouteKey("POST", "/logout"): Rule(always, ANYONE),
    RouteKey("GET", "/inbox"): Rule(always, POST_OFFICERS, role_first=True),
    # The post's finished work: its own inbox's history, for its post officers only.
    RouteKey("GET", "/inbox/history"): Rule(always, POST_OFFICERS, role_first=True),
    # The tasking's own page: a post officer's, role first like the inbox; another post's
    # tasking, or one above the officer's clearance, is a 404 like any unseen record.
    RouteKey("GET", "/inbox/{tasking_id}"): Rule(sees_tasking, POST_OFFICERS, role_first=True),
    RouteKey("GET", "/demarches/new"): Rule(always, DESK, role_first=True),
    RouteKey("POST", "/demarches/new"): Rule(always, DESK, role_first=True),
    RouteKey("GET", "/demarches/{demarche_id}"): Rule(sees_demarche, ANYONE),
    RouteKey("GET", "/demarches/{demarche_id}/results"): Rule(sees_demarche, ANYONE),
    # The amendment form is refused as its POST is: 404 out of sight, then 403 but the desk.
    RouteKey("GET", "/demarches/{demarche_id}/amend"): Rule(sees_demarche, DESK),
    RouteKey("GET", "/demarches/{demarche_id}/edit"): Rule(sees_demarche, DESK),
    RouteKey("GET", "/demarches/{demarche_id}/cable.txt"): Rule(sees_demarche, ANYONE),
    **{
        RouteKey("POST", f"/demarches/{{demarche_id}}/{verb}"): Rule(sees_demarche, DESK)
        for verb in ("issue", "cancel", "close", "amend", "edit")
    },
    **{
        RouteKey("POST", f"/inbox/{{tasking_id}}/{verb}"): Rule(sees_tasking, own_post)
        for verb in ("acknowledge", "deliver", "respond")
    },
    RouteKey("POST", "/taskings/{tasking_id}/move"): Rule(sees_tasking, own_post),
    # The desk's chasing pages: a list anyone may read (the policy filters it), a tasking's
    # page (a post officer is sent on to its inbox's), and the extension only the desk makes.
    RouteKey("GET", "/taskings"): Rule(always, ANYONE),
    RouteKey("GET", "/taskings/{tasking_id}"): Rule(sees_tasking, ANYONE),
    RouteKey("GET", "/taskings/{tasking_id}/report-cable.txt"): Rule(sees_tasking, ANYONE),
    RouteKey("POST", "/taskings/{tasking_id}/extend"): Rule(sees_tasking, DESK),
    RouteKey("GET", "/cables/import"): Rule(always, INGEST, role_first=True),
    RouteKey("POST", "/cables/import/instruction"): Rule(always, DESK, role_first=True),
    RouteKey("POST", "/cables/import/reply"): Rule(always, INGEST, role_first=True),
    # The reply import is a page of its own (a post officer's only import page).
    RouteKey("GET", "/cables/import/reply"): Rule(always, INGEST, role_first=True),
    # A held cable drafted again: the desk's (role first), then 404 for a cable out of sight
    # (the world's cable is its demarche's source, classified as it is).
    RouteKey("POST", "/cables/{cable_id}/draft"): Rule(sees_demarche, DESK, role_first=True),
    # A bookmark of a POST's address redirects to the page it belongs to, for anyone.
    **{
        RouteKey("GET", path): Rule(always, ANYONE)
        for path in (
            "/cables/import/instruction",
            "/cables/{cable_id}/draft",
            "/demarches/{demarche_id}/issue",
            "/demarches/{demarche_id}/cancel",
            "/demarches/{demarche_id}/close",
        )
    },
    RouteKey("GET", "/cables/replies/{reply_id}"): Rule(sees_tasking, ANYONE),
    RouteKey("POST", "/cables/replies/{reply_id}/confirm"): Rule(sees_tasking, own_post_or_desk),
    RouteKey("POST", "/cables/replies/{reply_id}/reject"): Rule(sees_tasking, own_post_or_desk),
    RouteKey("POST", "/cables/replies/{reply_id}/match"): Rule(sees_tasking, DESK),
    RouteKey("POST", "/cables/replies/unmatched/rematch"): Rule(always, DESK, role_first=True),
    # Notifications: everyone's own; another's is as if missing.
    RouteKey("GET", "/notifications"): Rule(always, ANYONE),
    RouteKey("POST", "/notifications/read"): Rule(always, ANYONE),
    RouteKey("POST", "/notifications/{notification_id}/read"): Rule(
        lambda a, _w: a.name == "desk", ANYONE
    ),
    # "Remind post" on the overdue board: the desk's, refused to other roles at once.
    RouteKey("POST", "/overdue/remind"): Rule(always, DESK, role_first=True),
    # The administrator's pages: refused to every other role before any lookup.
    **{
        RouteKey(method, path): Rule(always, ADMIN, role_first=True)
        for method, path in (
            ("GET", "/admin"),
            ("GET", "/admin/users"),
            ("POST", "/admin/users"),
            ("GET", "/admin/users/{username}"),
            ("POST", "/admin/users/{username}"),
            ("POST", "/admin/users/{username}/password"),
            ("POST", "/admin/users/{username}/tokens/revoke"),
            ("GET", "/admin/posts"),
            ("POST", "/admin/posts"),
            ("GET", "/admin/posts/{code}"),
            ("POST", "/admin/posts/{code}"),
            ("GET", "/admin/collectives"),
            ("POST", "/admin/collectives"),
            ("GET", "/admin/collectives/{code}"),
            ("POST", "/admin/collectives/{code}"),
            ("POST", "/admin/collectives/{code}/members"),
            ("POST", "/admin/collectives/{code}/members/{membership_id}/end"),
        )
    },
}


def page_routes() -> list[RouteKey]:
    from app.main import create_app

    return [
        k
        for k in route_table(create_app())
        if not k.path.startswith(("/api/", "/static", "/health/")) and k.path != "/health"
    ]


ALL_PAGES = page_routes()


# As in test_access_matrix: the worlds are built once per database, and every case (and
# every world in it) runs in a savepoint rolled back after it (conftest's case_db,
# matrix.fresh), so each meets the world as built.
@pytest.fixture
def db(case_db):
    return case_db


@pytest.fixture(scope="module")
def worlds(build_once) -> dict[Classification, World]:
    return build_once(build_worlds)


def test_every_page_route_has_a_rule():
    missing = [str(k) for k in ALL_PAGES if k not in PAGE_RULES and k not in PUBLIC]
    assert not missing, f"page routes without an access rule: {missing}"


def _url(key: RouteKey, w: World) -> str:
    path = key.path
    if path.startswith("/admin/collectives/"):
        path = path.replace("{code}", w.collective)
    return (
        path.replace("{demarche_id}", str(w.demarche_id))
        .replace("{tasking_id}", str(w.tasking_id))
        .replace("{reply_id}", str(w.reply_id))
        .replace("{cable_id}", str(w.cable_id))
        .replace("{membership_id}", str(w.membership_id))
        .replace("{notification_id}", str(w.notification_id))
        .replace("{code}", w.post_a)
        .replace("{username}", w.actors["viewer"].user.username)
    )


def _form(db, w: World, csrf: str) -> dict[str, Any]:
    """A form with what any of the page forms needs; each handler reads its own fields."""
    tasking = db.get(Tasking, w.tasking_id)
    demarche = db.get(Demarche, w.demarche_id)
    db.refresh(tasking)
    db.refresh(demarche)
    version = tasking.version
    return {
        "csrf_token": csrf,
        "version": str(version),
        "demarche_version": str(demarche.version),
        "action": "mark_unable",
        "reason": "a reason",
        "note": "a note",
        "subject": "A subject",
        "text": "not a cable",
        "posts": w.post_b,
        "tasking_id": str(w.tasking_id),
    }


def _signed_in(client, db, a: Actor) -> str:
    opened = open_session(db, user=a.user)
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    return opened.web_session.csrf_token


@pytest.mark.parametrize("key", [k for k in ALL_PAGES if k not in PUBLIC], ids=str)
def test_signed_out_visitors_are_sent_to_sign_in(client, key: RouteKey):
    path = key.path.replace("{demarche_id}", "1").replace("{tasking_id}", "1")
    path = path.replace("{reply_id}", "1").replace("{cable_id}", "1")
    path = path.replace("{membership_id}", "1").replace("{notification_id}", "1")
    path = path.replace("{code}", "NOPE").replace("{username}", "nobody")
    r = client.request(key.method, path, follow_redirects=False)
    assert r.status_code == 303, (r.status_code, r.text[:200])
    assert r.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "key", [k for k in ALL_PAGES if k.method == "POST" and k not in PUBLIC], ids=str
)
def test_forms_without_the_csrf_token_change_nothing(client, db, worlds, key: RouteKey):
    with fresh(db, worlds[Classification.UNCLASSIFIED]) as w:
        for name in ("desk", "post_own"):
            _signed_in(client, db, w.actors[name])
            before = _versions(db, w)
            for token in (None, "forged"):
                form = _form(db, w, token or "")
                if token is None:
                    form.pop("csrf_token")
                r = client.post(_url(key, w), data=form, follow_redirects=False)
                assert r.status_code == 403, (name, token, r.status_code, r.text[:200])
            assert _versions(db, w) == before


def _versions(db, w: World) -> tuple[int, int]:
    t, d = db.get(Tasking, w.tasking_id), db.get(Demarche, w.demarche_id)
    db.refresh(t)
    db.refresh(d)
    return t.version, d.version


@pytest.mark.parametrize("key", [k for k in ALL_PAGES if k in PAGE_RULES], ids=str)
def test_page_answers_each_role_as_the_rules_say(client, db, worlds, key: RouteKey):
    rule = PAGE_RULES[key]
    failures = []
    for classification in CLASSIFICATIONS:
        with fresh(db, worlds[classification]) as w:
            for name in (
                "post_untasked",
                "post_other",
                "viewer",
                "admin",
                "desk_confidential",
                "post_own",
                "desk",
            ):
                a = w.actors[name]
                csrf = _signed_in(client, db, a)
                if key.method == "GET":
                    r = client.get(_url(key, w), follow_redirects=False)
                else:
                    r = client.post(_url(key, w), data=_form(db, w, csrf), follow_redirects=False)
                if rule.role_first and not rule.may(a, w):
                    expected, ok = "403", r.status_code == 403
                elif not rule.visible(a, w):
                    expected, ok = "404", r.status_code == 404
                elif not rule.may(a, w):
                    expected, ok = "403", r.status_code == 403
                else:
                    expected = "allowed"
                    ok = r.status_code not in (401, 403, 404) and r.status_code < 500
                if not ok:
                    failures.append(
                        f"{classification.value} {name}: expected {expected}, got {r.status_code}"
                    )
                client.cookies.clear()
    assert not failures, "\n".join(failures)
