"""What the demarche page reads as plain rows says what the ORM objects say.

app/demarches/reads.py reads the demarche with its texts in one row (JSON
aggregates, sorted back in Python) and a page of taskings with each one's latest
response and event; history.timeline_page counts the timeline along with a page.
These tests hold them to the ORM's answers, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.classification import Classification
from app.demarches import history, reads
from app.demarches import service as demarches
from app.demarches.models import Demarche, DemarcheStatus, PointUse, TalkingPoint
from app.demarches.schemas import DemarcheIn, KeyDateIn, TalkingPointIn, TargetIn
from app.errors import NotFound
from app.taskings import service as taskings
from app.taskings.models import Position, Response, Tasking, TaskingStatus
from app.taskings.schemas import AcknowledgeIn
from app.taskings.workflow import Action
from app.vocabulary import TaskingRole
from tests.factories import legacy_point, make_post, make_user

TODAY = date.today()


def _demarche(db: Session, desk: User, codes: list[str], **over) -> Demarche:
    body = {
        "subject": "UNSC: SUPPORT THE RENEWAL",
        "summary": "Urge a yes vote.",
        "classification": Classification.CONFIDENTIAL,
        "deadline": TODAY + timedelta(days=10),
        "delivery_level": "highest appropriate level",
        # Given out of order: the page shows tags sorted, key dates by date.
        "tags": ["UNSC", "PREL", "AORC"],
        "objectives": ["Secure a yes vote.", "Learn the PR's instructions."],
        "talking_points": [
            TalkingPointIn(text="We ask you to vote yes.", use=PointUse.PUBLIC),
            TalkingPointIn(text="A review in six months.", classification="CONFIDENTIAL"),
        ],
        "key_dates": [
            KeyDateIn(date=TODAY + timedelta(days=12), what="Council vote"),
            KeyDateIn(date=TODAY + timedelta(days=3), what="Experts meet"),
        ],
        "targets": [TargetIn(post=c) for c in codes],
    }
    legacy = over.pop("legacy_point", True)
    issue = over.pop("issue", False)
    body.update(over)
    d = demarches.create_draft(db, DemarcheIn(**body), actor=desk)
    if issue:
        # Issued before the legacy rows go in: the check refuses a draft holding them.
        demarches.issue(db, d, actor=desk)
    if legacy and body["talking_points"]:
        # A SECRET point in a CONFIDENTIAL demarche, as rows from before the rule of
        # marks can hold: the sheet must still withhold it.
        d.talking_points[1:] = []
        db.flush()
        legacy_point(d, "Our red line.", position=2)
        d.talking_points.append(
            TalkingPoint(
                position=3,
                text="A review in six months.",
                classification="CONFIDENTIAL",
                use=PointUse.PRIVATE,
            )
        )
        db.flush()
    return d


@pytest.fixture
def world(db: Session):
    posts = [make_post(db, code) for code in ("PARIS", "HANOI", "SANJOSE")]
    desk, _ = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    hanoi, _ = make_user(db, Role.POST_OFFICER, Classification.SECRET, posts[1])
    d = _demarche(db, desk, ["PARIS", "HANOI", "SANJOSE"], issue=True)
    db.commit()
    return d, desk, hanoi


def test_the_sheet_is_the_demarche_with_its_author_and_texts_in_order(db, world):
    d, desk, _ = world
    db.expire_all()
    orm = db.get(Demarche, d.id)
    sheet = reads.sheet(db, d.id, actor=desk)
    assert (sheet.id, sheet.subject, sheet.summary, sheet.classification, sheet.status) == (
        orm.id,
        orm.subject,
        orm.summary,
        orm.classification,
        DemarcheStatus.ISSUED,
    )
    assert (sheet.precedence, sheet.deadline, sheet.delivery_level) == (
        orm.precedence,
        orm.deadline,
        orm.delivery_level,
    )
    assert (sheet.issued_at, sheet.revision, sheet.version) == (
        orm.issued_at,
        orm.revision,
        orm.version,
    )
    assert sheet.author == desk.full_name
    assert sheet.tags == orm.tags == ["AORC", "PREL", "UNSC"]
    assert [o.text for o in sheet.objectives] == [o.text for o in orm.objectives]
    assert {o.classification for o in sheet.objectives} == {Classification.CONFIDENTIAL}
    assert sheet.talking_points == [
        (p.position, p.text, p.classification, p.use) for p in orm.talking_points
    ]
    assert sheet.withheld == 0  # the desk is cleared for SECRET
    assert isinstance(sheet.talking_points[0].classification, Classification)
    assert sheet.talking_points[0].use is PointUse.PUBLIC
    assert sheet.key_dates == [(k.on, k.what, k.classification) for k in orm.key_dates]
    assert [k.what for k in sheet.key_dates] == ["Experts meet", "Council vote"]
    assert isinstance(sheet.key_dates[0].on, date)


def test_a_sheet_without_texts_has_empty_lists(db, world):
    _, desk, _ = world
    bare = _demarche(db, desk, ["PARIS"], tags=[], objectives=[], talking_points=[], key_dates=[])
    sheet = reads.sheet(db, bare.id, actor=desk)
    assert (sheet.tags, sheet.objectives, sheet.talking_points, sheet.key_dates) == ([], [], [], [])
    assert sheet.status == DemarcheStatus.DRAFT and sheet.issued_at is None


def test_the_sheet_is_a_404_where_the_demarche_is_out_of_sight(db, world):
    d, desk, hanoi = world
    paris_only = _demarche(db, desk, ["PARIS"], issue=True)
    low, _ = make_user(db, Role.VIEWER, Classification.SBU)
    for actor, demarche_id in ((hanoi, paris_only.id), (low, d.id), (desk, 10**9)):
        with pytest.raises(NotFound):
            reads.sheet(db, demarche_id, actor=actor)
    assert reads.sheet(db, d.id, actor=hanoi).id == d.id


def _tasking(db: Session, d: Demarche, code: str) -> Tasking:
    return next(
        t
        for t in db.scalars(select(Tasking).where(Tasking.demarche_id == d.id))
        if t.post.code == code
    )


def test_tasking_lines_bring_the_latest_response_and_event(db, world):
    d, desk, hanoi = world
    t = _tasking(db, d, "HANOI")
    taskings.acknowledge(db, t, AcknowledgeIn(officer="Minh"), actor=hanoi)
    # Two responses (as after an insist and a second delivery): the page shows the later.
    db.add(Response(tasking=t, position=Position.OPPOSES, summary="No.", created_by_id=hanoi.id))
    db.flush()
    db.add(Response(tasking=t, position=Position.SUPPORTS, summary="Yes.", created_by_id=hanoi.id))
    paris = _tasking(db, d, "PARIS")
    taskings.move_with_reason(db, paris, Action.CANCEL, actor=desk, reason="Not needed.")
    db.commit()

    lines = reads.tasking_lines(db, d.id, actor=desk, limit=50)
    assert [line.post_code for line in lines] == ["HANOI", "PARIS", "SANJOSE"]
    by_post = {line.post_code: line for line in lines}
    h = by_post["HANOI"]
    assert (h.id, h.version, h.post_id, h.country, h.post_country) == (
        t.id,
        t.version,
        t.post_id,
        t.country,
        t.post.country,
    )
    assert (h.role, h.status, h.due_date) == (
        TaskingRole.ACTION,
        TaskingStatus.ACKNOWLEDGED,
        t.due_date,
    )
    assert h.position is Position.SUPPORTS
    assert (h.last_action, h.last_actor) == ("acknowledge", hanoi.username)
    assert by_post["PARIS"].last_action == "cancel" and by_post["PARIS"].position is None
    assert by_post["SANJOSE"].last_action == "create" and by_post["SANJOSE"].days_late == 0
    # A page of them, in the same order.
    assert [x.post_code for x in reads.tasking_lines(db, d.id, actor=desk, limit=1, offset=1)] == [
        "PARIS"
    ]
    # A post sees its own tasking only.
    assert [x.post_code for x in reads.tasking_lines(db, d.id, actor=hanoi, limit=50)] == ["HANOI"]


def test_days_late_counts_only_action_taskings_awaiting_delivery(db, world):
    d, desk, _ = world
    for code in ("PARIS", "HANOI"):
        _tasking(db, d, code).due_date = TODAY - timedelta(days=4)
    _tasking(db, d, "HANOI").status = TaskingStatus.DELIVERED
    db.commit()
    lines = {x.post_code: x for x in reads.tasking_lines(db, d.id, actor=desk, limit=50)}
    assert lines["PARIS"].days_late == _tasking(db, d, "PARIS").days_late == 4
    assert lines["HANOI"].days_late == _tasking(db, d, "HANOI").days_late == 0


def test_timeline_page_counts_pages_and_shows_the_last_for_one_past_the_end(db, world):
    d, desk, hanoi = world
    everything = history.timeline(db, d.id, actor=desk)
    assert len(everything) == 5  # the demarche created and issued, a tasking for each post
    first = history.timeline_page(db, d.id, actor=desk, page=1, size=3)
    assert [e.id for e in first.entries] == [e.id for e in everything[:3]]
    assert (first.page, first.pages) == (1, 2)
    past = history.timeline_page(db, d.id, actor=desk, page=9, size=3)
    assert [e.id for e in past.entries] == [e.id for e in everything[3:]]
    assert (past.page, past.pages) == (2, 2)
    # A post does not see other posts' events, nor count them.
    mine = history.timeline_page(db, d.id, actor=hanoi, page=1, size=50)
    assert [e.id for e in mine.entries] == [e.id for e in history.timeline(db, d.id, actor=hanoi)]
    assert {e.post for e in mine.entries} <= {None, "HANOI"} and mine.pages == 1


def test_the_sheet_leaves_out_the_points_above_its_readers_clearance(db, world):
    """Withheld in the sheet itself, so no template can show them by mistake."""
    d, _, _ = world
    low = make_user(db, Role.VIEWER, Classification.CONFIDENTIAL)[0]
    db.commit()
    sheet = reads.sheet(db, d.id, actor=low)
    assert [p.text for p in sheet.talking_points] == [
        "We ask you to vote yes.",
        "A review in six months.",
    ]
    assert sheet.withheld == 1
    assert "Our red line." not in repr(sheet)
