"""One world for the search tests, built once per module and database, rolled back after.

Every field a lower-cleared reader or another post's officer may not read holds the
canary word (CANARY): a SECRET point, objective, key date and summary of a CONFIDENTIAL
demarche; a SECRET demarche; a draft; another post's delivery, response, commitment and
report cable; a SECRET cable. The desk, cleared SECRET, finds every one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.cables.models import Cable, CableKind
from app.classification import Classification
from app.demarches.models import KeyDate, Objective
from app.deps import get_session
from app.posts.models import Region
from app.taskings.models import (
    Commitment,
    Delivery,
    DeliveryLevel,
    DeliveryMethod,
    Position,
    Response,
)
from tests.factories import legacy_point, make_demarche, make_post, make_user, tasking_of

CANARY = "zanzibarcanary"
S = Classification.SECRET


def _deliver(db: Session, tasking, name: str, title: str, summary: str, commitment: str) -> None:
    db.add(
        Delivery(
            tasking_id=tasking.id,
            delivered_on=date(2026, 12, 1),
            delivered_by="Pol officer",
            recipient_name=name,
            recipient_title=title,
            recipient_office="Ministry of Foreign Affairs",
            level=DeliveryLevel.MINISTER,
            method=DeliveryMethod.MEETING,
        )
    )
    response = Response(tasking_id=tasking.id, position=Position.SUPPORTS, summary=summary)
    response.commitments.append(Commitment(text=commitment))
    db.add(response)


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[dict]:
    with engine.connect() as conn:
        outer = conn.begin()
        db = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            hanoi = make_post(db, "SHANOI", region=Region.EAP, city="Hanoi", country="Vietnam")
            paris = make_post(db, "SPARIS", region=Region.EUR, city="Paris", country="France")
            desk, desk_h = make_user(db, Role.DESK_OFFICER, S)
            _, hanoi_h = make_user(db, Role.POST_OFFICER, Classification.CONFIDENTIAL, hanoi)
            _, low_h = make_user(db, Role.VIEWER, Classification.SBU)
            _, viewer_h = make_user(db, Role.VIEWER, Classification.CONFIDENTIAL)
            seen = make_demarche(
                db, desk, [hanoi, paris], subject="Renewal of the Kuşa mandate", tags=("PREL",)
            )
            # The SECRET portions of a CONFIDENTIAL demarche (rows from before the rule of
            # marks, as the factory's secret point is).
            seen.talking_points[1].text = f"Our red line is the {CANARY} mandate."
            legacy_point(
                seen, "Abstention is the lesser harm; vote no only if pressed.", position=3
            )
            seen.objectives.append(Objective(position=2, text=f"Learn {CANARY}.", classification=S))
            seen.key_dates.append(
                KeyDate(on=date(2027, 1, 5), what=f"{CANARY} vote", classification=S)
            )
            seen.summary = f"Urge a yes vote; the {CANARY} channel stays closed."
            seen.summary_classification = S
            make_demarche(db, desk, [hanoi], subject=f"{CANARY} secret", classification=S)
            make_demarche(db, desk, [hanoi], subject=f"{CANARY} draft", issue=False)
            make_demarche(db, desk, [paris], subject="Fisheries quota talks", tags=("EFIS",))
            _deliver(
                db,
                tasking_of(db, seen, "SHANOI"),
                "Nguyen Kuşa",
                "Foreign Minister",
                "The minister supports a clean renewal and will speak at the session.",
                "Will speak at the December 19 session.",
            )
            _deliver(
                db,
                tasking_of(db, seen, "SPARIS"),
                f"Jean {CANARY}",
                f"{CANARY} director",
                f"The {CANARY} director declined.",
                f"Will {CANARY} later.",
            )
            cables = [
                Cable(
                    ref_id="07STATE166909",
                    kind=CableKind.INSTRUCTION,
                    classification="UNCLASSIFIED",
                    tags=["PREL", "UNMIK"],
                    subject="KOSOVO: DEMARCHE ON THE UNSC",
                    raw_text="UNCLAS STATE 166909\nSUBJECT: KOSOVO\n1. (U) Posts should urge "
                    "support for the EU presence.",
                ),
                Cable(
                    ref_id="07PARIS001",
                    kind=CableKind.REPORT,
                    classification="CONFIDENTIAL",
                    post_id=paris.id,
                    tags=["PREL"],
                    subject="REPLY",
                    raw_text=f"REF: STATE 166909\n1. (C) The {CANARY} ministry declined.",
                ),
                Cable(
                    ref_id="07STATE000777",
                    kind=CableKind.OTHER,
                    classification="SECRET",
                    tags=["PREL"],
                    subject=f"{CANARY} SECRET CABLE",
                    raw_text=f"SECRET\n1. (S) {CANARY} renewal.",
                ),
            ]
            db.add_all(cables)
            db.commit()
            yield {
                "db": db,
                "desk": desk_h,
                "hanoi": hanoi_h,
                "low": low_h,
                "viewer": viewer_h,
                "demarche": seen,
            }
        finally:
            db.close()
            outer.rollback()


@pytest.fixture(scope="module")
def api(app, world) -> Iterator[TestClient]:
    def _session() -> Iterator[Session]:
        yield world["db"]
        world["db"].commit()

    app.dependency_overrides[get_session] = _session
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.dependency_overrides.clear()
