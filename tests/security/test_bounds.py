"""Hostile input is bounded by the schema before it reaches the database: 404 or 422,
never 500 (issue 13, items 11 and 13a). On PostgreSQL every id column is int4, which
refuses to compare with 2**31, and no text column takes a NUL: before these bounds
each of these answered 500 there (and the huge ids on SQLite too).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, get_args, get_origin

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from app.auth.models import ApiToken, Role, User
from app.auth.schemas import TokenIn, UserIn, UserUpdate
from app.classification import Classification
from app.demarches.models import Demarche, DemarcheTarget, KeyDate
from app.demarches.schemas import AmendIn, DemarcheIn, DemarcheUpdate
from app.errors import MAX_LISTED_ERRORS
from app.limits import ID_MAX
from app.main import create_app
from app.pagination import encode_cursor
from app.posts.models import Post
from app.posts.schemas import PostIn, PostUpdate
from app.taskings.models import Delivery, Tasking
from app.taskings.models import Response as ReportedResponse
from app.taskings.schemas import AcknowledgeIn, DeliveryIn, ResponseIn
from tests.cables.samples import REPORT, instruction
from tests.factories import (
    delivery_form,
    demarche_payload,
    login,
    make_demarche,
    make_post,
    make_signin_user,
    make_user,
    tasking_of,
)

API = "/api/v1"
PROBLEM = "application/problem+json"
TOO_BIG = [2**31, 2**63, 10**20, 99999999999999999999]
IMPOSSIBLE = [*TOO_BIG, 0, -1]


@pytest.fixture
def desk(db):
    return make_user(db, Role.DESK_OFFICER, Classification.SECRET)[1]


def _is_problem(r, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith(PROBLEM)
    return r.json()


# -- ids: in a path they name nothing (404); anywhere else they are malformed (422) -----


@pytest.mark.parametrize("value", IMPOSSIBLE)
@pytest.mark.parametrize(
    "path",
    [
        "/demarches/{}",
        "/demarches/{}/timeline",
        "/taskings/{}",
        "/responses/{}",
        "/cables/{}",
        "/cables/replies/{}",
    ],
)
def test_an_id_no_row_can_have_is_a_404_in_an_api_path(client, desk, path, value):
    body = _is_problem(client.get(API + path.format(value), headers=desk), 404)
    assert body["title"] == "Not found"


@pytest.mark.parametrize("value", [2**31, 10**20])
def test_an_impossible_id_in_a_write_path_is_a_404_before_the_body_is_judged(client, desk, value):
    r = client.post(f"{API}/taskings/{value}/deliveries", json={"nonsense": 1}, headers=desk)
    _is_problem(r, 404)
    r = client.request("DELETE", f"{API}/tokens/{value}", headers=desk)
    _is_problem(r, 404)


def test_an_id_that_is_not_a_number_is_still_malformed(client, desk):
    _is_problem(client.get(f"{API}/demarches/eleven", headers=desk), 422)


def test_codes_and_names_longer_than_their_columns_name_nothing(client, db, desk):
    _is_problem(client.get(f"{API}/posts/{'A' * 33}", headers=desk), 404)
    _, admin = make_user(db, Role.ADMINISTRATOR, Classification.CONFIDENTIAL)
    r = client.patch(f"{API}/users/{'u' * 65}", json={"full_name": "X"}, headers=admin)
    _is_problem(r, 404)


@pytest.mark.parametrize(
    "query",
    [
        f"/taskings?demarche={2**31}",
        f"/taskings?demarche={10**20}",
        "/taskings?demarche=0",
        f"/demarches?limit={10**20}",
        f"/cables?limit={2**63}",
    ],
)
def test_an_out_of_range_integer_in_a_query_is_a_422(client, desk, query):
    body = _is_problem(client.get(API + query, headers=desk), 422)
    assert body["errors"] and body["errors"][0]["field"].startswith("query.")


@pytest.fixture
def unmatched_reply(client, db, desk):
    """A report citing an instruction nobody stored: it waits for the desk to match it."""
    make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
    r = client.post(f"{API}/cables", json={"text": REPORT.format(ref="999999")}, headers=desk)
    assert r.status_code == 201, r.text
    return r.json()["reply"]


def test_a_body_id_out_of_range_is_a_422(client, desk, unmatched_reply):
    url = f"{API}/cables/replies/{unmatched_reply['id']}/match"
    body = _is_problem(client.post(url, json={"tasking_id": 2**31}, headers=desk), 422)
    assert body["errors"][0]["field"] == "tasking_id"
    _is_problem(client.post(url, json={"tasking_id": 999_999}, headers=desk), 404)


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor(2**31),
        encode_cursor(2**63 - 1),
        encode_cursor(-(2**40)),
    ],
)
@pytest.mark.parametrize("listing", ["/demarches", "/taskings", "/cables", "/cables/replies"])
def test_a_cursor_holding_an_id_past_the_columns_is_a_422(client, desk, listing, cursor):
    body = _is_problem(client.get(f"{API}{listing}", params={"cursor": cursor}, headers=desk), 422)
    assert "cursor" in body["detail"]


def test_cursors_with_a_nul_or_an_impossible_due_date_key_are_422(client, db, desk):
    _is_problem(
        client.get(f"{API}/posts", params={"cursor": encode_cursor("A\x00B")}, headers=desk), 422
    )
    cursor = encode_cursor(date(2030, 1, 1), 2**31)
    _is_problem(client.get(f"{API}/commitments", params={"cursor": cursor}, headers=desk), 422)


# -- the pages: the same inputs answer a readable page, never a 500 ---------------------


def _html(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html")
    return r.text


@pytest.mark.parametrize("value", TOO_BIG)
def test_page_paths_with_impossible_ids_answer_a_404_page(client, page_world, value):
    login(client, "hanoi")
    assert "Not found" in _html(client.get(f"/inbox/{value}"), 404)
    _html(client.get(f"/demarches/{value}"), 404)
    client.cookies.clear()
    login(client, "desk")
    _html(client.get(f"/cables/replies/{value}"), 404)
    _html(client.get(f"/demarches/{value}/amend"), 404)


@pytest.mark.parametrize(
    "path", [f"/?page={10**20}", "/?page=0", f"/overdue?page={2**31}", f"/inbox?tasking={2**63}"]
)
def test_page_numbers_and_query_ids_out_of_range_answer_a_422_page(client, page_world, path):
    login(client, "hanoi")
    _html(client.get(path), 422)


def test_a_demarche_page_with_a_huge_page_number_is_a_422_page(client, page_world):
    login(client, "desk")
    d = page_world["demarche"]
    _html(client.get(f"/demarches/{d.id}?tl={10**20}"), 422)
    _html(client.get(f"/demarches/{d.id}?page={2**31}"), 422)


def test_overlong_page_filters_are_refused_not_sent_on(client, page_world):
    login(client, "desk")
    _html(client.get("/", params={"tag": "T" * 5000}), 422)
    _html(client.get("/overdue", params={"sort": "x" * 5000}), 422)
    # Within the bound, an unknown value is still ignored, as a stale bookmark's is.
    _html(client.get("/", params={"tag": "NOSUCHTAGATALL"}), 200)


def test_the_match_form_refuses_a_tasking_number_past_the_columns(client, db, unmatched_reply):
    make_signin_user(db, "matcher")
    csrf = login(client, "matcher")
    url = f"/cables/replies/{unmatched_reply['id']}/match"
    r = client.post(url, data={"csrf_token": csrf, "tasking_id": str(2**33)})
    assert "the number of the tasking" in _html(r, 422)
    r = client.post(url, data={"csrf_token": csrf, "tasking_id": "999999"})
    _html(r, 404)


# -- NUL characters: refused wherever they are sent ----------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/demarches?q=a%00b",
        "/demarches?tag=P%00",
        "/demarches?post=HAN%00OI",
        "/posts?q=%00",
        "/posts/HAN%00OI",
        "/taskings?post=%00",
    ],
)
def test_a_nul_in_a_path_or_query_is_a_422(client, desk, path):
    body = _is_problem(client.get(API + path, headers=desk), 422)
    assert "NUL" in body["detail"]


def test_a_nul_in_a_json_string_or_key_is_a_422_and_nothing_is_stored(client, db, desk):
    def tokens() -> int:
        return db.scalar(select(func.count()).select_from(ApiToken))

    before = tokens()
    _is_problem(client.post(f"{API}/tokens", json={"name": "a\x00b"}, headers=desk), 422)
    _is_problem(client.post(f"{API}/tokens", json={"name": "t", "\x00": 1}, headers=desk), 422)
    post = make_post(db, "HANOI")
    body = demarche_payload([post], objectives=["fine", "bad \x00 one"])
    _is_problem(client.post(f"{API}/demarches", json=body, headers=desk), 422)
    body = demarche_payload([post], talking_points=[{"text": "x\x00", "classification": "SBU"}])
    _is_problem(client.post(f"{API}/demarches", json=body, headers=desk), 422)
    assert tokens() == before
    # An escaped backslash before "u0000" is six ordinary characters, not a NUL.
    ok = client.post(f"{API}/tokens", json={"name": "back\\u0000slash"}, headers=desk)
    assert ok.status_code == 201 and ok.json()["name"] == "back\\u0000slash"


def test_a_nul_in_a_page_form_is_a_422_page_urlencoded_or_multipart(client, db, page_world):
    tasking = tasking_of(db, page_world["demarche"], "HANOI")
    version = tasking.version
    csrf = login(client, "hanoi")
    form = delivery_form(csrf, version, notes="left a non-paper\x00")
    _html(client.post(f"/inbox/{tasking.id}/deliver", data=form), 422)
    as_multipart = {"extra": ("a.txt", b"ordinary file", "text/plain")}
    r = client.post(f"/inbox/{tasking.id}/deliver", data=form, files=as_multipart)
    _html(r, 422)
    r = client.get(f"/inbox?tasking={tasking.id}&x=%00")
    _html(r, 422)
    db.expire_all()
    assert tasking_of(db, page_world["demarche"], "HANOI").version == version


def test_the_nul_guard_leaves_ordinary_cable_uploads_alone(client, desk):
    text = instruction("310001")
    r = client.post(f"{API}/cables", content=text, headers={**desk, "Content-Type": "text/plain"})
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/cables", json={"text": instruction("310002")}, headers=desk)
    assert r.status_code == 201, r.text
    files = {"file": ("c.txt", instruction("310003").encode(), "text/plain")}
    r = client.post(f"{API}/cables", files=files, headers=desk)
    assert r.status_code == 201, r.text


def test_a_body_nobody_reads_is_not_judged_however_broken(client, db, desk):
    """The guard looks into a JSON body only if it parses; the route answers the rest."""
    u, headers = make_user(db)
    post = make_post(db)
    d = make_demarche(db, u, [post], issue=False)
    deep = "[" * 100_000 + "]" * 100_000
    as_json = {**headers, "Content-Type": "application/json"}
    r = client.post(f"{API}/demarches/{d.id}/issue", content=deep, headers=as_json)
    _is_problem(r, 428)  # no If-Match: the body was never the question
    r = client.post(f"{API}/tokens", content=deep, headers=as_json)
    assert r.status_code == 400
    r = client.post(f"{API}/tokens", content=b'{"name": ' + b"9" * 5000 + b"}", headers=as_json)
    assert r.status_code == 400


# -- strings: every one bounded as its column is ------------------------------------


def test_a_country_longer_than_its_column_is_a_422(client, db, desk):
    post = make_post(db, "HANOI")
    too_long = demarche_payload([], targets=[{"post": post.code, "countries": ["C" * 200]}])
    body = _is_problem(client.post(f"{API}/demarches", json=too_long, headers=desk), 422)
    assert body["errors"][0]["field"] == "targets.0.countries.0"
    fits = demarche_payload([], targets=[{"post": post.code, "countries": ["C" * 80]}])
    r = client.post(f"{API}/demarches", json=fits, headers=desk)
    assert r.status_code == 201, r.text
    assert r.json()["targets"][0]["country"] == "C" * 80


def test_lists_of_positions_and_tags_are_bounded(client, db, desk):
    post = make_post(db, "HANOI")
    body = demarche_payload([post], tags=["T" * 5000])
    r = _is_problem(client.post(f"{API}/demarches", json=body, headers=desk), 422)
    assert len(r["detail"]) < 500  # the tag is not echoed back whole
    delivery = {
        "delivered_on": "2026-01-05",
        "delivered_by": "PolChief",
        "recipient_name": "X",
        "level": "minister",
        "method": "call",
    }
    assert DeliveryIn(**delivery, points=[1, 2, 200]).points == [1, 2, 200]
    for points in ([1] * 201, [2**31], [0]):
        with pytest.raises(ValidationError):
            DeliveryIn(**delivery, points=points)


def _str_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted name, FieldInfo or item metadata) of every string a model takes, nested
    models and list items included."""
    out: list[tuple[str, Any]] = []

    def visit(name: str, annotation: Any, metadata: list[Any]) -> None:
        origin = get_origin(annotation)
        if annotation is str:
            out.append((name, metadata))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(_str_fields(annotation, f"{name}."))
        elif origin is not None:
            args = get_args(annotation)
            if origin is Annotated:
                visit(name, args[0], [*metadata, *args[1:]])
                return
            for arg in args:
                # A list's own max_length bounds its length, not its items'.
                inner = [] if origin is list else metadata
                visit(f"{name}[]" if origin is list else name, arg, inner)

    for fname, field in model.model_fields.items():
        visit(prefix + fname, field.annotation, list(field.metadata))
    return out


