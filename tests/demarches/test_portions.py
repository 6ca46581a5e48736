"""Every portion of a demarche carries its own mark: how the API and the pages take and
show them, how a legacy row's portions above a reader are withheld, and how history
reads snapshots written before objectives and key dates had marks.
(The attacks are in tests/security/test_portions.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.auth.policy import Reader
from app.classification import Classification
from app.demarches import history
from app.demarches.models import Demarche, KeyDate, Objective
from tests.factories import (
    demarche_payload,
    future,
    login,
    make_demarche,
    make_post,
    make_region_post,
    make_signin_user,
    make_user,
    write,
)

API = "/api/v1/demarches"
SECRET, CONFIDENTIAL = Classification.SECRET, Classification.CONFIDENTIAL


@pytest.fixture
def world(db):
    hanoi = make_post(db, "HANOI")
    desk_user, desk = make_user(db, Role.DESK_OFFICER, SECRET)
    viewer_user, viewer = make_user(db, Role.VIEWER, CONFIDENTIAL)
    return {"hanoi": hanoi, "desk_user": desk_user, "desk": desk, "viewer": viewer}


def test_objectives_come_as_strings_or_marked_and_unmarked_ones_take_the_demarches_level(
    client, world
):
    body = demarche_payload(
        [world["hanoi"]],
        summary="Urge a yes vote.",
        summary_classification="UNCLASSIFIED",
        objectives=["Win the vote.", {"text": "Learn the instructions.", "classification": "SBU"}],
        key_dates=[
            {"date": future(3).isoformat(), "what": "Experts meet", "classification": "SBU"},
            {"date": future(9).isoformat(), "what": "Council vote"},
        ],
    )
    r = client.post(API, json=body, headers=world["desk"])
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["summary"], d["summary_classification"]) == ("Urge a yes vote.", "UNCLASSIFIED")
    assert [(o["position"], o["text"], o["classification"]) for o in d["objectives"]] == [
        (1, "Win the vote.", "CONFIDENTIAL"),
        (2, "Learn the instructions.", "SBU"),
    ]
    assert [(k["what"], k["classification"]) for k in d["key_dates"]] == [
        ("Experts meet", "SBU"),
        ("Council vote", "CONFIDENTIAL"),
    ]
    # A PATCH of the summary's text alone marks it at the demarche's level again.
    path = f"{API}/{d['id']}"
    got = write(client, "PATCH", path, world["desk"], json={"summary": "New."}).json()
    assert (got["summary"], got["summary_classification"]) == ("New.", "CONFIDENTIAL")
    got = write(client, "PATCH", path, world["desk"], json={"summary_classification": "SBU"}).json()
    assert (got["summary"], got["summary_classification"]) == ("New.", "SBU")
    r = write(client, "PATCH", path, world["desk"], json={"summary_classification": None})
    assert r.status_code == 422


def test_a_legacy_rows_portions_above_the_reader_are_withheld_whole(client, db, world):
    d = make_demarche(db, world["desk_user"], [world["hanoi"]])  # point 2 SECRET
    d.summary_classification = SECRET
    d.objectives.append(Objective(position=2, text="Learn their red line.", classification=SECRET))
    d.key_dates.append(KeyDate(on=future(4), what="Closed-door meeting", classification=SECRET))
    db.commit()
    got = client.get(f"{API}/{d.id}", headers=world["viewer"]).json()
    assert got["summary"] is None and got["summary_withheld"] is True
    assert got["summary_classification"] == "SECRET"
    assert got["objectives"] == [
        {
            "position": 1,
            "text": "Secure a yes vote.",
            "classification": "CONFIDENTIAL",
            "withheld": False,
        },
        {"position": 2, "text": None, "classification": "SECRET", "withheld": True},
    ]
    assert got["key_dates"] == [
        {"date": None, "what": None, "classification": "SECRET", "withheld": True}
    ]
    assert [p["withheld"] for p in got["talking_points"]] == [False, True]
    assert got["withheld_points"] == 1 and got["withheld_portions"] == 4
    for text in ("Urge a yes vote", "red line", "Closed-door", future(4).isoformat()):
        assert text not in str(got), text
    # The desk, cleared SECRET, reads all of it.
    full = client.get(f"{API}/{d.id}", headers=world["desk"]).json()
    assert full["withheld_portions"] == 0 and "Closed-door meeting" in str(full)


def test_snapshots_from_before_marks_read_at_their_own_level(world):
    """A revision stored before objectives, key dates and the summary had marks: each
    portion reads at the snapshot's classification, a lost point mark as SECRET."""
    desk = world["desk_user"]
    old = {
        "classification": "SECRET",
        "summary": "An old summary.",
        "objectives": ["An old objective."],
        "talking_points": [{"text": "An old point.", "use": "private"}],
        "key_dates": [{"date": "2027-01-20", "what": "An old date."}],
    }
    low = Reader(Role.VIEWER, CONFIDENTIAL, None)
    seen = history._withhold(old, low)
    assert seen == {
        "classification": "SECRET",
        "summary": None,
        "summary_withheld": True,
        "summary_classification": "SECRET",
        "objectives": [{"text": None, "classification": "SECRET", "withheld": True}],
        "talking_points": [
            {"text": None, "use": "private", "classification": "SECRET", "withheld": True}
        ],
        "key_dates": [{"date": None, "what": None, "classification": "SECRET", "withheld": True}],
    }
    readable = history._withhold({**old, "classification": "CONFIDENTIAL"}, low)
    assert readable["objectives"] == [
        {"text": "An old objective.", "classification": "CONFIDENTIAL"}
    ]
    assert readable["summary"] == "An old summary."
    assert readable["talking_points"][0]["withheld"] is True  # its mark is lost: SECRET
    # The desk reads them all.
    assert history._withhold(old, desk)["objectives"][0]["text"] == "An old objective."


