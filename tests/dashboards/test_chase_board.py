"""The overdue board as the desk chases from it: each cell opens its tasking, each post
its list of taskings, a post covering several countries has a row for each, and sorted
by region the rows are grouped and totalled. And the home page's region filter narrows
the progress counts to that region's posts."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from app.taskings.models import Tasking, TaskingStatus
from app.vocabulary import TaskingRole
from tests.factories import login, make_demarche, make_region_post, tasking_of

TODAY = date.today()


def _late(db, page_world, subject: str = "LATE ONE", days: int = 6):
    d = make_demarche(
        db,
        page_world["desk"],
        page_world["posts"],
        subject=subject,
        deadline=TODAY - timedelta(days=days),
        issued_on=TODAY - timedelta(days=30),
    )
    return d


def test_cells_open_their_tasking_and_posts_their_list(client, db, page_world):
    d = _late(db, page_world)
    hanoi = tasking_of(db, d, "HANOI")
    login(client, "desk")
    page = client.get("/overdue?sort=region").text
    assert f'href="/taskings/{hanoi.id}?next=/overdue%3Fsort%3Dregion"' in page
    assert 'href="/taskings?post=HANOI&amp;overdue=1">HANOI</a>' in page
    listed = client.get("/taskings?post=HANOI&overdue=1").text
    assert f'href="/taskings/{hanoi.id}?next=' in listed and "LATE ONE" in listed
    # Followed, the cell's page comes back to the board as it was sorted.
    assert (
        'href="/overdue?sort=region">Back to the overdue board'
        in client.get(f"/taskings/{hanoi.id}?next=/overdue%3Fsort%3Dregion").text
    )


def test_a_post_covering_several_countries_has_a_cell_for_each(client, db, page_world):
    d = _late(db, page_world)
    hanoi = tasking_of(db, d, "HANOI")
    # Hanoi also covers Laos on this demarche: a second tasking, as issuing a target
    # with two countries makes.
    laos = Tasking(
        demarche_id=d.id,
        post_id=hanoi.post_id,
        country="Laos",
        role=TaskingRole.ACTION,
        due_date=TODAY - timedelta(days=9),
        status=TaskingStatus.PENDING,
    )
    db.add(laos)
    db.commit()
    login(client, "desk")
    page = client.get("/overdue").text
    own = re.search(r'<tr><th scope="row"><a [^>]*>HANOI</a></th>(.*?)</tr>', page, re.S)
    other = re.search(r'<tr><th scope="row"><a [^>]*>HANOI for Laos</a></th>(.*?)</tr>', page, re.S)
    assert own and other
    assert f"/taskings/{hanoi.id}?" in own.group(1) and ">6<" in own.group(1)
    assert f"/taskings/{laos.id}?" in other.group(1) and ">9<" in other.group(1)


def test_sorted_by_region_rows_are_grouped_and_totalled(client, db, page_world):
    _late(db, page_world, "LATE ONE", 6)
    # A second EAP post, late on a second demarche too: EAP has 2 posts, 3 taskings.
    manila = make_region_post(db, "MANILA", page_world["posts"][0].region)
    d2 = make_demarche(
        db,
        page_world["desk"],
        [manila],
        subject="LATE TWO",
        deadline=TODAY - timedelta(days=2),
        issued_on=TODAY - timedelta(days=30),
    )
    make_demarche(
        db,
        page_world["desk"],
        [page_world["posts"][0]],
        subject="LATE THREE",
        deadline=TODAY - timedelta(days=16),
        issued_on=TODAY - timedelta(days=30),
    )
    assert d2.id
    login(client, "desk")
    page = client.get("/overdue?sort=region").text
    groups = re.findall(r'<tr class="region"><th scope="rowgroup"[^>]*>([^<]+)</th>', page)
    assert groups == [
        "EAP: 2 posts, 3 overdue taskings",
        "EUR: 1 post, 1 overdue tasking",
        "WHA: 1 post, 1 overdue tasking",
    ]
    total = re.search(
        r'<tr class="region-total"><th scope="row">EAP total</th><td>2 posts</td>'
        r'<td class="overdue">(\d+)</td>(.*?)</tr>',
        page,
        re.S,
    )
    assert total and total.group(1) == "16"
    per_column = re.findall(r'<td class="cell">(\d*)</td>', total.group(2))
    assert sorted(per_column) == ["1", "1", "1"]  # one EAP tasking late on each demarche
    # Worst-first keeps no groups.
    assert 'class="region"' not in client.get("/overdue").text


def test_the_home_page_region_filter_narrows_the_progress_counts(client, db, page_world):
    d = page_world["demarche"]
    for code in ("SANJOSE", "PARIS"):
        tasking_of(db, d, code).status = TaskingStatus.DELIVERED
    db.commit()
    login(client, "desk")
    every = client.get("/").text
    assert "1 pending" in every and "2 delivered" in every
    region = page_world["posts"][0].region.value  # Hanoi's alone
    narrowed = client.get(f"/?region={region}").text
    assert f"Action posts in {region}" in narrowed
    assert "1 pending" in narrowed and "delivered" not in narrowed.split("<tbody>")[1]
    by_post = client.get("/?post=PARIS").text
    assert "1 delivered" in by_post and "pending" not in by_post.split("<tbody>")[1]
    assert db.scalar(select(Tasking.id).where(Tasking.demarche_id == d.id))
