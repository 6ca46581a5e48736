"""Fuzzing every id-bearing path and every query parameter: never a 500.

The cases come from the app's own route table (tests/routes.py), so a new route or
parameter is fuzzed without anyone adding it here. For each, one parameter at a time
gets a hostile value (ids past int4 and int8, negative and zero, numbers of
thousands of digits, NUL-bearing and overlong strings) while the others keep valid
values from the access matrix's world; the request goes as a desk officer and as a
post officer, signed in with a token for the API and a session for the pages.

The answer may be anything but a server error: for /api, problem JSON; for a page,
a readable page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.auth.service import open_session
from app.classification import Classification
from app.main import create_app
from app.pagination import encode_cursor
from tests.auth.matrix import Actor, World, build_world
from tests.routes import RouteKey, route_table

ROLES = ("desk", "post_own")
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Case:
    key: RouteKey
    kind: str  # "path" or "query"
    name: str

    def __str__(self) -> str:
        return f"{self.key} {self.kind}:{self.name}"


def _query_params() -> dict[RouteKey, list[str]]:
    """Each route's query parameters, its dependencies' included, as FastAPI sees them."""

    def flat(dependant) -> list[str]:
        names = [p.alias for p in dependant.query_params]
        for sub in dependant.dependencies:
            names += flat(sub)
        return names

    out: dict[RouteKey, list[str]] = {}
    for route in create_app().routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for ctx in contexts:
            dependant = getattr(ctx, "dependant", None)
            path = getattr(ctx, "path_format", None)
            if dependant is None or path is None:
                continue
            for method in ctx.methods or ():
                out[RouteKey(method, path)] = sorted(set(flat(dependant)))
    return out


def _cases() -> list[Case]:
    queries = _query_params()
    cases = []
    for key in route_table(create_app()):
        cases += [Case(key, "path", n) for n in re.findall(r"{(\w+)}", key.path)]
        cases += [Case(key, "query", n) for n in queries.get(key, [])]
    return cases


CASES = _cases()

# The fixed extremes every case is swept with, and the strategy hypothesis draws from.
SWEEP = [str(2**31), str(10**20), "1\x00", "x" * 300]
hostile = st.one_of(
    st.sampled_from(
        [
            str(2**31 - 1 + 1),
            str(2**63 - 1),
            str(2**63),
            str(10**20),
            "0",
            "-1",
            str(-(2**63) - 1),
            "9" * 5000,  # past Python's 4300-digit int parsing limit
            "1e400",
            "1\x00",
            "\x00",
            "x" * 10_000,
        ]
    ),
    st.integers(min_value=2**31).map(str),
    st.integers(max_value=0).map(str),
    st.tuples(st.text(max_size=12), st.text(max_size=12)).map(lambda t: f"{t[0]}\x00{t[1]}"),
    st.integers(min_value=81, max_value=3000).map(lambda n: "A" * n),
    # A well-formed cursor around a key no row can have.
    st.one_of(st.integers(min_value=2**31), st.integers(max_value=-1)).map(encode_cursor),
)


@dataclass
class Caller:
    actor: Actor
    headers: dict[str, str]
    csrf: str


@pytest.fixture
def fuzz_world(client, db) -> tuple[World, dict[str, Caller]]:
    world = build_world(client, db, Classification.CONFIDENTIAL)
    callers = {}
    for role in ROLES:
        actor = world.actors[role]
        opened = open_session(db, user=actor.user)
        db.commit()
        callers[role] = Caller(actor, actor.headers, opened.web_session.csrf_token)
        callers[role].headers = {**actor.headers, "Cookie": f"dmt_session={opened.cookie}"}
    return world, callers


def _valid(world: World, caller: Caller) -> dict[str, Any]:
    """A real value for each path parameter: the world's own records."""
    return {
        "demarche_id": world.demarche_id,
        "tasking_id": world.tasking_id,
        "response_id": world.response_id,
        "commitment_id": world.commitment_id,
        "cable_id": world.cable_id,
        "reply_id": world.reply_id,
        "token_id": caller.actor.spare_token_id,
        "code": world.post_a,
        "username": caller.actor.user.username,
        "membership_id": world.membership_id,
    }


def _send(client, world: World, caller: Caller, case: Case, value: str):
    values = {k: str(v) for k, v in _valid(world, caller).items()}
    params: dict[str, str] = {}
    if case.kind == "path":
        values[case.name] = value
    else:
        params[case.name] = value
    path = re.sub(r"{(\w+)}", lambda m: quote(values[m.group(1)], safe=""), case.key.path)
    kw: dict[str, Any] = {"params": params, "headers": caller.headers, "follow_redirects": False}
    if case.key.method in ("POST", "PUT", "PATCH"):
        if path.startswith("/api/"):
            kw["json"] = {}
        else:
            kw["data"] = {"csrf_token": caller.csrf}
    # The client's own cookie jar stays empty: each caller sends its session itself.
    client.cookies.clear()
    return client.request(case.key.method, path, **kw)


def _check(r, case: Case, value: str) -> None:
    shown = repr(value if len(value) < 60 else value[:60] + "...")
    assert r.status_code < 500, f"{case} = {shown}: {r.status_code} {r.text[:300]}"
    ctype = r.headers.get("content-type", "")
    if r.status_code >= 400:
        if case.key.path.startswith("/api/"):
            assert ctype.startswith(PROBLEM), f"{case} = {shown}: {ctype}"
        else:
            assert ctype.startswith("text/html"), f"{case} = {shown}: {ctype}"


def test_the_route_table_gives_cases_of_both_kinds():
    kinds = {(c.kind, c.key.path.startswith("/api/")) for c in CASES}
    assert kinds == {("path", True), ("path", False), ("query", True), ("query", False)}
    assert len(CASES) > 60


@pytest.mark.parametrize("role", ROLES)
def test_every_parameter_swept_with_the_extremes(client, fuzz_world, role):
    world, callers = fuzz_world
    for case in CASES:
        for value in SWEEP:
            _check(_send(client, world, callers[role], case, value), case, value)


@pytest.mark.parametrize("role", ROLES)
def test_hostile_values_never_answer_500(client, fuzz_world, role):
    world, callers = fuzz_world

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=st.sampled_from(CASES), value=hostile)
    def run(case: Case, value: str) -> None:
        _check(_send(client, world, callers[role], case, value), case, value)

    run()
