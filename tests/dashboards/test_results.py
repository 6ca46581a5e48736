"""The results roll-up of a demarche: its totals, its withholding, who sees which rows,
its sort and filters, and the same roll-up as JSON, CSV, XLSX and a page."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.auth.models import Role, User
from app.classification import Classification
from app.demarches.models import Demarche, Objective
from app.errors import Invalid
from app.posts.models import Post
from app.taskings import service as workflow
from app.taskings.models import Response, Tasking
from app.taskings.schemas import DeliveryIn, ResponseIn
from tests.factories import login, make_region_post, make_signin_user, make_user, tasking_of

API = "/api/v1"
CONF = Classification.CONFIDENTIAL
SECRET = Classification.SECRET
# Words only a SECRET reader may read: the demarche's SECRET point 2 (make_demarche), its
# summary (marked SECRET below) and the SECRET portion of Hanoi's response.
SECRET_WORDS = ("red line", "clean renewal", "fears a veto", "quiet word")


def _report(
    db, d: Demarche, code: str, position: str, summary: str, stances: dict[int, str]
) -> Tasking:
    tasking = tasking_of(db, d, code)
    officer = db.scalar(select(User).where(User.post_id == tasking.post_id))
    workflow.deliver(
        db,
        tasking,
        DeliveryIn(
            delivered_on=date.today(),
            delivered_by="PolChief",
            recipient_name=f"Minister of {code.title()}",
            recipient_title="Foreign Minister",
            recipient_office="MFA",
            level="minister",
            method="meeting",
            points=[1, 2],
        ),
        actor=officer,
    )
    workflow.report_response(
        db,
        tasking,
        ResponseIn(
            position=position,
            summary=summary,
            commitments=[{"text": f"{code} will speak", "due_date": date.today() + timedelta(5)}],
            stances=[{"objective_position": k, "stance": v} for k, v in stances.items()],
        ),
        actor=officer,
    )
    db.commit()
    return tasking


@pytest.fixture
def results(db, page_world):
    """Hanoi (EAP) supports, San Jose (WHA) opposes, Paris (EUR) has not delivered."""
    d = page_world["demarche"]
    # Rows from before the rule of marks: a SECRET summary and objective 2.
    d.summary_classification = Classification.SECRET
    d.objectives.append(
        Objective(position=2, text="A quiet word on the veto.", classification=SECRET)
    )
    db.commit()
    hanoi = _report(
        db,
        d,
        "HANOI",
        "supports",
        "(C) The minister said they will vote yes. (S) Privately he fears a veto.",
        {1: "agreed", 2: "disagreed"},
    )
    # Delivered the day before San Jose (the service takes no day before the issue).
    hanoi.deliveries[0].delivered_on = date.today() - timedelta(days=1)
    db.commit()
    _report(
        db, d, "SANJOSE", "opposes", "They will vote no. The capital decided.", {1: "would_not_say"}
    )
    return d


def _get(client, d, headers, **params):
    return client.get(f"{API}/demarches/{d.id}/results", params=params, headers=headers)


def test_totals_equal_a_count_of_the_taskings_by_hand(client, db, results):
    _, desk = make_user(db)
    body = _get(client, results, desk).json()
    # By hand: every action tasking by its post's region and its latest response.
    latest = select(func.max(Response.id)).group_by(Response.tasking_id)
    counted = db.execute(
        select(Post.region, Response.position, func.count())
        .select_from(Tasking)
        .join(Post, Post.id == Tasking.post_id)
        .outerjoin(Response, (Response.tasking_id == Tasking.id) & Response.id.in_(latest))
        .where(Tasking.demarche_id == results.id)
        .group_by(Post.region, Response.position)
    ).all()
    by_hand = {(r.value, p.value if p else "none"): n for r, p, n in counted}
    rolled = {
        (g["region"], pos): n for g in body["regions"] for pos, n in g["positions"].items() if n
    }
    assert rolled == by_hand == {("EAP", "supports"): 1, ("WHA", "opposes"): 1, ("EUR", "none"): 1}
    assert body["totals"]["targets"] == sum(by_hand.values()) == 3
    assert body["totals"]["delivered"] == 2 and body["totals"]["outstanding"] == 1
    assert [r["post"] for r in body["outstanding"]] == ["PARIS"]
    hanoi = body["rows"][0]
    assert hanoi["recipient_name"] == "Minister of Hanoi" and hanoi["method"] == "meeting"
    assert hanoi["commitments"][0]["text"] == "HANOI will speak"
    assert hanoi["points"] == [1, 2]
    # The desk is cleared SECRET: it reads the whole response.
    assert "fears a veto" in hanoi["summary"] and not hanoi["summary_withheld"]
    assert body["classification"] == "SECRET"


def test_a_confidential_reader_gets_no_secret_words_in_any_form(client, db, results):
    _, viewer = make_user(db, Role.VIEWER, CONF)
    body = _get(client, results, viewer)
    assert body.status_code == 200
    hanoi = next(r for r in body.json()["rows"] if r["post"] == "HANOI")
    assert hanoi["key_sentence"] == "(C) The minister said they will vote yes."
    assert hanoi["summary_withheld"] is True
    assert body.json()["classification"] == "CONFIDENTIAL"

    csv = _get(client, results, viewer, format="csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == lines[-1] == "CONFIDENTIAL"
    assert "Minister of Hanoi" in csv.text

    xlsx = _get(client, results, viewer, format="xlsx")
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Results", "Totals by region"]
    cells = []
    for ws in book.worksheets:
        assert ws["A1"].value == "CONFIDENTIAL" and ws.cell(ws.max_row, 1).value == "CONFIDENTIAL"
        assert ws.oddHeader.center.text == ws.oddFooter.center.text == "CONFIDENTIAL"
        cells += [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    flat = " ".join(cells)
    assert "Minister of Hanoi" in flat

    login(client, "viewer")
    page = client.get(f"/demarches/{results.id}/results")
    assert page.status_code == 200
    assert page.text.count("banner banner-confidential") == 2
    assert "They will vote no." in page.text and "Outstanding" in page.text

    for text in (body.text, csv.text, flat, page.text):
        for word in SECRET_WORDS:
            assert word not in text


def test_a_post_officer_rolls_up_their_own_post_only(client, db, results):
    hanoi = db.scalar(select(Post).where(Post.code == "HANOI"))
    _, officer = make_user(db, Role.POST_OFFICER, CONF, hanoi)
    body = _get(client, results, officer).json()
    assert body["all_posts"] is False
    assert [r["post"] for r in body["rows"] + body["outstanding"]] == ["HANOI"]
    assert body["totals"]["targets"] == 1
    # A post the demarche does not task may not know it exists, in any form.
    elsewhere = make_region_post(db, "OSLO")
    _, stranger = make_user(db, Role.POST_OFFICER, CONF, elsewhere)
    for fmt in ("json", "csv", "xlsx"):
        assert _get(client, results, stranger, format=fmt).status_code == 404
    make_signin_user(db, "oslo", Role.POST_OFFICER, CONF, "OSLO")
    login(client, "oslo")
    assert client.get(f"/demarches/{results.id}/results").status_code == 404
    login(client, "sanjose")
    page = client.get(f"/demarches/{results.id}/results").text
    assert "your post" in page and "SANJOSE" in page and "Minister of Hanoi" not in page


def test_sort_and_filter_and_refuse_what_they_do_not_know(client, db, results):
    _, desk = make_user(db)

    def posts(**params):
        body = _get(client, results, desk, **params).json()
        return [r["post"] for r in body["rows"]] + [r["post"] for r in body["outstanding"]]

    assert posts() == ["HANOI", "SANJOSE", "PARIS"]  # by post; the outstanding apart
    assert posts(sort="-post") == ["SANJOSE", "HANOI", "PARIS"]
    assert posts(sort="position") == ["HANOI", "SANJOSE", "PARIS"]
    assert posts(sort="-delivered")[:2] == ["SANJOSE", "HANOI"]  # Hanoi delivered first
    assert posts(sort="region") == ["HANOI", "SANJOSE", "PARIS"]  # EAP, WHA; EUR apart
    assert posts(region="WHA") == ["SANJOSE"]
    assert posts(position="supports") == ["HANOI"]
    assert posts(position="none") == ["PARIS"]
    assert posts(status="pending") == ["PARIS"]
    for bad in ({"sort": "bogus"}, {"region": "XX"}, {"position": "maybe"}, {"status": "x"}):
        r = _get(client, results, desk, **bad)
        assert r.status_code == 422, bad
        assert r.headers["content-type"].startswith("application/problem+json")
        assert next(iter(bad.values())) in r.json()["detail"]
    assert _get(client, results, desk, format="pdf").status_code == 422
    login(client, "desk")
    page = client.get(f"/demarches/{results.id}/results?sort=-position&region=EAP")
    assert page.status_code == 200
    assert "HANOI" in page.text and "SANJOSE" not in page.text
    # The links keep the filters and the sort.
    assert "format=csv&amp;region=EAP&amp;sort=-position" in page.text
    assert client.get(f"/demarches/{results.id}/results?sort=bogus").status_code == 422
    download = client.get(f"/demarches/{results.id}/results?format=csv&region=EAP")
    assert download.status_code == 200 and "SANJOSE" not in download.text
    assert f"/demarches/{results.id}/results" in client.get(f"/demarches/{results.id}").text


def test_the_tally_per_objective_and_the_matrix_withhold_what_the_reader_may_not_read(
    client, db, results
):
    _, desk = make_user(db)
    body = _get(client, results, desk).json()
    assert [(o["position"], o["counts"]) for o in body["objectives"]] == [
        (1, {"agreed": 1, "disagreed": 0, "would_not_say": 1, "not_said": 1}),
        (2, {"agreed": 0, "disagreed": 1, "would_not_say": 0, "not_said": 2}),
    ]
    assert body["rows"][0]["stances"] == {"1": "agreed", "2": "disagreed"}
    # The CONFIDENTIAL viewer: objective 2 is SECRET, its column and stances left out.
    _, viewer = make_user(db, Role.VIEWER, CONF)
    seen = _get(client, results, viewer).json()
    assert [o["position"] for o in seen["objectives"]] == [1]
    assert seen["withheld_objectives"] == 1
    assert seen["rows"][0]["stances"] == {"1": "agreed"}
    assert "1 agreed" in _get(client, results, viewer, format="csv").text
    login(client, "viewer")
    page = client.get(f"/demarches/{results.id}/results").text
    assert "which point moved whom" in page and "1 objective is above your clearance" in page
    assert "would not say" in page
    # A stance on an objective the demarche does not number is refused.
    response = tasking_of(db, results, "HANOI").responses[0]
    with pytest.raises(Invalid, match="No objective numbered 9"):
        workflow.revise_response(
            db,
            response,
            ResponseIn(
                position="supports",
                summary="Yes.",
                stances=[{"objective_position": 9, "stance": "agreed"}],
            ),
            actor=db.scalar(select(User).where(User.username == "desk")),
        )
    # A revision replaces the stances whole, the same numbers again; its version moves once.
    version = response.version
    workflow.revise_response(
        db,
        response,
        ResponseIn(
            position="supports",
            summary="Yes.",
            stances=[{"objective_position": 1, "stance": "disagreed"}],
        ),
        actor=db.scalar(select(User).where(User.username == "desk")),
    )
    db.commit()
    assert response.version == version + 1
    assert [(s.objective_position, s.stance) for s in response.stances] == [(1, "disagreed")]