def _max_length(metadata: list[Any]) -> int | None:
    for m in metadata:
        if getattr(m, "max_length", None) is not None:
            return m.max_length
        meta = getattr(m, "metadata", None)
        if meta:
            found = _max_length(list(meta))
            if found is not None:
                return found
    return None


def _api_routes():
    app = create_app()
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                if ctx.dependant is not None:
                    yield ctx.path_format, ctx.dependant
        elif isinstance(route, APIRoute):
            yield route.path, route.dependant


def _flat(dependant, kind: str) -> list[Any]:
    params = list(getattr(dependant, f"{kind}_params"))
    for sub in dependant.dependencies:
        params += _flat(sub, kind)
    return params


def test_every_string_of_every_request_body_is_bounded():
    unbounded = []
    for path, dependant in _api_routes():
        for param in _flat(dependant, "body"):
            for arg in get_args(param.field_info.annotation) or (param.field_info.annotation,):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    for name, metadata in _str_fields(arg):
                        if _max_length(metadata) is None:
                            unbounded.append(f"{path} {arg.__name__}.{name}")
    assert unbounded == []


def test_every_path_and_query_parameter_is_bounded():
    """Every int has a ceiling the id columns can compare with, every string a length."""
    loose = []
    for path, dependant in _api_routes():
        for kind in ("path", "query"):
            for param in _flat(dependant, kind):
                info = param.field_info
                types = set(get_args(info.annotation)) or {info.annotation}
                if int in types:
                    le = next((m.le for m in info.metadata if hasattr(m, "le")), None)
                    if le is None or le > ID_MAX:
                        loose.append(f"{path} {kind} {param.name}: int without le<={ID_MAX}")
                if str in types and _max_length(list(info.metadata)) is None:
                    loose.append(f"{path} {kind} {param.name}: str without max_length")
    assert loose == []


