"""The search finds what each reader may read, by the query syntax, and nothing more."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.auth.policy import Reader
from app.classification import Classification
from app.search import service
from app.search.models import Kind, portions
from app.search.reads import match_params, matching
from tests.search.conftest import CANARY


def search(api, world, who: str, q: str, **params) -> dict:
    r = api.get("/api/v1/search", params={"q": q, **params}, headers=world[who])
    assert r.status_code == 200, r.text
    return r.json()


def found(body: dict, kind: str) -> list[str]:
    return next(g for g in body["groups"] if g["kind"] == kind)["items"]


def titles(body: dict, kind: str = "demarche") -> list[str]:
    return [h["title"] for h in found(body, kind)]


def test_accent_phrase_exclusion_or(api, world):
    assert titles(search(api, world, "desk", "Kusa")) == ["Renewal of the Kuşa mandate"]
    body = search(api, world, "desk", "kusa", kind="delivery")
    hit = found(body, "delivery")[0]
    start, end = hit["highlights"][0]
    assert hit["snippet"][start:end] == "Kuşa"
    assert titles(search(api, world, "desk", '"clean renewal"'), "response")
    assert not titles(search(api, world, "desk", '"renewal clean"'), "response")
    assert titles(search(api, world, "desk", "quota")) == ["Fisheries quota talks"]
    assert titles(search(api, world, "desk", "quota -fisheries")) == []
    both = titles(search(api, world, "desk", "fisheries or kusa"))
    assert sorted(both) == ["Fisheries quota talks", "Renewal of the Kuşa mandate"]


def test_ref_ids_and_tags_match_exactly(api, world):
    assert [h["title"] for h in found(search(api, world, "desk", "07STATE166909"), "cable")] == [
        "07STATE166909 KOSOVO: DEMARCHE ON THE UNSC"
    ]
    cited = found(search(api, world, "desk", '"STATE 166909"'), "cable")
    assert len(cited) == 2  # the instruction and the report that cites it
    assert "UNMIK" in found(search(api, world, "desk", "UNMIK"), "cable")[0]["snippet"]
    assert titles(search(api, world, "desk", "EFIS")) == ["Fisheries quota talks"]
    assert "Renewal of the Kuşa mandate" in titles(search(api, world, "desk", "vote", tag="prel"))
    assert "Renewal of the Kuşa mandate" not in titles(
        search(api, world, "desk", "vote", tag="UNSC")
    )
    assert titles(search(api, world, "desk", "PREL", tag="prel"), "cable")


def test_filters(api, world):
    assert titles(search(api, world, "desk", "fisheries", post="SPARIS"))
    assert not titles(search(api, world, "desk", "fisheries", post="SHANOI"))
    assert not titles(search(api, world, "desk", "fisheries", region="EAP"))
    assert not titles(search(api, world, "desk", "fisheries", status="closed"))
    assert not titles(search(api, world, "desk", "fisheries", to="2000-01-01"))


def test_the_desk_finds_every_canary(api, world):
    body = search(api, world, "desk", CANARY)
    totals = {g["kind"]: g["total"] for g in body["groups"]}
    assert totals == {"demarche": 3, "cable": 2, "response": 1, "delivery": 1, "post": 0}


@pytest.mark.parametrize("who", ["hanoi", "low", "viewer"])
@pytest.mark.parametrize(
    "q", [CANARY, f"renewal or {CANARY}", f"mandate or {CANARY} or vote", f'"{CANARY}"']
)
def test_no_hidden_portion_matches_counts_or_shows(api, world, who, q):
    """Hanoi's officer sees neither Paris's work, nor drafts, nor anything SECRET; the
    SBU viewer not even the CONFIDENTIAL demarches; the CONFIDENTIAL viewer reads every
    post's work, its report cable and the draft (the policy's rule for viewers), never a SECRET portion."""
    body = search(api, world, who, q)
    readable = {"response", "delivery", "draft"} if who == "viewer" else set()
    for group in body["groups"]:
        if q.strip('"') == CANARY:
            mine = (
                {"demarche": 1, "cable": 1, "response": 1, "delivery": 1} if who == "viewer" else {}
            )
            assert group["total"] == mine.get(group["kind"], 0), (who, group)
        for hit in group["items"]:
            if readable and (
                group["kind"] in readable
                or hit["title"].endswith("draft")
                or hit["title"].startswith("07PARIS001")
            ):
                continue
            assert CANARY not in str(hit).lower(), (who, hit)
        if not readable:
            assert CANARY not in str(group).lower()


def test_paging_by_cursor(api, world):
    first = search(api, world, "desk", "renewal or fisheries or vote", kind="demarche", limit=1)
    group = found(first, "demarche")
    nxt = next(g for g in first["groups"] if g["kind"] == "demarche")["next_cursor"]
    assert len(group) == 1 and nxt
    second = search(api, world, "desk", "renewal or fisheries or vote", cursor=nxt, limit=1)
    assert found(second, "demarche")[0]["id"] != group[0]["id"]
    r = api.get("/api/v1/search", params={"q": "x", "cursor": "nonsense"}, headers=world["desk"])
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem")


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"""',
        "NEAR(a b)",
        "a AND OR NOT b",
        "* ^ : ( ) { } [ ] +",
        "-",
        "- -a",
        "a\x00b",
        "'; DROP TABLE demarches; --",
        "\\",
        "or",
        "Kuşa & | ! <->",
    ],
)
def test_hostile_queries_never_fail(api, world, q):
    """Answered, or refused as a problem (a NUL is refused before any route): never a 500."""
    r = api.get("/api/v1/search", params={"q": q}, headers=world["desk"])
    assert r.status_code in (200, 422), (q, r.text)
    if r.status_code == 422:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_huge_query_is_refused_as_a_problem(api, world):
    r = api.get("/api/v1/search", params={"q": "a" * 10_000}, headers=world["desk"])
    assert r.status_code == 422


def test_reindex_rebuilds_the_same_index(world):
    db = world["db"]
    columns = [c for c in portions.c if c.name != "id"]
    before = sorted(db.execute(select(*columns)).all(), key=repr)
    heard: list[str] = []
    assert service.reindex(db, step=heard.append) == len(before)
    assert sorted(db.execute(select(*columns)).all(), key=repr) == before
    assert "talking_points point" in heard
    dialect = db.get_bind().dialect.name
    desk = Reader(Role.DESK_OFFICER, Classification.SECRET, None)
    found = db.scalars(matching(desk, Kind.DEMARCHE, dialect), match_params("Kusa", dialect))
    assert list(found) == [world["demarche"].id]
