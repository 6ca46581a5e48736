"""Reply -> instruction links: what a report answers, whenever it arrives.

Each general rule on a small synthetic world (an instruction to Hanoi, info Nowhere),
and the whole shared corpus fed through the services in date order (bench/links.py)."""

from __future__ import annotations

import sys

import pytest

from app.auth.models import Role
from app.auth.service import open_session
from app.cables import matching
from app.cables.models import CableReply
from app.cables.parser import parse_cable
from app.classification import Classification
from app.posts.models import PostKind
from tests.cables._corpus import CABLES, REPO, needs_corpus
from tests.cables.samples import COMPLETING, instruction
from tests.factories import future, make_post, make_user, write

API = "/api/v1/cables"


def report(
    *,
    post: str = "HANOI",
    routing: str = "RUEHHI",
    ref: str = "REF: STATE 166909",
    subject: str = "VIETNAM ON THE COUNCIL VOTE",
    # A plain readout: no reply cue word the parser reads (the kind comes from who asked).
    body: str = "MFA Director Nguyen Van An said on December 15 that Vietnam would study the text.",
    serial: str = "1234",
    info: str = "",
) -> str:
    return (
        f"P 160900Z DEC 07\nFM AMEMBASSY {post}\nTO RUEHC/SECSTATE WASHDC PRIORITY {serial}\n"
        f"{info}\nC O N F I D E N T I A L {post} 00{serial}\n\nE.O. 12958: DECL: 12/16/2017\n"
        f"TAGS: PREL UN\nSUBJECT: {subject}\n\n{ref}\n\n1. (C) {body}\n\nMICHALAK\n"
    )


