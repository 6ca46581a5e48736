"""Attacks on portion marks (issue 13, items 2 and 13b).

- A cable with a CONFIDENTIAL banner and (S) summary and objective paragraphs drafted a
  CONFIDENTIAL demarche carrying the (S) text, which CONFIDENTIAL posts and viewers then
  read once it was issued. Every portion keeps its mark now, and the demarche is never
  classified below its highest portion nor below its cable.
- Any write could put a portion above its demarche (or above its own author).
- A CONFIDENTIAL desk officer could amend away a SECRET point they cannot see.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.cables.models import Cable
from app.classification import Classification
from app.demarches.models import Demarche, KeyDate, Objective
from tests.factories import (
    demarche_payload,
    future,
    legacy_point,
    login,
    make_demarche,
    make_post,
    make_region_post,
    make_signin_user,
    make_user,
    write,
)

API = "/api/v1"
SECRET, CONFIDENTIAL = Classification.SECRET, Classification.CONFIDENTIAL
SUMMARY_CANARY = "CANARY-SUMMARY-S1"
OBJECTIVE_CANARY = "CANARY-OBJECTIVE-S2"

# The issue's cable: the banner says CONFIDENTIAL, the summary and the objectives (S).
CABLE = f"""O 011200Z DEC 26
FM SECSTATE WASHDC
TO RUEHHI/AMEMBASSY HANOI IMMEDIATE 1

C O N F I D E N T I A L STATE 777001

TAGS: PREL UN
SUBJECT: DEMARCHE ON A COUNCIL VOTE

1. (S) SUMMARY: The {SUMMARY_CANARY} assessment says one member will abstain. END SUMMARY.

2. (S) Objectives:

-- Learn whether {OBJECTIVE_CANARY} holds.

3. (C) This is an action request. Embassy Hanoi should deliver the points below to host
government officials at the highest appropriate level before December 17.

4. (U) Points:

-- We urge your government to vote yes.

-- The vote is on December 19.

