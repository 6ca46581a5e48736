"""Every API route × every role × own / other post × clearance below, at and above.

The routes come from the app's own route table, so a new route without a rule
here fails the suite. Expected answers: 404 where the reader may not know the
record exists (exactly as for a missing id), 403 where they may see it but not
do this, and anything but 401/403/404/5xx where they may.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.auth.models import Role
from app.auth.service import issue_token
from app.classification import Classification
from app.concurrency import etag
from app.demarches.models import Demarche
from app.posts.models import Collective
from app.taskings.models import Commitment, Response, Tasking
from tests.auth.matrix import (
    ADMIN,
    ANYONE,
    CLASSIFICATIONS,
    CONF,
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
from tests.cables.samples import instruction
from tests.factories import demarche_payload, make_user
from tests.routes import RouteKey, route_table


def _post_body(w: World) -> dict[str, Any]:
    return {
        "code": f"NEW{w.classification.rank}",
        "name": "AMEMBASSY NEW",
        "kind": "embassy",
        "city": "New",
        "country": "Newland",
        "region": "EUR",
    }


def _delivery(_w: World) -> dict[str, Any]:
    return {
        "delivered_on": date.today().isoformat(),
        "delivered_by": "PolChief",
        "recipient_name": "Y",
        "level": "minister",
        "method": "call",
    }


def _response(_w: World) -> dict[str, Any]:
    return {"position": "opposes", "summary": "No."}


RULES: dict[RouteKey, Rule] = {
    RouteKey("GET", "/api/v1/me"): Rule(always, ANYONE),
    RouteKey("GET", "/api/v1/tokens"): Rule(always, ANYONE),
    RouteKey("POST", "/api/v1/tokens"): Rule(always, ANYONE, body=lambda w: {"name": "t"}),
    RouteKey("DELETE", "/api/v1/tokens/{token_id}"): Rule(always, ANYONE),
    RouteKey("GET", "/api/v1/users"): Rule(always, ADMIN),
    RouteKey("POST", "/api/v1/users"): Rule(
        always,
        ADMIN,
        body=lambda w: {
            "username": f"new{w.classification.rank}",
            "full_name": "N",
            "role": "viewer",
            "clearance": "SBU",
        },
    ),
    RouteKey("PATCH", "/api/v1/users/{username}"): Rule(
        always, ADMIN, body=lambda w: {"full_name": "Renamed"}
    ),
    RouteKey("GET", "/api/v1/posts"): Rule(always, ANYONE),
    RouteKey("GET", "/api/v1/posts/{code}"): Rule(always, ANYONE),
    RouteKey("POST", "/api/v1/posts"): Rule(always, ADMIN, body=_post_body),
    RouteKey("PATCH", "/api/v1/posts/{code}"): Rule(
        always, ADMIN, body=lambda w: {"city": "Elsewhere"}
    ),
    RouteKey("POST", "/api/v1/posts/{code}/deactivate"): Rule(always, ADMIN),
    # Everyone signed in reads the collectives; only administrators change them.
    RouteKey("GET", "/api/v1/collectives"): Rule(always, ANYONE),
    RouteKey("GET", "/api/v1/collectives/{code}"): Rule(always, ANYONE),
    RouteKey("POST", "/api/v1/collectives"): Rule(
        always,
        ADMIN,
        body=lambda w: {
            "code": f"NEWC{w.classification.rank}",
            "name": f"NEW {w.classification.rank}",
        },
    ),
    RouteKey("PATCH", "/api/v1/collectives/{code}"): Rule(
        always,
        ADMIN,
        body=lambda w: {"name": f"RENAMED {w.classification.rank}"},
        etag="collective",
    ),
    RouteKey("POST", "/api/v1/collectives/{code}/members"): Rule(
        always, ADMIN, body=lambda w: {"post": w.post_b, "valid_from": date.today().isoformat()}
    ),
    RouteKey("POST", "/api/v1/collectives/{code}/members/{membership_id}/end"): Rule(
        always, ADMIN, body=lambda w: {"valid_to": date.today().isoformat()}
    ),
    RouteKey("GET", "/api/v1/demarches"): Rule(always, ANYONE),
    RouteKey("POST", "/api/v1/demarches"): Rule(always, DESK, body=lambda w: demarche_payload([])),
    RouteKey("GET", "/api/v1/demarches/{demarche_id}"): Rule(sees_demarche, ANYONE),
    RouteKey("GET", "/api/v1/demarches/{demarche_id}/revisions"): Rule(sees_demarche, ANYONE),
    RouteKey("GET", "/api/v1/demarches/{demarche_id}/check"): Rule(sees_demarche, ANYONE),
    RouteKey("GET", "/api/v1/demarches/{demarche_id}/cable"): Rule(sees_demarche, ANYONE),
    RouteKey("GET", "/api/v1/demarches/{demarche_id}/timeline"): Rule(sees_demarche, ANYONE),
    # The roll-up: whoever sees the demarche; a post officer's rows are their own post's.
    RouteKey("GET", "/api/v1/demarches/{demarche_id}/results"): Rule(sees_demarche, ANYONE),
    RouteKey("PATCH", "/api/v1/demarches/{demarche_id}"): Rule(
        sees_demarche, DESK, body=lambda w: {"summary": "x"}, etag="demarche"
    ),
    RouteKey("POST", "/api/v1/demarches/{demarche_id}/issue"): Rule(
        sees_demarche, DESK, etag="demarche"
    ),
    RouteKey("POST", "/api/v1/demarches/{demarche_id}/cancel"): Rule(
        sees_demarche, DESK, body=lambda w: {"reason": "r"}, etag="demarche"
    ),
    RouteKey("POST", "/api/v1/demarches/{demarche_id}/close"): Rule(
        sees_demarche, DESK, body=lambda w: {"reason": "r"}, etag="demarche"
    ),
    RouteKey("POST", "/api/v1/demarches/{demarche_id}/amend"): Rule(
        sees_demarche, DESK, body=lambda w: {"reason": "r"}, etag="demarche"
    ),
    RouteKey("GET", "/api/v1/taskings"): Rule(always, ANYONE),
    RouteKey("GET", "/api/v1/taskings/{tasking_id}"): Rule(sees_tasking, ANYONE),
    RouteKey("GET", "/api/v1/taskings/{tasking_id}/report-cable"): Rule(sees_tasking, ANYONE),
    RouteKey("POST", "/api/v1/taskings/{tasking_id}/acknowledge"): Rule(
        sees_tasking, own_post, etag="tasking"
    ),
    RouteKey("POST", "/api/v1/taskings/{tasking_id}/deliveries"): Rule(
        sees_tasking, own_post, body=_delivery, etag="tasking"
    ),
    RouteKey("POST", "/api/v1/taskings/{tasking_id}/responses"): Rule(
        sees_tasking, own_post, body=_response, etag="tasking"
    ),
    **{
        RouteKey("POST", f"/api/v1/taskings/{{tasking_id}}/{a}"): Rule(
            sees_tasking, own_post, body=lambda w: {"reason": "r"}, etag="tasking"
        )
        for a in ("mark-unable", "advise-against")
    },
    **{
        RouteKey("POST", f"/api/v1/taskings/{{tasking_id}}/{a}"): Rule(
            sees_tasking, DESK, body=lambda w: {"reason": "r"}, etag="tasking"
        )
        for a in ("waive", "insist", "accept", "reopen", "cancel")
    },
    RouteKey("POST", "/api/v1/taskings/{tasking_id}/extend"): Rule(
        sees_tasking,
        DESK,
        body=lambda w: {"due_date": "2099-12-20", "reason": "The MFA is closed."},
        etag="tasking",
    ),
    RouteKey("GET", "/api/v1/responses/{response_id}"): Rule(sees_tasking, ANYONE),
    RouteKey("PUT", "/api/v1/responses/{response_id}"): Rule(
        sees_tasking, own_post_or_desk, body=_response, etag="response"
    ),
    RouteKey("GET", "/api/v1/commitments"): Rule(always, ANYONE),
    RouteKey("PATCH", "/api/v1/commitments/{commitment_id}"): Rule(
        sees_tasking, own_post_or_desk, body=lambda w: {"status": "fulfilled"}, etag="commitment"
    ),
}


def _confirm(w: World) -> dict[str, Any]:
    return {"delivery": _delivery(w), "response": _response(w)}


RULES.update(
    {
        RouteKey("GET", "/api/v1/cables"): Rule(always, ANYONE),
        # Everyone searches what they may read (tests/search checks what each finds).
        RouteKey("GET", "/api/v1/search"): Rule(always, ANYONE),
        RouteKey("POST", "/api/v1/cables"): Rule(
            always,
            INGEST,
            body=lambda w: {"text": instruction(serial=f"9{w.classification.rank}{w.demarche_id}")},
        ),
        # A post sees the instruction behind a demarche it may see, and its own reports.
        RouteKey("GET", "/api/v1/cables/{cable_id}"): Rule(sees_demarche, ANYONE),
        RouteKey("POST", "/api/v1/cables/{cable_id}/draft-demarche"): Rule(
            sees_demarche, DESK, role_first=True
        ),
        RouteKey("GET", "/api/v1/cables/replies"): Rule(always, ANYONE),
        RouteKey("GET", "/api/v1/cables/replies/{reply_id}"): Rule(sees_tasking, ANYONE),
        RouteKey("POST", "/api/v1/cables/replies/{reply_id}/confirm"): Rule(
            sees_tasking, own_post_or_desk, body=_confirm, etag="tasking"
        ),
        RouteKey("POST", "/api/v1/cables/replies/{reply_id}/reject"): Rule(
            sees_tasking, own_post_or_desk, body=lambda w: {"note": "wrong demarche"}
        ),
        RouteKey("POST", "/api/v1/cables/replies/{reply_id}/match"): Rule(
            sees_tasking, DESK, body=lambda w: {"tasking_id": w.tasking_id}
        ),
        RouteKey("POST", "/api/v1/cables/replies/unmatched/rematch"): Rule(always, DESK),
    }
)
# Each reads and marks only their own notifications; another's is as if missing.
RULES.update(
    {
        RouteKey("GET", "/api/v1/notifications"): Rule(always, ANYONE),
        RouteKey("POST", "/api/v1/notifications/read"): Rule(always, ANYONE),
        RouteKey("POST", "/api/v1/notifications/{notification_id}/read"): Rule(
            lambda a, _w: a.name == "desk", ANYONE
        ),
    }
)
PUBLIC = {RouteKey("GET", "/health")}


def api_routes() -> list[RouteKey]:
    from app.main import create_app

    return [k for k in route_table(create_app()) if k.path.startswith("/api/")]


ALL_API = api_routes()


# The cases share their worlds, built once per database (a world is a dozen requests and
# as many commits: built per case, it was most of the module's time). Each case runs in
# a savepoint rolled back after it (conftest's case_db), and each world inside it too
# (matrix.fresh): every case, and every classification in it, meets the world as built.
@pytest.fixture
def db(case_db):
    return case_db


@pytest.fixture(scope="module")
def worlds(build_once) -> dict[Classification, World]:
    return build_once(build_worlds)


def test_each_block_meets_the_world_as_built(client, db, worlds):
    """The sharing is sound: what one block commits is gone in the next."""
    for _ in range(2):
        with fresh(db, worlds[CONF]) as w:
            admin = w.actors["admin"].headers
            code = _post_body(w)["code"]
            assert client.get(f"/api/v1/posts/{code}", headers=admin).status_code == 404
            r = client.post("/api/v1/posts", json=_post_body(w), headers=admin)
            assert r.status_code == 201, r.text
            assert client.get(f"/api/v1/posts/{code}", headers=admin).status_code == 200


def test_every_api_route_has_a_rule():
    missing = [str(k) for k in ALL_API if k not in RULES and k not in PUBLIC]
    assert not missing, f"routes without an access rule: {missing}"


def _url(key: RouteKey, w: World, actor: Actor) -> str:
    path = key.path
    if path.startswith("/api/v1/collectives/"):
        path = path.replace("{code}", w.collective)
    return (
        path.replace("{demarche_id}", str(w.demarche_id))
        .replace("{tasking_id}", str(w.tasking_id))
        .replace("{response_id}", str(w.response_id))
        .replace("{commitment_id}", str(w.commitment_id))
        .replace("{cable_id}", str(w.cable_id))
        .replace("{reply_id}", str(w.reply_id))
        .replace("{membership_id}", str(w.membership_id))
        .replace("{notification_id}", str(w.notification_id))
        .replace("{code}", w.post_a)
        .replace("{username}", w.actors["viewer"].user.username)
        .replace("{token_id}", str(actor.spare_token_id))
    )


def _if_match(client, db, rule: Rule, w: World) -> dict[str, str]:
    if rule.etag is None:
        return {}
    row: Any = {
        "demarche": lambda: db.get(Demarche, w.demarche_id),
        "tasking": lambda: db.get(Tasking, w.tasking_id),
        "response": lambda: db.get(Response, w.response_id),
        "commitment": lambda: db.get(Commitment, w.commitment_id),
        "collective": lambda: db.get(Collective, w.collective_id),
    }[rule.etag]()
    db.refresh(row)
    return {"If-Match": etag(rule.etag, row.id, row.version)}


@pytest.mark.parametrize("key", [k for k in ALL_API if k in RULES], ids=str)
def test_route_answers_each_role_as_the_rules_say(client, db, worlds, key: RouteKey):
    rule = RULES[key]
    failures = []
    for classification in CLASSIFICATIONS:
        with fresh(db, worlds[classification]) as w:
            # Least privileged first, the desk last: allowed writes then cannot hide a refusal.
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
                headers = {**a.headers, **_if_match(client, db, rule, w)}
                body = rule.body(w) if rule.body else None
                r = client.request(
                    key.method,
                    _url(key, w, a),
                    headers=headers,
                    json=body if body is not None else None,
                )
                if rule.role_first and not rule.may(a, w):
                    expected = "403"
                    ok = r.status_code == 403
                elif not rule.visible(a, w):
                    expected = "404"
                    ok = r.status_code == 404
                elif not rule.may(a, w):
                    expected = "403"
                    ok = r.status_code == 403
                else:
                    expected = "allowed"
                    ok = r.status_code not in (401, 403, 404) and r.status_code < 500
                if not ok:
                    failures.append(
                        f"{classification.value} {name}: expected {expected}, "
                        f"got {r.status_code} {r.text[:160]}"
                    )
    assert not failures, "\n".join(failures)


def _bad_credentials(_client, db) -> list[dict[str, str]]:
    user, _ = make_user(db, Role.DESK_OFFICER)
    revoked = issue_token(db, user=user, name="revoked")
    revoked.token.revoked_at = revoked.token.created_at
    expired = issue_token(db, user=user, name="expired", ttl=timedelta(seconds=-1))
    disabled_user, disabled = make_user(db, Role.DESK_OFFICER)
    disabled_user.active = False
    db.commit()
    return [
        {},
        {"Authorization": "Bearer dmt_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": f"Bearer {revoked.secret}"},
        {"Authorization": f"Bearer {expired.secret}"},
        disabled,
    ]


@pytest.fixture(scope="module")
def bad_credentials(build_once) -> list[dict[str, str]]:
    """No credentials, made-up ones, and a real user's revoked and expired tokens and a
    disabled user's: made once per database, shared by the 401 cases."""
    return build_once(_bad_credentials)


@pytest.mark.parametrize("key", [k for k in ALL_API if k not in PUBLIC], ids=str)
def test_no_valid_credentials_is_401_before_any_lookup(client, bad_credentials, key: RouteKey):
    path = key.path.replace("{code}", "NOPE").replace("{username}", "nobody").split("{")[0].rstrip(
        "/"
    ) + ("/999999" if "{" in key.path else "")
    if "{" in key.path:
        path = key.path
        for p in (
            "demarche_id",
            "tasking_id",
            "response_id",
            "commitment_id",
            "token_id",
            "cable_id",
            "reply_id",
            "membership_id",
        ):
            path = path.replace("{" + p + "}", "999999")
        path = path.replace("{code}", "NOPE").replace("{username}", "nobody")
    for headers in bad_credentials:
        r = client.request(key.method, path, headers=headers, json={})
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_public_routes_need_no_credentials(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
