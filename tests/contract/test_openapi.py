"""Schemathesis over the API's own OpenAPI document, against the real app on both
databases: every answer must be one the document declares (status, content type,
body schema), no input may make a server error, and input the document refuses must
be refused.

Each operation gets a fresh world (tests/auth/matrix.py, built once per database and
rolled back after each operation: posts, a demarche issued to
them, a tasking with a delivery, response and commitment, an instruction cable and a
matched report) and two phases of schemathesis:

- coverage: the boundaries of every parameter and body property, valid and not, each
  sent once, as the role that may do the operation (the access matrix says which),
  so that it gets past the role check to the validation and the database; on one
  database (COVERAGE_ON), for time: it is most of the run;
- fuzzing: EXAMPLES drawn cases, each sent as the desk officer and as the post
  officer (and as the administrator where only one may act), on both.

The checks are schemathesis's: not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance, negative_data_rejection, and
for the methods an operation does not take, unsupported_method and
allow_header_conformance (a 405 names every method of the path in `Allow`).
Left out: positive_data_acceptance, which takes every schema-valid request to be one
the API must accept; ours refuses valid shapes for rules of the domain (a past
deadline, an unknown post, a move from the wrong state) with 409 and 422, by design.

A finding is fixed in the app. The one place schemathesis is told otherwise is the
list of statuses that count as refusing invalid input (CONFIG, below).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.meta import CoveragePhaseData
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app.classification import Classification
from app.main import create_app
from app.settings import Settings
from tests.auth.matrix import World, build_world
from tests.auth.test_access_matrix import RULES
from tests.databases import POSTGRES_URL
from tests.routes import RouteKey

# Drawn cases per operation in the fuzzing phase (the coverage phase's are as many as
# the operation's boundaries). The suite draws the same ones every run, so that a red
# run is a change of the code, never of luck; CONTRACT_EXAMPLES=200 draws afresh, many
# more, for a search by hand.
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "0")) or 6
RANDOM = "CONTRACT_EXAMPLES" in os.environ
# The coverage phase (~3,000 boundary cases, half a minute) runs on one database, the
# one that refuses the most (NUL, int4 overflow): PostgreSQL when the suite has it.
COVERAGE_ON = "postgresql" if POSTGRES_URL else "sqlite"

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "max-examples": EXAMPLES,
            "deterministic": not RANDOM,
            "database": None if RANDOM else "none",
        },
        "phases": {
            "examples": {"enabled": False},  # the document has no examples
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {
            "negative_data_rejection": {
                # schemathesis's default list, less 5xx, plus 412 and 413: a write is
                # refused 404 -> 403 -> 428/412 -> 409 -> 422 (DOMAIN.md), so a stale
                # If-Match is answered before the body is looked at, and a body over
                # the limit before it is read.
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428]
            },
        },
    }
)

schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="sqlite://")).openapi(), config=CONFIG
).include(path_regex="^/(api/|health)")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    allow_header_conformance,
]
ROLES = ("desk", "post_own", "admin")


def acting_roles(key: RouteKey, world: World) -> list[str]:
    """The roles the access matrix lets do this, in ROLES' order."""
    rule = RULES.get(key)
    if rule is None:  # the probes: no credential needed
        return ["desk"]
    return [
        r
        for r in ROLES
        if rule.visible(world.actors[r], world) and rule.may(world.actors[r], world)
    ]


# The world is built once per database and shared by every operation, each of which runs
# in a savepoint rolled back after it (conftest's case_db): every operation meets the
# world as built, and its drawn cases share it, as before.
@pytest.fixture
def db(case_db):
    return case_db


@pytest.fixture(scope="module")
def built(build_once) -> World:
    return build_once(lambda client, db: build_world(client, db, Classification.CONFIDENTIAL))


@pytest.fixture
def world(client, built) -> World:
    """The shared world, with the client fixture's session installed as the app's."""
    return built


@schema.parametrize()
@settings(
    deadline=None,
    # The world is built once per operation and shared by its cases, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_answer_is_one_the_document_declares(case, app, db, world):
    key = RouteKey(case.operation.method.upper(), case.operation.path)
    acting = acting_roles(key, world) or ["desk"]
    if case.meta is not None and isinstance(case.meta.phase.data, CoveragePhaseData):
        if db.bind.dialect.name != COVERAGE_ON:
            return
        roles = acting[:1]
    else:
        roles = sorted({"desk", "post_own", acting[0]}, key=ROLES.index)
    for role in roles:
        # A case whose point is a missing token is sent without one.
        negated = case.operation.schema.is_security_param_negated(case)
        headers = {} if negated else world.actors[role].headers
        case.call_and_validate(app=app, headers=headers, checks=CHECKS)