RICE
"""


@pytest.fixture
def people(db):
    hanoi = make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
    _, desk = make_user(db, Role.DESK_OFFICER, SECRET)
    _, low_desk = make_user(db, Role.DESK_OFFICER, CONFIDENTIAL)
    _, post = make_user(db, Role.POST_OFFICER, CONFIDENTIAL, hanoi)
    _, viewer = make_user(db, Role.VIEWER, CONFIDENTIAL)
    return {"hanoi": hanoi, "desk": desk, "low_desk": low_desk, "post": post, "viewer": viewer}


def _draft(client, desk, text: str = CABLE) -> dict:
    cable = client.post(f"{API}/cables", json={"text": text}, headers=desk)
    assert cable.status_code == 201, cable.text
    r = client.post(f"{API}/cables/{cable.json()['id']}/draft-demarche", headers=desk)
    assert r.status_code == 201, r.text
    return r.json()


def _issue(client, desk, demarche_id: int) -> dict:
    path = f"{API}/demarches/{demarche_id}"
    assert write(client, "PATCH", path, desk, json={"deadline": future().isoformat()}).is_success
    r = write(client, "POST", f"{path}/issue", desk)
    assert r.status_code == 200, r.text
    return r.json()


def test_secret_paragraphs_under_a_confidential_banner_draft_a_secret_demarche(client, people):
    d = _draft(client, people["desk"])
    # Each portion keeps the mark of its paragraph; the demarche takes the highest.
    assert d["classification"] == "SECRET"
    assert SUMMARY_CANARY in d["summary"] and d["summary_classification"] == "SECRET"
    assert [(o["text"], o["classification"]) for o in d["objectives"]] == [
        (f"Learn whether {OBJECTIVE_CANARY} holds.", "SECRET")
    ]
    assert {p["classification"] for p in d["talking_points"]} == {"UNCLASSIFIED"}
    issued = _issue(client, people["desk"], d["id"])
    assert issued["classification"] == "SECRET"

    # Issued to Hanoi, it is out of sight of every CONFIDENTIAL reader, as if missing.
    for who in ("post", "viewer", "low_desk"):
        headers = people[who]
        for path in (
            f"{API}/demarches/{d['id']}",
            f"{API}/demarches/{d['id']}/timeline",
            f"{API}/demarches/{d['id']}/revisions",
        ):
            assert client.get(path, headers=headers).status_code == 404, (who, path)
        for path in (f"{API}/demarches", f"{API}/taskings", f"{API}/cables"):
            body = client.get(path, headers=headers).text
            assert SUMMARY_CANARY not in body and OBJECTIVE_CANARY not in body, (who, path)


def test_the_draft_is_never_below_the_cables_stored_classification(client, db, people):
    # Every paragraph of this one is marked (U) or (SBU) under a CONFIDENTIAL banner.
    text = CABLE.replace("(S)", "(U)").replace("(C) This", "(SBU) This")
    cable = client.post(f"{API}/cables", json={"text": text}, headers=people["desk"]).json()
    # Stored higher than the text says (re-graded by hand): the draft follows the cable.
    db.execute(Cable.__table__.update().values(classification="SECRET"))
    db.commit()
    r = client.post(f"{API}/cables/{cable['id']}/draft-demarche", headers=people["desk"])
    assert r.status_code == 201, r.text
    assert r.json()["classification"] == "SECRET"
    # Without that, the banner: portions marked lower keep their own marks below it.
    d = _draft(client, people["desk"], text.replace("777001", "777002"))
    assert d["classification"] == "CONFIDENTIAL"
    assert d["summary_classification"] == "UNCLASSIFIED"
    assert {o["classification"] for o in d["objectives"]} == {"UNCLASSIFIED"}


@pytest.mark.parametrize(
    ("over", "named"),
    [
        ({"summary_classification": "SECRET"}, "The summary is marked SECRET"),
        (
            {"objectives": ["Win.", {"text": "Watch them.", "classification": "SECRET"}]},
            "Objective 2 is marked SECRET",
        ),
        (
            {"talking_points": [{"text": "Vote yes."}, {"text": "x", "classification": "SECRET"}]},
            "Point 2 is marked SECRET",
        ),
        (
            {
                "key_dates": [
                    {"date": future(3).isoformat(), "what": "Vote", "classification": "SECRET"}
                ]
            },
            f"The key date of {future(3).isoformat()} is marked SECRET",
        ),
    ],
    ids=["summary", "objective", "point", "key date"],
)
def test_no_write_puts_a_portion_above_its_demarche(client, db, people, over, named):
    desk = people["desk"]
    r = client.post(
        f"{API}/demarches", json=demarche_payload([people["hanoi"]], **over), headers=desk
    )
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"] and "classify the demarche SECRET" in r.json()["detail"]
    assert db.scalar(select(Demarche.id)) is None

    # A draft's edit, and an issued demarche's amendment, are held to the same rule.
    d = client.post(f"{API}/demarches", json=demarche_payload([people["hanoi"]]), headers=desk)
    path = f"{API}/demarches/{d.json()['id']}"
    r = write(client, "PATCH", path, desk, json=over)
    assert r.status_code == 422 and named in r.json()["detail"], r.text
    if "summary_classification" not in over:  # an amendment does not touch the summary
        assert write(client, "POST", f"{path}/issue", desk).status_code == 200
        r = write(
            client, "POST", f"{path}/amend", desk, etag_path=path, json={"reason": "x", **over}
        )
        assert r.status_code == 422 and named in r.json()["detail"], r.text
    after = client.get(path, headers=desk).json()
    assert "SECRET" not in {after["summary_classification"]} | {
        p["classification"]
        for key in ("objectives", "talking_points", "key_dates")
        for p in after[key]
    }


def test_a_draft_cannot_be_classified_below_one_of_its_portions(client, people):
    desk = people["desk"]
    body = demarche_payload(
        [people["hanoi"]],
        classification="SECRET",
        talking_points=[{"text": "open", "classification": "UNCLASSIFIED"}, {"text": "held"}],
    )
    d = client.post(f"{API}/demarches", json=body, headers=desk).json()
    assert d["talking_points"][1]["classification"] == "SECRET"  # unmarked: the demarche's
    path = f"{API}/demarches/{d['id']}"
    r = write(client, "PATCH", path, desk, json={"classification": "CONFIDENTIAL"})
    assert r.status_code == 422, r.text
    assert "is marked SECRET: the demarche cannot be classified CONFIDENTIAL" in r.json()["detail"]
    assert client.get(path, headers=desk).json()["classification"] == "SECRET"


def test_no_author_marks_a_portion_above_their_own_clearance(client, people):
    body = demarche_payload(
        [people["hanoi"]],
        objectives=[{"text": "Find out.", "classification": "SECRET"}],
    )
    r = client.post(f"{API}/demarches", json=body, headers=people["low_desk"])
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (
        "You are cleared to CONFIDENTIAL: objective 1 cannot be marked SECRET."
    )


def test_the_page_forms_refuse_a_portion_above_the_demarche(client, db):
    hanoi = make_region_post(db, "HANOI")
    desk = make_signin_user(db, "desk")
    csrf = login(client, "desk")
    form = {
        "csrf_token": csrf,
        "subject": "BY HAND",
        "classification": "CONFIDENTIAL",
        "precedence": "ROUTINE",
        "deadline": future(7).isoformat(),
        "objectives": "Win the vote.",
        "talking_points": "(U) Vote yes.\n\n(S) Our red line.",
        "posts": ["HANOI"],
    }
    r = client.post("/demarches/new", data=form)
    assert r.status_code == 422
    assert 'id="talking_points-error"' in r.text and "Point 2 is marked SECRET" in r.text
    assert db.scalar(select(Demarche.id).where(Demarche.subject == "BY HAND")) is None
    r = client.post("/demarches/new", data={**form, "summary": "(S) A secret summary."})
    assert r.status_code == 422 and "The summary is marked SECRET" in r.text

    d = make_demarche(db, desk, [hanoi], secret_point=False)
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={
            "csrf_token": csrf,
            "version": d.version,
            "reason": "More",
            "objectives": "(S) Learn their red line.",
        },
    )
    assert r.status_code == 422 and "Objective 1 is marked SECRET" in r.text
    db.expire_all()
    assert [o.text for o in db.get_one(Demarche, d.id).objectives] == ["Secure a yes vote."]


# -- 13b: an editor who cannot read a portion cannot change it either ---------------------


@pytest.fixture
def legacy(db, people):
    """A CONFIDENTIAL demarche holding SECRET portions (a row from before the rule of marks),
    issued to Hanoi, and a CONFIDENTIAL desk officer who may amend it but not read them."""
    desk_user, _ = make_user(db, Role.DESK_OFFICER, SECRET)
    d = make_demarche(db, desk_user, [people["hanoi"]], secret_point=False, extra_points=1)
    # Points: 1 "We ask you to vote yes." (U), 2 the SECRET one, 3 "Further point 0." (U).
    d.talking_points[1].position = 3
    legacy_point(d, "Our red line is the mandate.", position=2)
    d.objectives.append(Objective(position=2, text="Learn their red line.", classification=SECRET))
    d.key_dates.append(KeyDate(on=future(4), what="Closed-door meeting", classification=SECRET))
    db.commit()
    return d


def _points(db, d: Demarche) -> list[tuple[int, str, str]]:
    db.expire_all()
    return [
        (p.position, p.text, p.classification.value)
        for p in db.get_one(Demarche, d.id).talking_points
    ]


def test_an_amendment_keeps_the_portions_its_author_cannot_read(client, db, people, legacy):
    low = people["low_desk"]
    path = f"{API}/demarches/{legacy.id}"
    seen = client.get(path, headers=low).json()
    assert [p["text"] for p in seen["talking_points"]] == [
        "We ask you to vote yes.",
        None,
        "Further point 0.",
    ]
    # The editor sends the list they see, without the point they cannot see.
    r = write(
        client,
        "POST",
        f"{path}/amend",
        low,
        etag_path=path,
        json={
            "reason": "Sharper points",
            "talking_points": [{"text": "Vote yes, openly."}, {"text": "Say it twice."}],
            "objectives": ["Secure a yes vote, in public."],
            "key_dates": [],
        },
    )
    assert r.status_code == 200, r.text
    assert "Our red line" not in r.text and "Closed-door" not in r.text
    # The SECRET point kept its place and text; only what the editor could read changed.
    assert _points(db, legacy) == [
        (1, "Vote yes, openly.", "CONFIDENTIAL"),
        (2, "Our red line is the mandate.", "SECRET"),
        (3, "Say it twice.", "CONFIDENTIAL"),
    ]
    d = db.get_one(Demarche, legacy.id)
    assert [(o.text, o.classification) for o in d.objectives] == [
        ("Secure a yes vote, in public.", CONFIDENTIAL),
        ("Learn their red line.", SECRET),
    ]
    assert [(k.what, k.classification) for k in d.key_dates] == [("Closed-door meeting", SECRET)]


def test_an_empty_list_from_such_an_editor_removes_only_what_they_can_read(
    client, db, people, legacy
):
    low = people["low_desk"]
    path = f"{API}/demarches/{legacy.id}"
    r = write(
        client,
        "POST",
        f"{path}/amend",
        low,
        etag_path=path,
        json={"reason": "Fewer points", "talking_points": []},
    )
    assert r.status_code == 200, r.text
    assert _points(db, legacy) == [(1, "Our red line is the mandate.", "SECRET")]


def test_a_draft_edit_keeps_them_too_and_a_withheld_summary_cannot_be_replaced(client, db, people):
    desk_user, _ = make_user(db, Role.DESK_OFFICER, SECRET)
    d = make_demarche(db, desk_user, [people["hanoi"]], issue=False)  # point 2 is SECRET
    d.summary_classification = SECRET
    db.commit()
    low = people["low_desk"]
    path = f"{API}/demarches/{d.id}"
    seen = client.get(path, headers=low).json()
    assert seen["summary"] is None and seen["summary_withheld"] is True
    r = write(client, "PATCH", path, low, json={"summary": "Nothing to see."})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("The summary is marked above your clearance")
    assert "Urge a yes vote" not in r.text
    r = write(client, "PATCH", path, low, json={"talking_points": [{"text": "Only this."}]})
    assert r.status_code == 200, r.text
    assert _points(db, d) == [
        (1, "Only this.", "CONFIDENTIAL"),
        (2, "Our red line is the mandate.", "SECRET"),
    ]
    db.expire_all()
    assert db.get_one(Demarche, d.id).summary == "Urge a yes vote on a clean renewal."
    # Nor can it be classified below what it keeps.
    r = write(client, "PATCH", path, low, json={"classification": "SBU"})
    assert r.status_code == 422, r.text
    assert "is marked SECRET: the demarche cannot be classified SBU" in r.json()["detail"]


def test_the_amend_page_keeps_them_as_the_api_does(client, db, people, legacy):
    make_signin_user(db, "lowdesk", Role.DESK_OFFICER, CONFIDENTIAL)
    csrf = login(client, "lowdesk")
    form = client.get(f"/demarches/{legacy.id}/amend").text
    assert "Our red line" not in form and "Closed-door" not in form
    assert "stays as it is, in its place" in form
    version = int(re.search(r'name="version" value="(\d+)"', form).group(1))
    r = client.post(
        f"/demarches/{legacy.id}/amend",
        data={
            "csrf_token": csrf,
            "version": version,
            "reason": "One point",
            "talking_points": "Vote yes.",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _points(db, legacy) == [
        (1, "Vote yes.", "CONFIDENTIAL"),
        (2, "Our red line is the mandate.", "SECRET"),
    ]
