"""The calendar feed: a secret address per user, rotatable, read as its owner, and
carrying nothing above UNCLASSIFIED."""

from __future__ import annotations

import re
from datetime import date, timedelta

from icalendar import Calendar

from app.classification import Classification
from app.demarches.models import KeyDate
from tests.factories import login, make_demarche

FEED = re.compile(r'value="http://testserver(/calendar/[^"]+\.ics)"')
SOON = date.today() + timedelta(days=12)


def _new_address(client, csrf: str) -> str:
    page = client.post("/calendar/rotate", data={"csrf_token": csrf})
    assert page.status_code == 200, page.text
    return FEED.search(page.text).group(1)


def _summaries(client, path: str) -> list[str]:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    return [str(e["summary"]) for e in Calendar.from_ical(r.content).walk("VEVENT")]


def test_a_feed_names_classified_demarches_by_number_and_withholds_marked_dates(
    client, db, page_world
):
    desk = page_world["desk"]
    open_one = make_demarche(
        db,
        desk,
        page_world["posts"][:1],
        subject="FISHERIES QUOTAS",
        classification=Classification.UNCLASSIFIED,
        secret_point=False,
    )
    open_one.key_dates += [
        KeyDate(on=SOON, what="Commission vote", classification=Classification.UNCLASSIFIED),
        # A row from before the rule of marks: SECRET on an unclassified demarche.
        KeyDate(on=SOON, what="Back-channel talks", classification=Classification.SECRET),
    ]
    make_demarche(
        db,
        desk,
        page_world["posts"][:1],
        subject="A SECRET ONE",
        classification=Classification.SECRET,
    )
    db.commit()
    csrf = login(client, "viewer")
    assert "Make my feed address" in client.get("/calendar").text
    path = _new_address(client, csrf)
    events = _summaries(client, path)
    d = page_world["demarche"]
    assert f"Deadline: Demarche {d.id} (CONFIDENTIAL)" in events
    assert "Deadline: FISHERIES QUOTAS" in events
    assert "Commission vote: FISHERIES QUOTAS" in events
    text = client.get(path).text
    for word in ("UNSC", "Back-channel", "A SECRET ONE", "SECRET)"):
        assert word not in text

    # Rotated: the old address is gone, the new one works; a guess names nothing.
    newer = _new_address(client, csrf)
    assert client.get(path).status_code == 404
    assert client.get(newer).status_code == 200
    assert client.get("/calendar/" + "x" * 43 + ".ics").status_code == 404
    assert client.get("/calendar/" + "x" * 65 + ".ics").status_code == 404


def test_a_post_officer_s_feed_lists_its_own_taskings(client, db, page_world):
    csrf = login(client, "hanoi")
    events = _summaries(client, _new_address(client, csrf))
    d = page_world["demarche"]
    assert events == [f"Deliver: Demarche {d.id} (CONFIDENTIAL)"]
