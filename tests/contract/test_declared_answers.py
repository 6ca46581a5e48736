"""Every answer of the access matrix is one its operation declares: the status, the
content type, the body's schema and the ETag header.

Schemathesis (test_openapi.py) draws its own requests, and few of them get past a
write's If-Match; these are the access matrix's requests (tests/auth), sent the way a
careful client sends them (real ids, a fresh If-Match, a valid body) by every role, so
the answers of successful writes, and every role's view of real records, are held to
the document too.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.failures import FailureGroup

from app.classification import Classification
from app.errors import PROBLEM_JSON
from app.main import create_app
from tests.auth.matrix import build_world
from tests.auth.test_access_matrix import ALL_API, RULES, _if_match, _url
from tests.routes import RouteKey

DOC = create_app().openapi()
SCHEMA = schemathesis.openapi.from_dict(DOC)
# Least privileged first and the desk last, as the matrix sends them: an allowed write
# then cannot hide a refusal.
ORDER = ("post_untasked", "post_other", "viewer", "admin", "desk_confidential", "post_own", "desk")


def conformance_problems(key: RouteKey, r: Any) -> list[str]:
    """What is wrong with this answer, by the document (empty: nothing)."""
    op_doc = DOC["paths"][key.path][key.method.lower()]
    declared = op_doc["responses"].get(str(r.status_code))
    if declared is None:
        return [f"status {r.status_code} is not declared ({', '.join(op_doc['responses'])})"]
    found = []
    media = r.headers.get("content-type", "").split(";")[0]
    if media not in declared.get("content", {}):
        found.append(f"{r.status_code} as {media}, declared {list(declared.get('content', {}))}")
    if "ETag" in declared.get("headers", {}) and "etag" not in r.headers:
        found.append(f"{r.status_code} without the ETag it declares")
    try:
        SCHEMA[key.path][key.method].validate_response(r)
    except FailureGroup as exc:
        found.append(f"{r.status_code} body: {exc}")
    return found


def _order(key: RouteKey) -> tuple[int, str]:
    """Reads first, then writes, and last the ones that end the demarche or the tasking,
    so that the writes before them meet records they can still change."""
    ending = key.path.endswith(("/cancel", "/close", "/waive", "/accept"))
    return (0 if key.method == "GET" else 2 if ending else 1, str(key))


ROUTES = sorted((k for k in ALL_API if k in RULES), key=_order)


def test_every_role_s_answer_is_declared(client, db):
    # One world for every route (a world per route costs half a second each).
    w = build_world(client, db, Classification.CONFIDENTIAL)
    failures = []
    for key in ROUTES:
        rule = RULES[key]
        for name in ORDER:
            actor = w.actors[name]
            headers = {**actor.headers, **_if_match(client, db, rule, w)}
            body = rule.body(w) if rule.body else None
            r = client.request(key.method, _url(key, w, actor), headers=headers, json=body)
            failures += [f"{key} as {name}: {p}" for p in conformance_problems(key, r)]
    assert not failures, "\n".join(failures)


def test_the_check_catches_an_undeclared_answer(client):
    """An answer the document does not declare is caught: the test above can fail."""
    r = client.get("/api/v1/me")  # 401, declared
    assert conformance_problems(RouteKey("GET", "/api/v1/me"), r) == []
    assert r.headers["content-type"] == PROBLEM_JSON

    class Fake:
        status_code = 409
        headers = {"content-type": "application/json"}

    assert conformance_problems(RouteKey("GET", "/api/v1/me"), Fake()) == [
        "status 409 is not declared (200, 401, 422, 503)"
    ]