# Each string a schema stores in a VARCHAR(n) column, and that column. (A tag is
# checked to 1-16 letters by clean_tags, past its bound; a password is stored hashed.)
STORED_IN = [
    (DemarcheIn, "subject", Demarche.subject),
    (DemarcheIn, "delivery_level", Demarche.delivery_level),
    (DemarcheIn, "key_dates[].what", KeyDate.what),
    (DemarcheIn, "targets[].post", Post.code),
    (DemarcheIn, "targets[].countries[]", DemarcheTarget.country),
    (DemarcheIn, "targets[].countries[]", Tasking.country),
    (DemarcheUpdate, "subject", Demarche.subject),
    (DemarcheUpdate, "delivery_level", Demarche.delivery_level),
    (DemarcheUpdate, "targets[].countries[]", DemarcheTarget.country),
    (AmendIn, "key_dates[].what", KeyDate.what),
    (AmendIn, "targets[].countries[]", DemarcheTarget.country),
    (AcknowledgeIn, "officer", Tasking.officer),
    (DeliveryIn, "delivered_by", Delivery.delivered_by),
    (DeliveryIn, "recipient_name", Delivery.recipient_name),
    (DeliveryIn, "recipient_title", Delivery.recipient_title),
    (DeliveryIn, "recipient_office", Delivery.recipient_office),
    (ResponseIn, "reporting_cable_ref", ReportedResponse.reporting_cable_ref),
    (UserIn, "username", User.username),
    (UserIn, "full_name", User.full_name),
    (UserIn, "post", Post.code),
    (UserUpdate, "full_name", User.full_name),
    (UserUpdate, "post", Post.code),
    (TokenIn, "name", ApiToken.name),
    (PostIn, "code", Post.code),
    (PostIn, "name", Post.name),
    (PostIn, "city", Post.city),
    (PostIn, "country", Post.country),
    (PostIn, "routing_indicator", Post.routing_indicator),
    (PostUpdate, "name", Post.name),
    (PostUpdate, "city", Post.city),
    (PostUpdate, "country", Post.country),
    (PostUpdate, "routing_indicator", Post.routing_indicator),
]


