"""The access matrix's world and rules: who each actor is, what they may see and do.

Shared by the API matrix (test_access_matrix.py) and the page matrix
(test_pages_access.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.service import issue_token
from app.cables import ingest as cables
from app.cables.models import CableReply
from app.classification import Classification
from app.demarches.models import Demarche
from app.notifications.models import Notification
from app.taskings import service as workflow
from app.taskings.models import Commitment, Response, Tasking
from app.taskings.schemas import DeliveryIn, ResponseIn
from tests.cables.samples import REPORT, instruction
from tests.databases import forget_credentials
from tests.factories import (
    demarche_payload,
    future,
    make_collective,
    make_post,
    make_user,
    write,
)

API = "/api/v1"
CONF = Classification.CONFIDENTIAL

# -- the world ----------------------------------------------------------------


@dataclass
class Actor:
    name: str
    user: User
    headers: dict[str, str]
    spare_token_id: int  # a second token of theirs, for the revoke route


@dataclass
class World:
    actors: dict[str, Actor]
    demarche_id: int
    tasking_id: int  # post A's tasking
    response_id: int
    commitment_id: int
    post_a: str
    post_b: str
    classification: Classification
    cable_id: int  # the demarche's source (instruction) cable
    reply_id: int  # post A's report cable, matched to its tasking
    collective: str = ""  # a collective's code: post A a member
    collective_id: int = 0
    membership_id: int = 0  # post A's membership of it
    notification_id: int = 0  # the desk's: post A reported its response


ROLES: dict[str, tuple[Role, Classification, str | None]] = {
    "desk": (Role.DESK_OFFICER, Classification.SECRET, None),
    "desk_confidential": (Role.DESK_OFFICER, CONF, None),
    "post_own": (Role.POST_OFFICER, CONF, "A"),  # the tasking's post
    "post_other": (Role.POST_OFFICER, CONF, "B"),  # tasked by the same demarche
    "post_untasked": (Role.POST_OFFICER, CONF, "C"),  # not tasked at all
    "viewer": (Role.VIEWER, CONF, None),
    "admin": (Role.ADMINISTRATOR, CONF, None),
}


def build_world(client, db, classification: Classification) -> World:
    # Letters only: cables write post names in their message numbers ("PARIS 001234").
    posts = {k: make_post(db, f"MX{k}{'QRST'[classification.rank]}") for k in "ABC"}
    actors = {}
    for name, (role, clearance, post) in ROLES.items():
        user, headers = make_user(
            db,
            role,
            clearance,
            posts[post] if post else None,
            username=f"{name}-{classification.rank}",
        )
        spare = issue_token(db, user=user, name="spare").token.id
        db.commit()
        actors[name] = Actor(name, user, headers, spare)
    desk = actors["desk"].headers
    body = demarche_payload(
        [posts["A"], posts["B"]],
        classification=classification.value,
        talking_points=[{"text": "Point one.", "classification": "UNCLASSIFIED"}],
    )
    d = client.post(f"{API}/demarches", json=body, headers=desk).json()
    assert write(client, "POST", f"{API}/demarches/{d['id']}/issue", desk).status_code == 200
    tasking = db.scalar(
        select(Tasking).where(Tasking.demarche_id == d["id"], Tasking.post_id == posts["A"].id)
    )
    # Set up through the services, as the post would: the SECRET variant is above the
    # post officer's clearance, so the API would (rightly) refuse them.
    officer = actors["post_own"].user
    workflow.deliver(
        db,
        tasking,
        DeliveryIn(
            delivered_on=date.today(),
            delivered_by="PolChief",
            recipient_name="X",
            level="minister",
            method="meeting",
        ),
        actor=officer,
    )
    workflow.report_response(
        db,
        tasking,
        ResponseIn(
            position="supports",
            summary="Yes.",
            commitments=[{"text": "Will vote yes", "due_date": future(3)}],
        ),
        actor=officer,
    )
    db.commit()
    response = db.scalar(select(Response).where(Response.tasking_id == tasking.id))
    commitment = db.scalar(select(Commitment).where(Commitment.response_id == response.id))

    # The demarche's instruction cable, and post A's report citing it.
    marking = " ".join(classification.value) if classification.value != "SBU" else "SBU"
    serial = f"7{classification.rank}0{d['id']}"
    source = cables.ingest(
        db, instruction(serial=serial, marking=marking), actor=actors["desk"].user
    ).cable
    db.get(Demarche, d["id"]).source_cable_id = source.id
    db.flush()
    report = (
        REPORT.replace("AMEMBASSY HANOI", f"AMEMBASSY {posts['A'].code}")
        .replace("C O N F I D E N T I A L HANOI 001234", f"{marking} {posts['A'].code} {serial}")
        .format(ref=serial)
    )
    reply = cables.ingest(db, report, actor=actors["desk"].user)
    db.commit()
    reply_row = db.scalar(select(CableReply).where(CableReply.cable_id == reply.cable.id))
    assert reply_row is not None and reply_row.tasking_id == tasking.id, "report not matched"
    collective = make_collective(
        db, f"CX{classification.rank}", f"MX COLLECTIVE {classification.rank}", [posts["A"]]
    )
    notification_id = db.scalar(
        select(Notification.id).where(Notification.user_id == actors["desk"].user.id).limit(1)
    )
    return World(
        actors,
        d["id"],
        tasking.id,
        response.id,
        commitment.id,
        posts["A"].code,
        posts["B"].code,
        classification,
        source.id,
        reply_row.id,
        collective.code,
        collective.id,
        collective.memberships[0].id,
        notification_id,
    )


# The three worlds every case of the matrices probes: below, at and above the
# confidential actors' clearance.
CLASSIFICATIONS = (Classification.UNCLASSIFIED, CONF, Classification.SECRET)


def build_worlds(client, db) -> dict[Classification, World]:
    """One world per classification, side by side (their posts and users are named apart).

    Built once per module and database (a module fixture, through conftest's build_once);
    each case reaches one through `fresh`."""
    return {c: build_world(client, db, c) for c in CLASSIFICATIONS}


@contextmanager
def fresh(db: Session, w: World) -> Iterator[World]:
    """The world as it was built, for one block: what the block writes, commits and all,
    is rolled back after it, so the next block (or case) finds it unchanged.

    db is a session joined to the module's connection (conftest's case_db). The block runs
    in a SAVEPOINT of that connection, and db's own commits release savepoints inside it.
    The actors' users are loaded afresh in db, so nothing a block did to them in memory
    carries over.
    """
    conn = db.bind
    assert isinstance(conn, Connection), "fresh() needs a session bound to a connection"
    db.close()  # db's own savepoint (if one is open) ends before the block's begins
    block = conn.begin_nested()
    try:
        yield replace(
            w,
            actors={
                name: replace(a, user=db.get_one(User, a.user.id)) for name, a in w.actors.items()
            },
        )
    finally:
        db.close()
        block.rollback()
        forget_credentials()


# -- who may know a record exists -----------------------------------------------


def sees_demarche(a: Actor, w: World) -> bool:
    if w.classification > a.user.clearance:
        return False
    return a.user.role != Role.POST_OFFICER or a.name in ("post_own", "post_other")


def sees_tasking(a: Actor, w: World) -> bool:
    return sees_demarche(a, w) and (a.user.role != Role.POST_OFFICER or a.name == "post_own")


def always(_a: Actor, _w: World) -> bool:
    return True


# -- who may do it, once they may see it ------------------------------------------


def roles(*allowed: Role) -> Callable[[Actor, World], bool]:
    return lambda a, _w: a.user.role in allowed


def own_post_or_desk(a: Actor, _w: World) -> bool:
    return a.name == "post_own" or a.user.role == Role.DESK_OFFICER


def own_post(a: Actor, _w: World) -> bool:
    return a.name == "post_own"


@dataclass(frozen=True)
class Rule:
    visible: Callable[[Actor, World], bool]
    may: Callable[[Actor, World], bool]
    body: Callable[[World], Any] | None = None
    etag: str | None = None  # which record's ETag goes in If-Match
    # The role check comes before any lookup: a role that may never do this gets 403
    # for every id, existing or not, which tells nothing either.
    role_first: bool = False


DESK = roles(Role.DESK_OFFICER)
ADMIN = roles(Role.ADMINISTRATOR)
ANYONE = always
INGEST = roles(Role.DESK_OFFICER, Role.POST_OFFICER)