def _post_cable(client, headers, text):
    r = client.post(API, json={"text": text}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _issue(client, desk, source_id):
    draft = client.post(f"{API}/{source_id}/draft-demarche", headers=desk).json()
    path = f"/api/v1/demarches/{draft['id']}"
    assert write(
        client, "PATCH", path, desk, json={"deadline": future().isoformat(), **COMPLETING}
    ).is_success
    issued = write(client, "POST", f"{path}/issue", desk)
    assert issued.status_code == 200, issued.text
    return issued.json()


def _reply(db, cable_id) -> CableReply | None:
    db.expire_all()
    return db.query(CableReply).filter_by(cable_id=cable_id).one_or_none()


def _desk_world(db):
    make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
    make_post(db, "NOWHERE", name="AMEMBASSY NOWHERE", routing_indicator="RUEHXX")
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    return desk


def test_a_report_that_came_in_before_its_instruction_was_issued_is_matched_on_issue(client, db):
    desk = _desk_world(db)
    source = _post_cable(client, desk, instruction())
    early = _post_cable(client, desk, report(subject="COUNCIL VOTE: DEMARCHE DELIVERED"))
    assert early["reply"]["status"] == "unmatched"
    issued = _issue(client, desk, source["id"])
    reply = _reply(db, early["id"])
    assert reply is not None and reply.status == "matched"
    action = next(t for t in issued["taskings"] if t["role"] == "action")
    assert reply.tasking_id == action["id"]


def test_a_tasked_posts_plain_readout_with_no_cue_word_is_its_report(client, db):
    desk = _desk_world(db)
    issued = _issue(client, desk, _post_cable(client, desk, instruction())["id"])
    assert parse_cable(report()).kind == "other"
    readout = _post_cable(client, desk, report())
    action = next(t for t in issued["taskings"] if t["role"] == "action")
    assert readout["kind"] == "report"
    assert readout["reply"]["status"] == "matched"
    assert readout["reply"]["tasking_id"] == action["id"]


def test_a_tasked_posts_analysis_citing_the_instruction_stays_other(client, db):
    desk = _desk_world(db)
    _issue(client, desk, _post_cable(client, desk, instruction())["id"])
    scene = report(body="Parliament returns next week; the budget debate fills the press.")
    got = _post_cable(client, desk, scene)
    assert got["kind"] == "other" and got.get("reply") is None


def test_the_same_readout_from_a_post_that_was_not_asked_stays_other(client, db):
    desk = _desk_world(db)
    make_post(db, "OSLO", name="AMEMBASSY OSLO", routing_indicator="RUEHNY")
    _issue(client, desk, _post_cable(client, desk, instruction())["id"])
    other = _post_cable(client, desk, report(post="OSLO", routing="RUEHNY"))
    assert other["kind"] == "other" and other.get("reply") is None


def test_an_info_addressee_that_cites_the_instruction_for_background_is_not_matched(client, db):
    desk = _desk_world(db)
    _issue(client, desk, _post_cable(client, desk, instruction())["id"])
    background = report(
        post="NOWHERE",
        routing="RUEHXX",
        subject="NOWHERE: POLITICAL SCENE; DEMARCHES AND POINTS",
        body="The government's points on the election are analysed below.",
    )
    got = _post_cable(client, desk, background)
    assert got["kind"] == "other" or got["reply"]["status"] == "unmatched"
    delivered = report(
        post="NOWHERE",
        routing="RUEHXX",
        serial="1240",
        subject="NOWHERE: DEMARCHE DELIVERED",
        body="On December 15 Poloff delivered reftel points to Jan Novak, Director of the "
        "Ministry of Foreign Affairs.",
    )
    assert _post_cable(client, desk, delivered)["reply"]["status"] == "matched"


def test_the_first_cited_demarche_the_sender_acts_on_wins(client, db):
    desk = _desk_world(db)
    first = _issue(client, desk, _post_cable(client, desk, instruction())["id"])
    second_text = instruction(serial="170001").replace("AMEMBASSY HANOI", "AMEMBASSY NOWHERE")
    second_text = second_text.replace("RUEHHI/", "RUEHZZ/").replace(
        "INFO RUEHXX/AMEMBASSY NOWHERE", "INFO RUEHHI/AMEMBASSY HANOI"
    )
    _issue(client, desk, _post_cable(client, desk, second_text)["id"])
    # REF A is the instruction Hanoi is only an info addressee of; REF B tasks it.
    got = _post_cable(
        client,
        desk,
        report(ref="REF: A. STATE 170001 B. STATE 166909", subject="DEMARCHE DELIVERED"),
    )
    assert got["reply"]["demarche_id"] == first["id"]
    assert got["reply"]["tasking_id"] == next(
        t["id"] for t in first["taskings"] if t["role"] == "action"
    )


def test_a_consulate_reports_on_its_embassys_tasking(client, db):
    desk = _desk_world(db)
    make_post(
        db,
        "HCMC",
        name="AMCONSUL HO CHI MINH CITY",
        routing_indicator="RUEHHM",
        kind=PostKind.CONSULATE,
        country="Country Hanoi",
    )
    issued = _issue(client, desk, _post_cable(client, desk, instruction())["id"])
    text = report(
        post="HO CHI MINH CITY",
        routing="RUEHHM",
        subject="DEMARCHE DELIVERED",
        info="INFO RUEHHI/AMEMBASSY HANOI PRIORITY 1\n",
    )
    got = _post_cable(client, desk, text)
    assert got["reply"]["tasking_id"] == next(
        t["id"] for t in issued["taskings"] if t["role"] == "action"
    )


def test_a_post_registered_late_that_was_never_tasked_gets_no_match_from_the_rematch(client, db):
    desk = _desk_world(db)
    _issue(client, desk, _post_cable(client, desk, instruction())["id"])
    orphan = _post_cable(
        client, desk, report(post="OSLO", routing="RUEHNY", subject="DEMARCHE DELIVERED")
    )
    assert orphan["reply"]["status"] == "unmatched"
    oslo = make_post(db, "OSLO", name="AMEMBASSY OSLO", routing_indicator="RUEHNY")
    _, officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=oslo)
    assert client.post(f"{API}/replies/unmatched/rematch", headers=officer).status_code == 403
    r = client.post(f"{API}/replies/unmatched/rematch", headers=desk)
    assert r.status_code == 200, r.text
    # Oslo has no tasking on the demarche: registered, but still not matched to one.
    assert r.json() == {"matched": []}
    assert _reply(db, orphan["id"]).status == "unmatched"


