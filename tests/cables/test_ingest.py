"""POST /api/v1/cables, reading cables back, and drafting a demarche from an instruction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import Role
from app.auth.policy import classification_rank
from app.cables.models import Cable
from app.classification import Classification, from_marking
from app.demarches.models import Demarche
from tests.cables._corpus import CABLES, needs_corpus
from tests.cables.samples import COMPLETING, instruction
from tests.factories import future, make_collective, make_post, make_user, write

API = "/api/v1/cables"


def n_cables(db) -> int:
    return db.scalar(select(func.count()).select_from(Cable)) or 0


@pytest.fixture
def desk(db):
    return make_user(db, Role.DESK_OFFICER, Classification.SECRET)[1]


# -- ingesting ------------------------------------------------------------------


def test_ingest_plain_text_then_same_cable_again_returns_the_first(client, db, desk):
    r = client.post(API, content=instruction(), headers={**desk, "Content-Type": "text/plain"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] is True
    assert body["ref_id"] == "07STATE166909"
    assert body["kind"] == "instruction"
    assert body["classification"] == "CONFIDENTIAL"
    assert body["parsed"]["subject"] == "DEMARCHE ON A COUNCIL VOTE"
    assert body["raw_text"] == instruction()

    again = client.post(API, content=instruction(), headers={**desk, "Content-Type": "text/plain"})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"] and again.json()["created"] is False
    assert n_cables(db) == 1
    audit = db.scalars(select(AuditEvent).where(AuditEvent.entity == "cable")).all()
    assert [(a.entity_id, a.action) for a in audit] == [(body["id"], "ingest")]


def test_ingest_json_and_multipart_file(client, db, desk):
    r = client.post(API, json={"text": instruction("100001")}, headers=desk)
    assert r.status_code == 201, r.text
    assert r.json()["ref_id"] == "07STATE100001"
    r = client.post(
        API, files={"file": ("c.txt", instruction("100002").encode(), "text/plain")}, headers=desk
    )
    assert r.status_code == 201, r.text
    assert r.json()["ref_id"] == "07STATE100002"
    r = client.post(API, json={"body": "x"}, headers=desk)
    assert r.status_code == 422
    assert n_cables(db) == 2


def test_oversized_cable_is_refused_before_storing(client, db, desk, app_settings):
    big = instruction() + "X" * (app_settings.max_cable_bytes + 1)
    r = client.post(API, content=big, headers={**desk, "Content-Type": "text/plain"})
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post(API, files={"file": ("c.txt", big.encode(), "text/plain")}, headers=desk)
    assert r.status_code == 413
    r = client.post(API, json={"text": big}, headers=desk)
    assert r.status_code == 413
    assert n_cables(db) == 0


def test_text_that_is_not_a_cable_answers_422_with_the_warnings(client, db, desk):
    r = client.post(
        API,
        content="Dear colleague, lunch is at noon.",
        headers={**desk, "Content-Type": "text/plain"},
    )
    assert r.status_code == 422
    problem = r.json()
    assert "no FM line (originator unknown)" in problem["warnings"]
    assert "not look like a cable" in problem["detail"]
    assert n_cables(db) == 0


def test_cable_without_reference_number_gets_a_hash_id_and_still_dedupes(client, db, desk):
    # No "STATE nnn" line: the ref id cannot be read, but it is plainly a cable.
    text = instruction().replace("C O N F I D E N T I A L STATE 166909", "CONFIDENTIAL")
    r = client.post(API, content=text, headers={**desk, "Content-Type": "text/plain"})
    assert r.status_code == 201, r.text
    assert r.json()["ref_id"].startswith("SHA256-")
    assert "no message reference number (ref_id unknown)" in r.json()["warnings"]
    again = client.post(API, content=text, headers={**desk, "Content-Type": "text/plain"})
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]


def test_viewers_may_not_ingest(client, db):
    _, viewer = make_user(db, Role.VIEWER)
    r = client.post(API, content=instruction(), headers={**viewer, "Content-Type": "text/plain"})
    assert r.status_code == 403
    assert n_cables(db) == 0


# -- reading --------------------------------------------------------------------


def test_list_is_newest_first_filters_by_kind_and_pages(client, desk):
    ids = [
        client.post(API, json={"text": instruction(str(100000 + n))}, headers=desk).json()["id"]
        for n in range(1, 6)
    ]
    r = client.get(API, params={"limit": 2}, headers=desk)
    page = r.json()
    assert [c["id"] for c in page["items"]] == ids[::-1][:2]
    seen = [c["id"] for c in page["items"]]
    while page["next_cursor"]:
        page = client.get(
            API, params={"limit": 2, "cursor": page["next_cursor"]}, headers=desk
        ).json()
        seen += [c["id"] for c in page["items"]]
    assert seen == ids[::-1]
    assert client.get(API, params={"kind": "report"}, headers=desk).json()["items"] == []
    one = client.get(f"{API}/{ids[0]}", headers=desk).json()
    assert one["raw_text"] == instruction("100001") and one["parsed"]["ref_id"] == "07STATE100001"


def test_cable_above_clearance_is_invisible_like_a_missing_one(client, db, desk):
    secret = client.post(
        API, json={"text": instruction("100007", "S E C R E T")}, headers=desk
    ).json()
    unclas = client.post(
        API, json={"text": instruction("100008", "UNCLASSIFIED")}, headers=desk
    ).json()
    _, low = make_user(db, Role.DESK_OFFICER, Classification.SBU)
    assert client.get(f"{API}/{secret['id']}", headers=low).status_code == 404
    assert client.get(f"{API}/999999", headers=low).status_code == 404
    assert client.get(f"{API}/{unclas['id']}", headers=low).status_code == 200
    assert [c["id"] for c in client.get(API, headers=low).json()["items"]] == [unclas["id"]]


def test_post_officer_sees_own_cables_and_sources_of_demarches_tasking_the_post(client, db, desk):
    hanoi = make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
    other = make_post(db, "OSLO", name="AMEMBASSY OSLO")
    _, officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
    _, oslo_officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=other)
    source = client.post(API, json={"text": instruction("100011")}, headers=desk).json()
    unrelated = client.post(API, json={"text": instruction("100012")}, headers=desk).json()
    own = client.post(
        API,
        json={
            "text": instruction("100013")
            .replace("FM SECSTATE WASHDC", "FM AMEMBASSY HANOI")
            .replace("STATE 100013", "HANOI 100013")
        },
        headers=officer,
    ).json()
    assert own["originator"] == "AMEMBASSY HANOI"

    # The source cable becomes visible once a demarche drafted from it tasks Hanoi.
    assert client.get(f"{API}/{source['id']}", headers=officer).status_code == 404
    draft = client.post(f"{API}/{source['id']}/draft-demarche", headers=desk).json()
    r = write(
        client,
        "PATCH",
        f"/api/v1/demarches/{draft['id']}",
        desk,
        json={"deadline": future().isoformat(), **COMPLETING},
    )
    assert r.status_code == 200, r.text
    assert write(client, "POST", f"/api/v1/demarches/{draft['id']}/issue", desk).status_code == 200

    visible = {c["id"] for c in client.get(API, headers=officer).json()["items"]}
    assert visible == {source["id"], own["id"]}
    assert client.get(f"{API}/{unrelated['id']}", headers=officer).status_code == 404
    assert {c["id"] for c in client.get(API, headers=oslo_officer).json()["items"]} == set()


@pytest.mark.parametrize(
    "marking",
    [
        None,
        "",
        "UNCLASSIFIED",
        "UNCLAS",
        "UNCLASSIFIED//FOR OFFICIAL USE ONLY",
        "SBU",
        "SENSITIVE BUT UNCLASSIFIED",
        "U//FOUO",
        "C",
        "CONFIDENTIAL",
        "CONFIDENTIAL//NOFORN",
        "C/NF",
        "S",
        "SECRET",
        "SECRET//NOFORN",
        "S/NF",
        "secret",
    ],
)
def test_sql_reading_of_the_marking_agrees_with_from_marking(db, marking):
    cable = Cable(
        ref_id=f"T{abs(hash(marking)) % 10**9}",
        classification=marking,
        kind="other",
        raw_text="x",
        parsed={},
    )
    db.add(cable)
    db.flush()
    rank = db.scalar(select(classification_rank()).where(Cable.id == cable.id))
    assert rank == from_marking(marking).rank


# -- drafting from an instruction ----------------------------------------------


def test_only_desk_officers_draft_and_only_from_instructions(client, db, desk):
    hanoi = make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
    _, officer = make_user(db, Role.POST_OFFICER, post=hanoi)
    cable = client.post(API, json={"text": instruction()}, headers=desk).json()
    assert client.post(f"{API}/{cable['id']}/draft-demarche", headers=officer).status_code == 403
    db.execute(Cable.__table__.update().values(kind="report"))
    r = client.post(f"{API}/{cable['id']}/draft-demarche", headers=desk)
    assert r.status_code == 422
    assert db.scalar(select(func.count()).select_from(Demarche)) == 0


def test_draft_from_a_small_instruction_lists_what_the_registry_lacks(client, db, desk):
    make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI", country="Vietnam")
    cable = client.post(API, json={"text": instruction()}, headers=desk).json()
    r = client.post(f"{API}/{cable['id']}/draft-demarche", headers=desk)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "draft" and d["source_cable_id"] == cable["id"]
    assert [(t["post"], t["role"], t["country"]) for t in d["targets"]] == [
        ("HANOI", "action", "Vietnam")
    ]
    assert d["unresolved"] == [
        {
            "name": "AMEMBASSY NOWHERE",
            "routing": "RUEHXX",
            "role": "info",
            "reason": "no post in the registry by this name or routing indicator",
        }
    ]
    assert [p["text"] for p in d["talking_points"]] == [
        "We urge your government to vote yes.",
        "The vote is on December 19.",
    ]
    # Paragraph 2 is marked (U): the points carry it, below the cable's CONFIDENTIAL.
    assert {p["classification"] for p in d["talking_points"]} == {"UNCLASSIFIED"}
    assert d["classification"] == "CONFIDENTIAL" and d["precedence"] == "IMMEDIATE"
    assert d["tags"] == ["PREL", "UN"]


@needs_corpus
def test_seed_instruction_drafts_the_unsc_demarche(client, db, desk):
    text = (CABLES / "07STATE166909.txt").read_bytes().decode("utf-8")

    def post(code, name, routing=None, city=None, country=None):
        return make_post(
            db,
            code,
            name=name,
            routing_indicator=routing,
            city=city or code.title(),
            country=country or code.title(),
        )

    hanoi = post("HANOI", "AMEMBASSY HANOI", "RUEHHI", country="Vietnam")
    post("OUAGADOUGOU", "AMEMBASSY OUAGADOUGOU", "RUEHOU", country="Burkina Faso")
    # No routing indicator and a differently written name: found by city.
    post("SANJOSE", "US Embassy San José", None, city="San Jose", country="Costa Rica")
    post("TRIPOLI", "AMEMBASSY TRIPOLI", "RUEHTRO", country="Libya")
    beijing = post("BEIJING", "AMEMBASSY BEIJING", "RUEHBJ", country="China")
    members = [
        beijing,
        hanoi,
        post("MOSCOW", "AMEMBASSY MOSCOW", "RUEHMO", country="Russia"),
        post("JAKARTA", "AMEMBASSY JAKARTA", "RUEHJA", country="Indonesia"),
        post("PRETORIA", "AMEMBASSY PRETORIA", "RUEHSA", country="South Africa"),
    ]
    post("BELGRADE", "AMEMBASSY BELGRADE", "RUEHBW", country="Serbia")
    post("USUN", "USMISSION USUN NEW YORK", "RUCNDT", city="New York", country="United Nations")
    post("USEU", "USEU BRUSSELS", None, city="Brussels", country="European Union")
    # The cable writes the collective by name only (no routing indicator on its TO line).
    make_collective(
        db, "UNSC", "UN SECURITY COUNCIL COLLECTIVE", members, routing_indicator="RUEHGG"
    )

    cable = client.post(
        API, content=text.encode(), headers={**desk, "Content-Type": "text/plain"}
    ).json()
    assert cable["ref_id"] == "07STATE166909" and cable["kind"] == "instruction"
    r = client.post(f"{API}/{cable['id']}/draft-demarche", headers=desk)
    assert r.status_code == 201, r.text
    d = r.json()

    roles = {t["post"]: t["role"] for t in d["targets"]}
    assert roles == {
        "HANOI": "action",
        "OUAGADOUGOU": "action",
        "SANJOSE": "action",
        "TRIPOLI": "action",
        "MOSCOW": "action",
        "JAKARTA": "action",
        "PRETORIA": "action",
        "BEIJING": "info",  # "(except Beijing) ... info only for Beijing"
        "BELGRADE": "info",
        "USUN": "info",
        "USEU": "info",
    }
    assert sorted((u["name"], u["routing"], u["role"]) for u in d["unresolved"]) == [
        ("USMISSION USNATO", "RUEHNO", "info"),
        ("USMISSION USOSCE", "RUEHVEN", "info"),
    ]
    assert d["deadline"] == "2007-12-17"  # in the past, kept as the cable says
    assert "deadline 2007-12-17 is in the past" in d["warnings"]
    assert d["delivery_level"] == "highest appropriate level"
    assert d["subject"] == "DEMARCHE INSTRUCTION ON KOSOVO FINAL STATUS"
    assert d["classification"] == "CONFIDENTIAL" and d["precedence"] == "IMMEDIATE"
    assert len(d["objectives"]) == 4
    assert d["objectives"][0]["text"].startswith("Convey our assessment")
    assert len(d["talking_points"]) == 18
    assert d["talking_points"][0]["text"].startswith("After two years of status talks")
    # Paragraph 8 (the points) is marked (SBU); they are for private use.
    assert {(p["classification"], p["use"]) for p in d["talking_points"]} == {("SBU", "private")}
    assert [(k["date"], k["what"]) for k in d["key_dates"]] == [
        ("2007-12-19", "UN Security Council (UNSC) session on Kosovo")
    ]
    # Tags are a set: every reader shows them sorted.
    assert d["tags"] == sorted(["PREL", "UN", "UNMIK", "PGOV", "YI", "EU"])
    assert d["source_cable_id"] == cable["id"] and d["status"] == "draft"
    stored = db.get(Demarche, d["id"])
    assert stored is not None and stored.author_id is not None


def test_a_cable_with_a_damaged_banner_takes_its_highest_portion_mark(client, db, desk):
    # The classification line is cut off; the (C) paragraphs still say what it is.
    text = instruction(marking="").replace(" STATE 166909", "")
    text = text.replace("1. (SBU)", "1. (C)")
    r = client.post(API, json={"text": text}, headers=desk)
    assert r.status_code == 201, r.text
    assert r.json()["classification"] == "CONFIDENTIAL"
    _, sbu_viewer = make_user(db, Role.VIEWER, Classification.SBU)
    assert client.get(f"{API}/{r.json()['id']}", headers=sbu_viewer).status_code == 404
    listed = client.get(API, headers=sbu_viewer).json()["items"]
    assert listed == []


def test_a_paragraph_marked_above_the_banner_raises_the_cable(client, db, desk):
    # Banner CONFIDENTIAL, but a SECRET paragraph: a CONFIDENTIAL reader must not get it.
    text = instruction(serial="166911").replace("2. (U) Points:", "2. (S) Points:")
    r = client.post(API, json={"text": text}, headers=desk)
    assert r.status_code == 201, r.text
    assert r.json()["classification"] == "SECRET"
    _, confidential = make_user(db, Role.VIEWER, Classification.CONFIDENTIAL)
    assert client.get(f"{API}/{r.json()['id']}", headers=confidential).status_code == 404
