"""The dashboard pages through TestClient: the home page's open demarches and the overdue board."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from app.classification import Classification
from app.db import utcnow
from app.taskings.models import Tasking
from app.vocabulary import Precedence
from tests.factories import login, make_demarche

TODAY = date.today()


def test_home_lists_open_demarches_soonest_first_with_banner(client, db, page_world):
    desk = page_world["desk"]
    make_demarche(
        db,
        desk,
        page_world["posts"][:1],
        subject="EARLIER ONE",
        classification=Classification.UNCLASSIFIED,
        deadline=TODAY + timedelta(days=3),
        secret_point=False,
    )
    make_demarche(
        db,
        desk,
        page_world["posts"][:1],
        subject="A SECRET ONE",
        classification=Classification.SECRET,
    )
    db.commit()
    login(client, "viewer")
    page = client.get("/").text
    assert "EARLIER ONE" in page and "UNSC: SUPPORT THE RENEWAL" in page
    assert "A SECRET ONE" not in page  # above the viewer's clearance
    assert page.index("EARLIER ONE") < page.index("UNSC: SUPPORT THE RENEWAL")
    assert page.count("banner banner-confidential") == 2  # top and bottom
    assert "3 days left" in page
    assert "3 pending" in page  # the progress bar's text


def test_home_filters_live_in_the_url(client, db, page_world):
    desk = page_world["desk"]
    make_demarche(
        db, desk, page_world["posts"][2:], subject="FISHERIES", tags=("EFIS",), secret_point=False
    )
    db.commit()
    login(client, "desk")
    assert "FISHERIES" not in client.get("/?tag=PREL").text
    assert "FISHERIES" in client.get("/?tag=EFIS").text
    by_region = client.get("/?region=WHA").text
    assert "FISHERIES" not in by_region and "UNSC: SUPPORT" in by_region
    assert "FISHERIES" in client.get("/?post=PARIS").text
    assert "No" not in client.get("/?status=bogus&region=XX").text[:0]  # tolerated
    assert "Nothing matches" in client.get("/?overdue=1").text


def test_overdue_board_shows_days_late_and_sorts(client, db, page_world):
    past = TODAY - timedelta(days=20)
    make_demarche(
        db,
        page_world["desk"],
        page_world["posts"][:2],
        subject="LATE ONE",
        deadline=TODAY - timedelta(days=6),
        issued_on=past,
    )
    db.commit()
    login(client, "desk")
    page = client.get("/overdue").text
    assert "LATE ONE" in page and "UNSC: SUPPORT" not in page
    assert re.search(r'class="cell b2"><a [^>]*>6<', page)
    region = client.get("/overdue?sort=region").text
    assert region.index(">HANOI<") < region.index(">SANJOSE<")  # EAP before WHA
    login(client, "hanoi")
    assert ">SANJOSE<" not in client.get("/overdue").text


def test_overdue_board_shows_a_flash_not_acknowledged_in_time_as_zero(client, db, page_world):
    """Urgent and unacknowledged past the window is overdue before its due date: a 0
    cell. The window's cut-off and today are written into the board's SQL; this checks
    both still select the right taskings on each database."""
    first, second = page_world["posts"][:2]
    flash = make_demarche(db, page_world["desk"], [first, second], subject="FLASH ONE")
    flash.precedence = Precedence.FLASH
    for t in db.scalars(select(Tasking).where(Tasking.demarche_id == flash.id)):
        if t.post_id == first.id:
            t.created_at = utcnow() - timedelta(hours=72)  # the other is fresh
    db.commit()
    login(client, "desk")
    page = client.get("/overdue").text
    assert "FLASH ONE" in page
    row = re.search(rf'<tr><th scope="row"><a [^>]*>{first.code}</a></th>(.*?)</tr>', page, re.S)
    assert re.search(r'class="cell b0"><a [^>]*>0<', row.group(1))
    assert f">{second.code}</a></th>" not in page


def test_overdue_board_cells_line_up_with_their_demarches(client, db, page_world):
    """A post late on one demarche of two has one shaded cell, under that demarche,
    and an empty one under the other (the page writes its cells without spacing)."""
    past = TODAY - timedelta(days=30)
    first, second = page_world["posts"][:2]
    for subject, posts, late in (("LATE A", [first, second], 6), ("LATE B", [first], 20)):
        make_demarche(
            db,
            page_world["desk"],
            posts,
            subject=subject,
            deadline=TODAY - timedelta(days=late),
            issued_on=past,
        )
    db.commit()
    login(client, "desk")
    page = client.get("/overdue").text
    headers = re.findall(r'<th scope="col" class="col"><a [^>]*>([^<]+)</a>', page)
    row = re.search(rf'<tr><th scope="row"><a [^>]*>{second.code}</a></th>(.*?)</tr>', page, re.S)
    cells = re.findall(r'<td class="cell[^"]*">(?:<a [^>]*>)?(\d*)', row.group(1))
    assert dict(zip(headers, cells, strict=True)) == {"LATE A": "6", "LATE B": ""}