@pytest.mark.parametrize(
    ("schema", "field", "column"), STORED_IN, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_a_string_fits_the_column_it_is_stored_in(schema, field, column):
    bound = _max_length(dict(_str_fields(schema))[field])
    assert bound is not None and bound <= column.type.length, (bound, column.type.length)


# -- error bodies stay small, whatever was sent (13a) ----------------------------------


def test_85000_unknown_keys_answer_a_small_422(client, desk):
    body = {f"k{i}": 1 for i in range(85_000)}
    r = client.post(f"{API}/demarches", json=body, headers=desk)
    problem = _is_problem(r, 422)
    assert len(r.content) < 20_000, len(r.content)
    assert len(problem["errors"]) == MAX_LISTED_ERRORS
    # subject is required too: 85,001 errors in all.
    assert problem["errors_omitted"] == 85_001 - MAX_LISTED_ERRORS


def test_a_domain_errors_list_is_bounded_too(client, desk):
    """The cable route lists pydantic's errors itself, as an Invalid: the bound is in
    the one place every problem body is written."""
    body = {"text": instruction(), **{f"k{i}": 1 for i in range(5_000)}}
    r = client.post(f"{API}/cables", json=body, headers=desk)
    problem = _is_problem(r, 422)
    assert len(r.content) < 20_000
    assert len(problem["errors"]) == MAX_LISTED_ERRORS and problem["errors_omitted"] > 0


def test_long_messages_and_fields_are_clipped(client, desk):
    key = "k" * 10_000
    r = client.post(f"{API}/tokens", json={"name": "t", key: 1}, headers=desk)
    problem = _is_problem(r, 422)
    assert len(r.content) < 3_000
    assert problem["errors"][0]["field"].endswith("\u2026")
