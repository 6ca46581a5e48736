"""Report cables: the suggested delivery and response (pure), matching, and review."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import Role
from app.cables.models import CableReply
from app.cables.parser import Paragraph, ParsedCable, parse_cable
from app.cables.replies import (
    delivery_date,
    level_for,
    method_for,
    recipient,
    sentences,
    suggest_position,
    suggest_reply,
)
from app.classification import Classification
from app.taskings.models import DeliveryLevel, DeliveryMethod, Position, Tasking
from tests.cables._corpus import manifest, needs_corpus
from tests.cables.samples import REPORT
from tests.factories import make_user, write

API = "/api/v1/cables"
REPORTS = [r for r in manifest() if r.kind == "report"]


# -- the pure suggestion, on real report cables --------------------------------


@needs_corpus
@pytest.mark.parametrize("row", REPORTS, ids=[r.file for r in REPORTS])
def test_every_report_in_the_corpus_gets_a_well_formed_suggestion(row):
    text = row.text()
    s = suggest_reply(parse_cable(text))
    assert Position(s.position) and DeliveryLevel(s.level) and DeliveryMethod(s.method)
    assert not any(w.startswith("suggestion failed") for w in s.warnings)
    if s.delivered_on:
        assert date.fromisoformat(s.delivered_on).year >= 1999
    if s.evidence:
        # The evidence is a sentence of the cable itself, not a paraphrase.
        flat = " ".join(text.split())
        assert " ".join(s.evidence.split())[:60] in flat
    assert s.summary


def _suggest(file: str):
    row = next(r for r in REPORTS if r.file == file)
    return suggest_reply(parse_cable(row.text()))


@needs_corpus
def test_codex_reply_reads_date_person_and_title():
    s = _suggest("05SANJOSE2052.txt")
    assert s.delivered_on == "2005-08-22"
    assert s.recipient_name == "Isabel Cristina Araya"
    assert s.recipient_title.startswith("Technical Secretary")
    assert s.level == DeliveryLevel.WORKING_LEVEL


@needs_corpus
def test_london_reply_supports_with_the_sentence_that_says_so():
    s = _suggest("08LONDON1824.txt")
    assert s.position == Position.SUPPORTS
    assert s.evidence and s.evidence.startswith("HMG agrees")
    assert (s.recipient_name, s.recipient_office, s.level) == (
        "Rob Timline",
        "FCO",
        DeliveryLevel.SENIOR_OFFICIAL,
    )
    assert s.delivered_on == "2008-07-09"


@needs_corpus
def test_tripoli_diplomatic_note_and_minister_meeting():
    note = _suggest("09TRIPOLI250.txt")
    assert note.method == DeliveryMethod.DIPLOMATIC_NOTE and note.delivered_on == "2009-03-18"
    kusa = _suggest("09TRIPOLI683.txt")
    assert (kusa.recipient_name, kusa.level) == ("Musa Kusa", DeliveryLevel.MINISTER)
    assert kusa.position == Position.SUPPORTS and "agreed" in (kusa.evidence or "")


@needs_corpus
def test_san_jose_opposition_and_review_promise():
    s = _suggest("08SANJOSE761.txt")
    assert s.position == Position.OPPOSES and "opposes all no-action motions" in (s.evidence or "")
    review = _suggest("08SANJOSE390.txt")
    assert review.position == Position.NONCOMMITTAL
    assert "would review" in (review.evidence or "")


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("The Minister said Fiji fully supports the resolution.", Position.SUPPORTS),
        ("Ruiz told us Peru will vote in favor of the text.", Position.SUPPORTS),
        ("The director was sympathetic but gave no details.", Position.LEANS_SUPPORTIVE),
        ("Mr. Li said China would study the proposal.", Position.NONCOMMITTAL),
        ("She expressed reservations about the timing.", Position.LEANS_OPPOSED),
        ("The MFA said Cuba rejects the draft.", Position.OPPOSES),
        ("He said Russia cannot support any such resolution.", Position.OPPOSES),
        ("The official said Ghana does not support the draft.", Position.OPPOSES),
        ("The spokesman declined to comment on the vote.", Position.DECLINED_TO_RESPOND),
        ("The weather in the capital was mild.", Position.NONCOMMITTAL),
    ],
)
def test_cue_phrases(text, position):
    got, evidence = suggest_position(sentences(text))
    assert got == position
    assert evidence == (None if "weather" in text else text)


def test_what_we_said_is_not_their_position():
    sents = sentences(
        "Poloff urged the government to support the resolution. "
        "The Deputy Minister said Chile would consider it."
    )
    assert suggest_position(sents) == (
        Position.NONCOMMITTAL,
        "The Deputy Minister said Chile would consider it.",
    )


def test_small_readers():
    assert delivery_date("On December 30 Poloff delivered the points.", date(2008, 1, 2)) == date(
        2007, 12, 30
    )
    assert delivery_date("delivered on 9 July 2008", None) == date(2008, 7, 9)
    assert delivery_date("no date here", date(2008, 1, 2)) is None
    assert level_for("Deputy Foreign Minister") == DeliveryLevel.DEPUTY_MINISTER
    assert level_for("Prime Minister") == DeliveryLevel.HEAD_OF_STATE_OR_GOVERNMENT
    assert level_for("Libyan Secretary for Arab Affairs") == DeliveryLevel.MINISTER
    assert level_for("desk officer") == DeliveryLevel.WORKING_LEVEL
    assert method_for("We left a non-paper with the MFA") == DeliveryMethod.NON_PAPER
    assert method_for("Ambassador called the minister by phone") == DeliveryMethod.CALL
    assert recipient(
        "Emboff delivered the points to Jan Novak, Director of the Ministry of Foreign Affairs."
    )[:2] == ("Jan Novak", "Director")


@pytest.mark.parametrize(
    "parsed",
    [
        ParsedCable(),
        ParsedCable(dtg="garbage", summary="\x00" * 50),
        ParsedCable(paragraphs=(Paragraph(None, None, "delivered on February 30, 2009 to ,,"),)),
        ParsedCable(paragraphs=(Paragraph(1, "C", "x" * 200_000 + ". He supports it."),)),
    ],
)
def test_suggest_reply_never_raises(parsed):
    s = suggest_reply(parsed)
    assert Position(s.position)


# -- matching and reviewing through the API -------------------------------------


def _ingest_report(client, headers, ref="166909"):
    r = client.post(API, json={"text": REPORT.format(ref=ref)}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _confirm_body(**over):
    body = {
        "delivery": {
            "delivered_on": "2007-12-15",
            "delivered_by": "Poloff",
            "recipient_name": "Nguyen Van An",
            "level": "senior_official",
            "method": "meeting",
        },
        "response": {"position": "supports", "summary": "Vietnam supports the resolution."},
    }
    body.update(over)
    return body


def test_report_is_matched_to_the_tasking_with_a_suggestion_and_nothing_moves(client, db, world):
    cable = _ingest_report(client, world["desk"])
    assert cable["kind"] == "report"
    reply = cable["reply"]
    assert reply["status"] == "matched"
    assert (reply["demarche_id"], reply["tasking_id"]) == (world["demarche"], world["tasking"])

    full = client.get(f"{API}/replies/{reply['id']}", headers=world["officer"]).json()
    s = full["suggestion"]
    assert s["position"] == "supports" and s["delivered_on"] == "2007-12-15"
    assert s["recipient_name"] == "Nguyen Van An" and s["level"] == "senior_official"
    assert full["evidence"].startswith("Nguyen said that Vietnam supports")
    assert db.get(Tasking, world["tasking"]).status == "pending"
    listed = client.get(f"{API}/replies", params={"status": "matched"}, headers=world["desk"])
    assert [r["id"] for r in listed.json()["items"]] == [reply["id"]]
    # Another post never sees it.
    assert client.get(f"{API}/replies/{reply['id']}", headers=world["oslo"]).status_code == 404


def test_post_confirms_with_if_match_and_the_workflow_logs_it(client, db, world):
    reply = _ingest_report(client, world["officer"])["reply"]
    url = f"{API}/replies/{reply['id']}/confirm"
    assert client.post(url, json=_confirm_body(), headers=world["officer"]).status_code == 428
    stale = {**world["officer"], "If-Match": f'W/"tasking-{world["tasking"]}-v0"'}
    assert client.post(url, json=_confirm_body(), headers=stale).status_code == 412

    r = write(
        client,
        "POST",
        url,
        world["officer"],
        etag_path=f"/api/v1/taskings/{world['tasking']}",
        json=_confirm_body(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["reviewed_at"]
    tasking = client.get(f"/api/v1/taskings/{world['tasking']}", headers=world["desk"]).json()
    assert tasking["status"] == "reported"
    assert r.headers["etag"] == f'W/"tasking-{world["tasking"]}-v{tasking["version"]}"'
    assert tasking["deliveries"][0]["recipient_name"] == "Nguyen Van An"
    assert tasking["responses"][0]["position"] == "supports"
    assert tasking["responses"][0]["reporting_cable_ref"] == "07HANOI1234"
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.entity.in_(["tasking", "cable_reply"]))
    ).all()
    assert {"deliver", "report_response", "confirm", "match"} <= set(actions)

    again = write(
        client,
        "POST",
        url,
        world["officer"],
        etag_path=f"/api/v1/taskings/{world['tasking']}",
        json=_confirm_body(),
    )
    assert again.status_code == 409


def test_the_desk_may_confirm_what_the_posts_cable_reported(client, db, world):
    reply = _ingest_report(client, world["desk"])["reply"]
    r = write(
        client,
        "POST",
        f"{API}/replies/{reply['id']}/confirm",
        world["desk"],
        etag_path=f"/api/v1/taskings/{world['tasking']}",
        json=_confirm_body(),
    )
    assert r.status_code == 200, r.text
    assert db.get(Tasking, world["tasking"]).status == "reported"
    # The audit says it was transcribed from the post's cable, by the desk officer.
    events = db.scalars(
        select(AuditEvent).where(AuditEvent.entity == "tasking", AuditEvent.action == "deliver")
    ).all()
    assert [e.after["from_cable"] for e in events] == ["07HANOI1234"]
    # Outside a cable, the desk still cannot log the post's delivery itself.
    tasking = f"/api/v1/taskings/{world['tasking']}"
    r = write(
        client,
        "POST",
        f"{tasking}/deliveries",
        world["desk"],
        etag_path=tasking,
        json=_confirm_body()["delivery"],
    )
    assert r.status_code == 403


def test_confirm_when_the_tasking_cannot_take_a_delivery_answers_409(client, db, world):
    reply = _ingest_report(client, world["officer"])["reply"]
    tasking = f"/api/v1/taskings/{world['tasking']}"
    r = write(
        client,
        "POST",
        f"{tasking}/mark-unable",
        world["officer"],
        etag_path=tasking,
        json={"reason": "Ministry closed"},
    )
    assert r.status_code == 200, r.text
    r = write(
        client,
        "POST",
        f"{API}/replies/{reply['id']}/confirm",
        world["officer"],
        etag_path=tasking,
        json=_confirm_body(),
    )
    assert r.status_code == 409
    assert db.get(CableReply, reply["id"]).status == "matched"


def test_unmatched_reply_waits_then_the_desk_matches_it_by_hand(client, db, world):
    reply = _ingest_report(client, world["desk"], ref="999999")["reply"]
    assert reply["status"] == "unmatched" and reply["tasking_id"] is None
    queue = client.get(f"{API}/replies", params={"status": "unmatched"}, headers=world["desk"])
    (item,) = queue.json()["items"]
    assert item["id"] == reply["id"] and "07STATE999999" in item["note"]

    url = f"{API}/replies/{reply['id']}/match"
    assert client.post(
        url, json={"tasking_id": world["tasking"]}, headers=world["officer"]
    ).status_code in (403, 404)
    assert client.post(url, json={"tasking_id": 999999}, headers=world["desk"]).status_code == 404
    r = client.post(url, json={"tasking_id": world["tasking"]}, headers=world["desk"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["tasking_id"]) == ("matched", world["tasking"])
    assert (
        client.get(f"{API}/replies", params={"status": "unmatched"}, headers=world["desk"]).json()[
            "items"
        ]
        == []
    )


def test_reject_marks_the_reply_with_a_note(client, db, world):
    reply = _ingest_report(client, world["officer"])["reply"]
    url = f"{API}/replies/{reply['id']}/reject"
    assert client.post(url, json={"note": ""}, headers=world["officer"]).status_code == 422
    r = client.post(
        url, json={"note": "This answers another instruction."}, headers=world["officer"]
    )
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["note"]) == (
        "rejected",
        "This answers another instruction.",
    )
    listed = client.get(f"{API}/replies", params={"status": "rejected"}, headers=world["desk"])
    assert [x["id"] for x in listed.json()["items"]] == [reply["id"]]
    assert db.get(Tasking, world["tasking"]).status == "pending"


def test_viewer_may_not_review(client, db, world):
    reply = _ingest_report(client, world["desk"])["reply"]
    _, viewer = make_user(db, Role.VIEWER, Classification.SECRET)
    r = client.post(f"{API}/replies/{reply['id']}/reject", json={"note": "no"}, headers=viewer)
    assert r.status_code == 403


def _sign_in(client, db, headers) -> str:
    """The same user's browser session, from their API token; returns the CSRF token."""
    from app.auth.service import open_session, user_for_token

    user = user_for_token(db, headers["Authorization"].removeprefix("Bearer "))
    opened = open_session(db, user=user)
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    return opened.web_session.csrf_token


def test_the_reply_page_matches_by_hand_and_rejects(client, db, world):
    reply = _ingest_report(client, world["desk"], ref="999999")["reply"]
    csrf = _sign_in(client, db, world["desk"])
    page = client.get(f"/cables/replies/{reply['id']}")
    assert "Match by hand" in page.text and "Reject the match" in page.text

    r = client.post(
        f"/cables/replies/{reply['id']}/match",
        data={"csrf_token": csrf, "tasking_id": "999999"},
        follow_redirects=False,
    )
    assert r.status_code == 404 and "No tasking 999999" in r.text
    r = client.post(
        f"/cables/replies/{reply['id']}/match",
        data={"csrf_token": csrf, "tasking_id": str(world["tasking"])},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    assert db.get(CableReply, reply["id"]).tasking_id == world["tasking"]

    r = client.post(
        f"/cables/replies/{reply['id']}/reject",
        data={"csrf_token": csrf, "note": ""},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "Say why" in r.text
    r = client.post(
        f"/cables/replies/{reply['id']}/reject",
        data={"csrf_token": csrf, "note": "Wrong demarche"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    assert db.get(CableReply, reply["id"]).status == "rejected"
