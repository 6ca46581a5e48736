"""The import-a-reply page as a post officer uses it: in the menu, the reply form alone,
an instruction refused in words, the unmatched replies page by page; and the desk's
match by hand, offered as named taskings."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.auth.models import Role
from app.auth.service import open_session
from app.cables.models import Cable, CableReply, ReplyStatus
from app.classification import Classification
from app.dashboards.queries import PAGE_SIZE
from app.posts.models import Post
from tests.cables.samples import REPORT, instruction
from tests.factories import make_demarche, make_user

API = "/api/v1/cables"


def _sign_in(client, db, user) -> str:
    opened = open_session(db, user=user)
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    return opened.web_session.csrf_token


def test_a_post_officer_has_the_reply_page_in_the_menu_and_only_the_reply_form(client, db, world):
    hanoi_officer = make_user(
        db, Role.POST_OFFICER, Classification.SECRET, post=_post(db, "HANOI")
    )[0]
    _sign_in(client, db, hanoi_officer)
    home = client.get("/inbox").text
    assert '<a href="/cables/import/reply">Import a reply</a>' in home
    assert 'href="/cables/import"' not in home  # the desk's page is not theirs
    r = client.get("/cables/import", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cables/import/reply"
    page = client.get("/cables/import/reply").text
    assert 'action="/cables/import/reply"' in page and "/cables/import/instruction" not in page
    assert "Unmatched replies" in page
    client.cookies.clear()
    desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)[0]
    _sign_in(client, db, desk)
    desk_home = client.get("/").text
    assert "Import a reply" not in desk_home and 'href="/cables/import"' in desk_home
    assert "Every unmatched reply, page by page" in client.get("/cables/import").text


def _post(db, code: str) -> Post:
    post = db.scalar(select(Post).where(Post.code == code))
    assert post is not None
    return post


def test_an_instruction_pasted_as_a_reply_is_refused_in_words(client, db, world):
    officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=_post(db, "HANOI"))[0]
    csrf = _sign_in(client, db, officer)
    before = db.scalar(select(Cable.id).order_by(Cable.id.desc()).limit(1))
    text = instruction(serial="170001")
    r = client.post("/cables/import/reply", data={"csrf_token": csrf, "text": text})
    assert r.status_code == 422, r.text[:500]
    assert "reads as an instruction from headquarters, not a post&#39;s reply" in r.text, (
        re.findall(r"role=.alert.[^<]*", r.text)
    )
    assert 'role="alert"' in r.text and "STATE 170001" in r.text  # kept in the box
    assert "/cables/import/instruction" not in r.text  # the reply page, not the desk's
    assert db.scalar(select(Cable.id).order_by(Cable.id.desc()).limit(1)) == before  # nothing kept
    empty = client.post("/cables/import/reply", data={"csrf_token": csrf, "text": "  "})
    assert empty.status_code == 422 and "Paste the reply cable" in empty.text
    # Above the officer's clearance: said on the page, not a bare error page.
    low = make_user(db, Role.POST_OFFICER, Classification.SBU, post=_post(db, "HANOI"))[0]
    client.cookies.clear()
    csrf = _sign_in(client, db, low)
    r = client.post(
        "/cables/import/reply", data={"csrf_token": csrf, "text": REPORT.format(ref="166909")}
    )
    assert r.status_code == 403 and "classified above your clearance" in r.text
    assert 'action="/cables/import/reply"' in r.text


def test_unmatched_replies_page_past_the_first_page(client, db, world):
    desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)[0]
    csrf = _sign_in(client, db, desk)
    total = PAGE_SIZE + 3
    for i in range(total):
        # Each its own message: the banner and the transmission line carry its serial.
        serial = 5000 + i
        report = (
            REPORT.format(ref=f"9{i:05d}")
            .replace("HANOI 001234", f"HANOI 00{serial}")
            .replace("#1234", f"#{serial}")
        )
        r = client.post(
            "/cables/import/reply",
            data={"csrf_token": csrf, "text": report},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:500]
    assert db.scalar(
        select(CableReply.id).where(CableReply.status == ReplyStatus.UNMATCHED).limit(1)
    )
    first = client.get("/cables/import/reply").text
    listed = re.findall(r'href="/cables/replies/(\d+)"', first)
    assert len(listed) == PAGE_SIZE
    older = re.search(r'href="(/cables/import/reply\?after=[^"]+)" rel="next"', first)
    assert older, "no link to the older replies"
    second = client.get(older.group(1).replace("&amp;", "&")).text
    rest = re.findall(r'href="/cables/replies/(\d+)"', second)
    assert len(rest) == 3 and not set(rest) & set(listed)
    assert 'rel="next"' not in second and 'href="/cables/import/reply">Newest' in second


def test_match_by_hand_offers_the_senders_open_taskings_by_name(client, db, world):
    hanoi, oslo = _post(db, "HANOI"), _post(db, "OSLO")
    desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)[0]
    mine = make_demarche(
        db, desk, [hanoi], subject="FISHERIES: PORT STATE MEASURES", secret_point=False
    )
    make_demarche(db, desk, [oslo], subject="OSLO ONLY: WHALING", secret_point=False)
    officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=hanoi)[0]
    # Hanoi's reply citing a cable nobody holds: unmatched, its sender Hanoi.
    csrf = _sign_in(client, db, officer)
    r = client.post(
        "/cables/import/reply",
        data={"csrf_token": csrf, "text": REPORT.format(ref="999999")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = r.headers["location"]
    assert "Match by hand" not in client.get(url).text  # only the desk matches by hand
    client.cookies.clear()
    csrf = _sign_in(client, db, desk)
    page = client.get(url).text
    options = re.findall(
        r'<option value="(\d+)">([^<]*)</option>',
        page.split('id="m-tasking"')[1].split("</select>")[0],
    )
    names = [text for _, text in options]
    assert any(
        n.startswith("FISHERIES: PORT STATE MEASURES · HANOI (Country HANOI) · issued ")
        for n in names
    ), names
    assert all("OSLO" not in n for n in names)  # a cable answers only its sender's taskings
    assert all(re.search(r"issued \d{4}-\d{2}-\d{2} · due \d{4}-\d{2}-\d{2}", n) for n in names)
    assert "Tasking number" not in page
    chosen = next(v for v, n in options if n.startswith("FISHERIES"))
    done = client.post(
        f"{url}/match", data={"csrf_token": csrf, "tasking_id": chosen}, follow_redirects=False
    )
    assert done.status_code == 303
    reply = db.scalar(select(CableReply).where(CableReply.id == int(url.rsplit("/", 1)[1])))
    db.refresh(reply)
    assert reply.status == ReplyStatus.MATCHED and reply.demarche_id == mine.id


def test_the_reply_form_refuses_a_delivery_day_beside_its_field(client, db, world):
    officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=_post(db, "HANOI"))[0]
    csrf = _sign_in(client, db, officer)
    r = client.post(
        "/cables/import/reply",
        data={"csrf_token": csrf, "text": REPORT.format(ref="166909")},
        follow_redirects=False,
    )
    url = r.headers["location"]
    page = client.get(url).text
    assert 'value="2007-12-15"' in page  # as the cable says
    assert "the day at post (UTC): from 2007-12-14" in page  # the instruction's date-time group
    form = {
        "csrf_token": csrf,
        "delivered_on": "2007-12-01",
        "delivered_by": "Poloff",
        "recipient_name": "Nguyen Van An",
        "level": "senior_official",
        "method": "meeting",
        "position": "supports",
        "summary": "Vietnam supports the resolution.",
    }
    refused = client.post(f"{url}/confirm", data=form)
    assert refused.status_code == 422 and 'id="delivered_on-error"' in refused.text
    assert "before the instruction reached the post (2007-12-14, UTC)" in refused.text
    ok = client.post(
        f"{url}/confirm", data={**form, "delivered_on": "2007-12-15"}, follow_redirects=False
    )
    assert ok.status_code == 303, ok.text[:1000]
