"""The OpenAPI document declares what every operation can answer, read from the app's
own routes: a new route is held to the same rules without anyone listing it here."""

from __future__ import annotations

import pytest
from fastapi import routing

from app.errors import PROBLEM_JSON
from app.main import create_app
from app.openapi import derived_statuses
from tests.routes import RouteKey

APP = create_app()
DOC = APP.openapi()
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
OPERATIONS = [
    (RouteKey(method.upper(), path), op)
    for path, item in DOC["paths"].items()
    for method, op in item.items()
]


def _ids(pairs):
    return [str(k) for k, _ in pairs]


@pytest.mark.parametrize(("key", "op"), OPERATIONS, ids=_ids(OPERATIONS))
def test_every_error_is_declared_as_problem_json(key, op):
    errors = {code: r for code, r in op["responses"].items() if code >= "400"}
    assert "422" in errors  # a NUL anywhere is refused on every route
    for code, answer in errors.items():
        assert answer["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}, (key, code)
        assert answer["description"], (key, code)


@pytest.mark.parametrize(("key", "op"), OPERATIONS, ids=_ids(OPERATIONS))
def test_what_every_route_of_a_kind_answers_is_declared(key, op):
    declared = set(op["responses"])
    params = {(p["in"], p["name"].lower()) for p in op.get("parameters", [])}
    if key.path.startswith("/api/"):
        assert {"401", "503"} <= declared
        assert op["security"] == [{"bearerToken": []}]
    if "{" in key.path:
        assert "404" in declared
    if key.method in ("POST", "PUT", "PATCH", "DELETE"):
        assert {"400", "413", "422"} <= declared
    if ("header", "if-match") in params:
        assert {"412", "428"} <= declared


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/demarches/{demarche_id}",
        "/api/v1/taskings/{tasking_id}/deliveries",
        "/api/v1/taskings/{tasking_id}/mark-unable",
        "/api/v1/responses/{response_id}",
        "/api/v1/commitments/{commitment_id}",
        "/api/v1/cables/replies/{reply_id}/confirm",
    ],
)
def test_versioned_writes_name_if_match_and_their_answers_the_etag(path):
    for method, op in DOC["paths"][path].items():
        success = next(code for code in op["responses"] if code.startswith("2"))
        headers = op["responses"][success].get("headers", {})
        assert "ETag" in headers, (method, path)
        if method != "get":
            names = {p["name"] for p in op["parameters"] if p["in"] == "header"}
            assert "If-Match" in names, (method, path)


def test_retry_safe_writes_name_the_idempotency_key():
    for path in (
        "/api/v1/taskings/{tasking_id}/deliveries",
        "/api/v1/taskings/{tasking_id}/responses",
    ):
        header = next(
            p for p in DOC["paths"][path]["post"]["parameters"] if p["name"] == "Idempotency-Key"
        )
        assert header["in"] == "header"
        assert header["schema"]["type"] == "string" and header["schema"]["maxLength"] == 128


def test_fastapi_s_own_422_body_is_gone():
    """FastAPI declares a 422 `{"detail": [...]}` in application/json; ours is problem JSON."""
    assert "HTTPValidationError" not in DOC["components"]["schemas"]
    assert "ValidationError" not in DOC["components"]["schemas"]
    problem = DOC["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["additionalProperties"] is True


def test_a_duplicate_cable_s_200_has_the_same_body_as_the_201():
    answers = DOC["paths"]["/api/v1/cables"]["post"]["responses"]
    assert answers["200"]["content"] == answers["201"]["content"]


def test_the_derivation_reads_the_route_not_its_name():
    """A route added to the app gets 401 from its token, 404 from its path id, 412/428
    from its If-Match, 400/413 as a write: nothing to list by hand."""
    contexts = {
        (m, ctx.path_format): ctx
        for ctx in routing.iter_route_contexts(APP.routes)
        if isinstance(ctx.original_route, routing.APIRoute)
        for m in ctx.methods
    }
    assert derived_statuses("GET", contexts[("GET", "/health/live")].dependant) == {422}
    assert derived_statuses("GET", contexts[("GET", "/api/v1/me")].dependant) == {401, 422, 503}
    patch = contexts[("PATCH", "/api/v1/demarches/{demarche_id}")].dependant
    assert derived_statuses("PATCH", patch) == {400, 401, 404, 412, 413, 422, 428, 503}
    delivery = contexts[("POST", "/api/v1/taskings/{tasking_id}/deliveries")].dependant
    assert 409 in derived_statuses("POST", delivery)  # an Idempotency-Key used elsewhere


def test_dates_in_requests_are_declared_and_taken_as_written():
    """`format: date` is YYYY-MM-DD; a number (a Unix time to pydantic) is refused."""
    body = DOC["components"]["schemas"]["KeyDateIn"]["properties"]["date"]
    assert body == {"type": "string", "format": "date", "title": "Date"}
    query = next(
        p
        for p in DOC["paths"]["/api/v1/demarches"]["get"]["parameters"]
        if p["name"] == "deadline_before"
    )
    assert {"type": "string", "format": "date"} in query["schema"]["anyOf"]
