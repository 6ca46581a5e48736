"""The post officer's job in the pages: the landing on the inbox, cards that never let a
pressing tasking look routine, a tasking page to deliver from, dates in the post's own
calendar, and the post's searchable record of finished work."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.auth.models import Role
from app.clock import local_today
from app.posts.models import Post
from app.taskings.models import Delivery, Tasking, TaskingStatus
from app.vocabulary import Precedence
from tests.factories import (
    CSRF,
    PASSWORD,
    delivery_form,
    login,
    make_demarche,
    make_user,
    tasking_of,
    write,
)

API = "/api/v1/taskings"


def _sign_in(client, username: str, next_path: str | None = None):
    page = client.get("/login" + (f"?next={next_path}" if next_path else ""))
    token = CSRF.search(page.text).group(1)
    form = {"username": username, "password": PASSWORD, "csrf_token": token}
    form["next"] = next_path or "/"
    return client.post("/login", data=form, follow_redirects=False)


def test_a_post_officer_lands_on_the_inbox_unless_a_page_was_asked_for(client, page_world):
    r = _sign_in(client, "hanoi")
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    client.cookies.clear()
    d = page_world["demarche"]
    r = _sign_in(client, "hanoi", f"/demarches/{d.id}")
    assert r.headers["location"] == f"/demarches/{d.id}"
    client.cookies.clear()
    r = _sign_in(client, "hanoi", "//evil.example/inbox")  # not a safe next: the inbox
    assert r.headers["location"] == "/inbox"
    client.cookies.clear()
    assert _sign_in(client, "desk").headers["location"] == "/"


def test_pressing_taskings_wear_their_precedence_and_come_first(client, db, page_world):
    hanoi = page_world["posts"][0]
    urgent = make_demarche(db, page_world["desk"], [hanoi], subject="NIACT: CALL THE MINISTER")
    urgent.precedence = Precedence.NIACT_IMMEDIATE
    db.commit()
    login(client, "hanoi")
    page = client.get("/inbox").text
    cards = re.findall(
        r'<article class="card tasking([^"]*)"[^>]*>\s*<h2[^>]*>(.*?)</h2>', page, re.S
    )
    assert len(cards) == 2
    first_classes, first_title = cards[0]
    assert "NIACT: CALL THE MINISTER" in first_title and "is-pressing" in first_classes
    assert '<span class="precedence">NIACT IMMEDIATE</span>' in first_title
    assert "precedence" not in cards[1][1]  # the routine one carries no badge


def test_the_card_gives_the_due_date_as_a_day_of_the_posts_zone(client, db, page_world):
    hanoi = page_world["posts"][0]
    hanoi.time_zone = "Asia/Ho_Chi_Minh"
    db.commit()
    t = tasking_of(db, page_world["demarche"], "HANOI")
    login(client, "hanoi")
    card = client.get("/inbox").text.split(f'id="tasking-{t.id}"')[1]
    assert f'due {t.due_date.isoformat()} <span class="zone">(Asia/Ho_Chi_Minh)</span>' in card
    left = (t.due_date - local_today("Asia/Ho_Chi_Minh")).days
    assert f"{left} days left" in card


def test_the_tasking_page_carries_the_instruction_in_full(client, db, page_world):
    d = page_world["demarche"]
    long_point = "We ask you to vote yes. " + "The renewal keeps the mandate whole. " * 6
    d.talking_points[0].text = long_point.strip()
    d.delivery_level = "Foreign Minister or deputy"
    db.commit()
    t = tasking_of(db, d, "HANOI")
    login(client, "hanoi")
    page = client.get(f"/inbox/{t.id}").text
    # In full where it is read and where it is ticked; the SECRET point stays withheld.
    assert page.count(long_point.strip()) == 2
    assert "Our red line" not in page and "1 talking point above your clearance is withheld" in page
    assert "<dt>Deliver at</dt><dd>Foreign Minister or deputy</dd>" in page
    assert "<h3>Key dates</h3>" in page and "Urge a yes vote on a clean renewal." in page
    issued = re.search(r"<dt>Issued</dt><dd>(.*?)</dd>", page)
    assert issued and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", issued.group(1))


def _acknowledged_times(client, db, page_world, zone: str) -> str:
    hanoi = page_world["posts"][0]
    hanoi.time_zone = zone
    db.commit()
    t = tasking_of(db, page_world["demarche"], "HANOI")
    csrf = login(client, "hanoi")
    client.post(f"/inbox/{t.id}/acknowledge", data={"csrf_token": csrf, "version": t.version})
    return client.get(f"/inbox/{t.id}").text


def test_every_time_on_the_tasking_page_names_its_zone(client, db, page_world):
    page = _acknowledged_times(client, db, page_world, "Asia/Ho_Chi_Minh")
    acked = re.search(r"<dt>Acknowledged</dt><dd>(.*?)</dd>", page).group(1)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \+07 \(Asia/Ho_Chi_Minh\)", acked), acked


def test_delivered_on_defaults_to_today_at_post_and_names_its_window(client, db, page_world):
    hanoi = page_world["posts"][0]
    hanoi.time_zone = "Pacific/Kiritimati"  # UTC+14: its day is often the server's tomorrow
    db.commit()
    t = tasking_of(db, page_world["demarche"], "HANOI")
    login(client, "hanoi")
    page = client.get(f"/inbox/{t.id}").text
    there = local_today("Pacific/Kiritimati").isoformat()
    field = re.search(r'<input id="d-on"[^>]*>', page).group(0)
    assert f'value="{there}"' in field and f'max="{there}"' in field
    issued = t.created_at.astimezone(UTC).date()
    assert 'min="' in field and "the day at post (Pacific/Kiritimati)" in page
    assert date.fromisoformat(re.search(r'min="([^"]+)"', field).group(1)) >= issued


def test_a_delivery_dated_tomorrow_at_post_is_refused_beside_the_field(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    csrf = login(client, "hanoi")
    tomorrow = (local_today("UTC") + timedelta(days=1)).isoformat()
    r = client.post(
        f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version, delivered_on=tomorrow)
    )
    assert r.status_code == 422
    assert 'id="delivered_on-error"' in r.text and "has not come yet at post" in r.text
    assert f'value="{tomorrow}"' in r.text  # as typed
    assert db.scalar(select(Delivery.id).where(Delivery.tasking_id == t.id)) is None


def test_a_delivery_before_the_tasking_was_issued_is_refused(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    t.created_at = datetime.now(UTC) - timedelta(days=3)
    db.commit()
    csrf = login(client, "hanoi")
    before = (local_today("UTC") - timedelta(days=5)).isoformat()
    r = client.post(
        f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version, delivered_on=before)
    )
    assert r.status_code == 422 and "before the instruction reached the post" in r.text
    assert 'id="delivered_on-error"' in r.text
    day_of_issue = (local_today("UTC") - timedelta(days=3)).isoformat()
    r = client.post(
        f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version, delivered_on=day_of_issue)
    )
    assert r.status_code == 200 and "Delivery logged" in r.text


def test_the_api_answers_422_for_a_delivery_out_of_its_window(client, db, page_world):
    d = page_world["demarche"]
    t = tasking_of(db, d, "SANJOSE")
    db.get(Post, t.post_id).time_zone = "America/Costa_Rica"
    db.commit()
    _, officer = make_user(db, Role.POST_OFFICER, post=db.get(Post, t.post_id))
    body = {
        "delivered_by": "Pol",
        "recipient_name": "Vice Minister",
        "level": "minister",
        "method": "meeting",
    }
    path = f"{API}/{t.id}/deliveries"
    for day in (local_today("America/Costa_Rica") + timedelta(days=1), date(2000, 1, 1)):
        r = write(
            client,
            "POST",
            path,
            officer,
            etag_path=f"{API}/{t.id}",
            json={**body, "delivered_on": day.isoformat()},
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [{"field": "delivered_on", "message": r.json()["detail"]}]
    today_there = local_today("America/Costa_Rica").isoformat()
    r = write(
        client,
        "POST",
        path,
        officer,
        etag_path=f"{API}/{t.id}",
        json={**body, "delivered_on": today_there},
    )
    assert r.status_code == 201, r.text


def test_finished_work_is_the_posts_own_searchable_and_paged(client, db, page_world):
    desk, hanoi = page_world["desk"], page_world["posts"][0]
    sanjose = page_world["posts"][1]
    made = []
    for i in range(23):
        d = make_demarche(
            db, desk, [hanoi, sanjose], subject=f"FISHERIES ROUND {i:02d}", secret_point=False
        )
        made.append(d)
    for d in made:
        for t in db.scalars(select(Tasking).where(Tasking.demarche_id == d.id)):
            t.status = TaskingStatus.CLOSED if t.post_id == hanoi.id else TaskingStatus.WAIVED
    open_one = tasking_of(db, page_world["demarche"], "HANOI")  # still pending: not history
    db.commit()
    login(client, "hanoi")
    page = client.get("/inbox/history").text
    assert "23 taskings." in page and len(re.findall(r'href="/inbox/\d+"', page)) == 20
    assert "Page 1 of 2" in page and 'href="/inbox/history?page=2"' in page
    assert page_world["demarche"].subject not in page and f'/inbox/{open_one.id}"' not in page
    second = client.get("/inbox/history", params={"page": 2}).text
    assert len(re.findall(r'href="/inbox/\d+"', second)) == 3
    found = client.get("/inbox/history", params={"q": "round 07"}).text
    assert "1 tasking whose subject holds" in found and "FISHERIES ROUND 07" in found
    assert "FISHERIES ROUND 08" not in found
    # A wildcard typed in the box is a character; another post's finished work never shows.
    assert "0 taskings" in client.get("/inbox/history", params={"q": "%"}).text
    theirs = {
        t.id
        for d in made
        for t in db.scalars(
            select(Tasking).where(Tasking.demarche_id == d.id, Tasking.post_id == sanjose.id)
        )
    }
    assert not any(f'href="/inbox/{i}"' in page + second for i in theirs)
    assert client.get("/inbox/history", params={"q": "x" * 201}).status_code == 422


def test_finished_work_is_for_post_officers(client, page_world):
    login(client, "desk")
    r = client.get("/inbox/history")
    assert r.status_code == 403 and "for post officers" in r.text