def test_rematch_with_nothing_waiting_matches_nothing(db):
    make_post(db, "HANOI2", name="AMEMBASSY HANOI2", routing_indicator="RUEHH2")
    assert matching.rematch(db, actor=None) == []
    assert matching.rematch_senders(db) == []


@pytest.mark.parametrize(
    ("subject", "body", "kind"),
    [
        # A plain readout: the government's response named in the subject, no cue word.
        ("NEW ZEALAND RESPONSE ON PIRACY", "An MFAT officer contacted us on March 2.", "report"),
        ("COUNCIL VOTE", "The Minister told Poloff on March 2 that Chile will abstain.", "report"),
        ("COUNCIL VOTE", "The Embassy conveyed reftel language to the MFA on March 2.", "report"),
        ("COUNCIL VOTE", "On March 2 the MFA answered by diplomatic note.", "report"),
        # The post's own answer to a tasker, and answers to a data call, are not.
        ("EMBASSY HANOI RESPONSE: UNGA ATTENDANCE", "Attendance is as follows.", "other"),
        ("HANOI RESPONSE: UNGA ATTENDANCE", "Attendance is as follows.", "other"),
        ("COUNCIL VOTE (C-AL9-00153)", "Poloff delivered the points.", "other"),
        ("COUNCIL VOTE", "This answers the data call in reftel. We delivered nothing.", "other"),
        # Analysis with none of these: other.
        ("THE POLITICAL SCENE", "Parliament returns next week.", "other"),
    ],
)
def test_kind_weighs_the_subject_and_opening_of_a_post_cable_citing_state(subject, body, kind):
    text = report(subject=subject, body=body)
    assert parse_cable(text).kind == kind
    # The same cable citing no STATE cable is never a report.
    assert parse_cable(text.replace("REF: STATE 166909", "")).kind == "other"


@needs_corpus
def test_links_on_the_shared_corpus():
    sys.path.insert(0, str(REPO))
    from bench.links import manifest_items, run

    out, _, _ = run(manifest_items(CABLES))
    assert len(out.links) >= 3
    assert len(out.recovered) / len(out.links) >= 0.95, out.missed
    assert not out.invented


def test_the_desks_match_again_button_matches_a_reply_filed_before_its_post(client, db):
    desk_user, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI", country="Vietnam")
    issued = _issue(client, desk, _post_cable(client, desk, instruction())["id"])
    early = _post_cable(
        client,
        desk,
        report(
            post="HO CHI MINH CITY",
            routing="RUEHHM",
            subject="DEMARCHE DELIVERED",
            info="INFO RUEHHI/AMEMBASSY HANOI PRIORITY 1\n",
        ),
    )
    assert early["reply"]["status"] == "unmatched"  # a sender the registry does not hold
    make_post(
        db,
        "HCMC",
        name="AMCONSUL HO CHI MINH CITY",
        kind=PostKind.CONSULATE,
        country="Vietnam",
    )
    opened = open_session(db, user=desk_user)
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    page = client.get("/cables/import").text
    assert 'action="/cables/replies/unmatched/rematch"' in page and "Match again" in page
    r = client.post(
        "/cables/replies/unmatched/rematch",
        data={"csrf_token": opened.web_session.csrf_token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/cables/import")
    reply = _reply(db, early["id"])
    assert reply is not None and reply.status == "matched"
    assert reply.tasking_id == next(t["id"] for t in issued["taskings"] if t["role"] == "action")
