"""The OpenAPI document, as honest as the app: every status an operation can answer,
each error as `application/problem+json` with one schema (app/errors.py
ProblemDetails), and the bearer token the API takes.

A route declares the refusals that are its own (`responses=problems(403, 409)`,
app/http.py). The statuses that every route of a kind answers are derived here from
the route itself, so a new route cannot forget them:

- 401: it needs an access token (it depends on app/deps.py current_token);
- 404: it has a path parameter (a missing record, one you may not see, or an id no
  record could have: app/limits.py);
- 400 and 413: it is a write: a body that is not well-formed JSON, or a malformed form
  (which refuse_nul reads whatever the route takes), and one over the size limit
  (app/limits.py BodySizeLimit counts every body but a GET's);
- 412 and 428: it takes If-Match;
- 409: it takes an Idempotency-Key (a key first used for another request);
- 422: every route (a NUL anywhere is refused app-wide: app/limits.py refuse_nul);
- 503: it asks the database, which may be busy.

tests/contract/ holds the document to the app: schemathesis over every operation,
and every answer of the access matrix checked against what its operation declares.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi

from app.deps import current_token, get_session
from app.errors import ProblemDetails
from app.http import problems

SECURITY_SCHEME = "bearerToken"
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# What FastAPI declares for a 422 of its own: a body we never send (ours is problem JSON).
_FASTAPI_422 = {"#/components/schemas/HTTPValidationError"}


def _walk(dependant: Dependant) -> list[Dependant]:
    found, stack = [], [dependant]
    while stack:
        d = stack.pop()
        found.append(d)
        stack.extend(d.dependencies)
    return found


def derived_statuses(method: str, dependant: Dependant) -> set[int]:
    """The error statuses a route answers by what it is, whatever it does."""
    parts = _walk(dependant)
    calls = {d.call for d in parts}
    headers = {p.alias.lower() for d in parts for p in d.header_params}
    codes = {422}
    if current_token in calls:
        codes.add(401)
    if any(d.path_params for d in parts):
        codes.add(404)
    if method in _WRITES:
        codes |= {400, 413}
    if "if-match" in headers:
        codes |= {412, 428}
    if "idempotency-key" in headers:
        codes.add(409)
    if get_session in calls:
        codes.add(503)
    return codes


def _is_fastapi_422(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref") in _FASTAPI_422


def describe(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once, then kept as FastAPI keeps its own)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["ProblemDetails"] = problem
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal access token (POST /api/v1/tokens makes more)",
    }

    for ctx in routing.iter_route_contexts(app.routes):
        if not isinstance(ctx.original_route, routing.APIRoute) or not ctx.include_in_schema:
            continue
        for method in ctx.methods or ():
            operation = doc["paths"].get(ctx.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if _is_fastapi_422(responses.get("422", {})):
                del responses["422"]
            codes = derived_statuses(method, ctx.dependant)
            for code, answer in problems(*sorted(codes)).items():
                responses.setdefault(str(code), answer)
            if 401 in codes:
                operation["security"] = [{SECURITY_SCHEME: []}]
            operation["responses"] = dict(sorted(responses.items()))
    app.openapi_schema = doc
    return doc