def test_the_new_page_reads_a_mark_on_every_portion(client, db):
    make_region_post(db, "HANOI")
    make_signin_user(db, "desk")
    csrf = login(client, "desk")
    when = (future(8)).isoformat()
    r = client.post(
        "/demarches/new",
        data={
            "csrf_token": csrf,
            "subject": "MARKED BY HAND",
            "classification": "CONFIDENTIAL",
            "precedence": "ROUTINE",
            "deadline": future(7).isoformat(),
            "summary": "(U) Urge a yes vote.",
            "objectives": "(SBU) Win the vote.\nLearn the instructions.",
            "talking_points": "(U) Vote yes.",
            "key_dates": f"{when} (U) Council vote\n{(future(9)).isoformat()} Closed session",
            "posts": ["HANOI"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    d = db.scalar(select(Demarche).where(Demarche.subject == "MARKED BY HAND"))
    assert (d.summary, d.summary_classification) == (
        "Urge a yes vote.",
        Classification.UNCLASSIFIED,
    )
    assert [(o.text, o.classification) for o in d.objectives] == [
        ("Win the vote.", Classification.SBU),
        ("Learn the instructions.", CONFIDENTIAL),
    ]
    assert [(k.what, k.classification) for k in d.key_dates] == [
        ("Council vote", Classification.UNCLASSIFIED),
        ("Closed session", CONFIDENTIAL),
    ]
    page = client.get(r.headers["location"]).text
    assert "(SBU)</span> Win the vote." in page and "(UNCLASSIFIED)</span> Council vote" in page


def test_the_page_withholds_every_portion_kind_of_a_legacy_row(client, db):
    hanoi = make_region_post(db, "HANOI")
    desk = make_signin_user(db, "desk")
    make_signin_user(db, "viewer", Role.VIEWER, CONFIDENTIAL)
    d = make_demarche(db, desk, [hanoi], deadline=future(5) + timedelta(days=1))
    d.summary_classification = SECRET
    d.objectives.append(Objective(position=2, text="Learn their red line.", classification=SECRET))
    d.key_dates.append(KeyDate(on=future(4), what="Closed-door meeting", classification=SECRET))
    db.commit()
    login(client, "viewer")
    page = client.get(f"/demarches/{d.id}").text
    assert "The summary is above your clearance and is withheld." in page
    assert "1 objective above your clearance is withheld." in page
    assert "1 talking point above your clearance is withheld." in page
    assert "1 key date above your clearance is withheld." in page
    for text in ("Urge a yes vote", "red line", "Closed-door"):
        assert text not in page, text
    # The banner is the demarche's: nothing above it is shown.
    assert "banner-secret" not in page
