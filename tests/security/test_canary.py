"""Nothing a reader may not see comes back, in any field of any answer, on any route.

A canary word is planted in every text of a record (a SECRET demarche's subject,
summary, objectives, points, key dates, level and tags; its cable; each post's
delivery notes, response, commitment and report cable; a draft; a portion marked
above its demarche). Then every GET route of the app's own route table, API and
pages, is read by every actor (each role, own post / other post / untasked post,
cleared below and at SECRET) with every record id and a spread of query values,
and every id-bearing write is tried on the records the actor may not see. No
answer, error or page may carry a canary its reader may not read, and no such
write may succeed.

Who may read what is written out below from the domain's rules (DOMAIN.md, access
rules), not asked of the policy, so the test cannot agree with a wrong policy.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import Role, User
from app.auth.service import issue_token, open_session
from app.cables import ingest as cables
from app.cables.models import Cable, CableReply
from app.classification import Classification
from app.dashboards.service import rotate_feed
from app.demarches import service as demarches
from app.demarches.models import KeyDate, Objective, TalkingPoint
from app.demarches.schemas import DemarcheIn, KeyDateIn, TalkingPointIn, TargetIn
from app.main import create_app
from app.notifications.models import Notification
from app.taskings import service as workflow
from app.taskings.models import Commitment, Response, Tasking
from app.taskings.schemas import DeliveryIn, ResponseIn
from tests.factories import make_post, make_user

S = Classification.SECRET
C = Classification.CONFIDENTIAL
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# -- the canaries and who may read each ------------------------------------------------
# Posts: A and B are tasked by both demarches, C by neither.

KESTREL = "QZXKESTREL"  # the SECRET demarche's own text, and its instruction cable
FALCON = "QZXFALCON"  # post A's records on the SECRET demarche
OSPREY = "QZXOSPREY"  # post B's records on the SECRET demarche
HERON = "QZXHERON"  # the CONFIDENTIAL demarche's own text, and its cable
EGRET = "QZXEGRET"  # post A's records on the CONFIDENTIAL demarche, and its report
PLOVER = "QZXPLOVER"  # post B's records on the CONFIDENTIAL demarche, and its report
RAVEN = "QZXRAVEN"  # SECRET portions inside the CONFIDENTIAL demarche (legacy rows)
WREN = "QZXWREN"  # a CONFIDENTIAL draft that tasks post A
CONDOR = "QZXCONDOR"  # a SECRET instruction cable no demarche was drafted from


@dataclass(frozen=True)
class Who:
    role: Role
    clearance: Classification
    post: str | None = None  # "A", "B" or "C" for post officers


ACTORS: dict[str, Who] = {
    "desk_s": Who(Role.DESK_OFFICER, S),
    "desk_c": Who(Role.DESK_OFFICER, C),
    "viewer_s": Who(Role.VIEWER, S),
    "viewer_c": Who(Role.VIEWER, C),
    "admin_s": Who(Role.ADMINISTRATOR, S),
    "admin_c": Who(Role.ADMINISTRATOR, C),
    "post_a_s": Who(Role.POST_OFFICER, S, "A"),
    "post_a_c": Who(Role.POST_OFFICER, C, "A"),
    "post_b_s": Who(Role.POST_OFFICER, S, "B"),
    "post_c_s": Who(Role.POST_OFFICER, S, "C"),
}


def may_read(who: Who, canary: str) -> bool:
    """DOMAIN.md's rules: nobody reads above their clearance; a post officer reads only
    issued demarches that task their post, and only their own post's records."""
    level, posts = {
        KESTREL: (S, {"A", "B"}),
        FALCON: (S, {"A"}),
        OSPREY: (S, {"B"}),
        HERON: (C, {"A", "B"}),
        EGRET: (C, {"A"}),
        PLOVER: (C, {"B"}),
        RAVEN: (S, {"A", "B"}),
        WREN: (C, set()),  # a draft: no post sees it
        CONDOR: (S, set()),
    }[canary]
    if who.clearance < level:
        return False
    return who.role != Role.POST_OFFICER or who.post in posts


CANARIES = (KESTREL, FALCON, OSPREY, HERON, EGRET, PLOVER, RAVEN, WREN, CONDOR)


# -- the world ----------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    headers: dict[str, dict[str, str]]  # bearer tokens
    cookies: dict[str, str]  # page sessions
    posts: dict[str, str]  # "A" -> post code
    # path parameter name -> [(value, the canary its record carries)]
    ids: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def add(self, param: str, value: object, canary: str) -> None:
        self.ids.setdefault(param, []).append((str(value), canary))


def _demarche(db, desk: User, word: str, level: Classification, posts, *, issue: bool = True):
    d = demarches.create_draft(
        db,
        DemarcheIn(
            subject=f"Council vote {word}",
            summary=f"Summary {word}.",
            classification=level,
            deadline=date.today() + timedelta(days=10),
            delivery_level=f"minister {word}",
            tags=["PREL", word[3:]],
            objectives=[f"Objective {word}."],
            talking_points=[TalkingPointIn(text=f"Point {word}.", classification=level)],
            key_dates=[KeyDateIn(date=date.today() + timedelta(days=12), what=f"Vote {word}")],
            targets=[TargetIn(post=p.code) for p in posts],
        ),
        actor=desk,
    )
    if issue:
        demarches.issue(db, d, actor=desk)
    db.commit()
    return d


def _instruction(word: str, serial: str, marking: str, posts) -> str:
    to = "".join(f"TO AMEMBASSY {p.code} IMMEDIATE\n" for p in posts)
    return (
        f"O 140153Z DEC 26\nFM SECSTATE WASHDC\n{to}\n"
        f"{marking} STATE {serial}\n\nTAGS: PREL UN\nSUBJECT: COUNCIL VOTE {word}\n\n"
        f"1. ({marking[0]}) Embassies should deliver the points below before December 17. "
        f"{word}\n\n2. ({marking[0]}) Points:\n\n-- We urge a yes vote {word}.\n\nRICE\n"
    )


def _report(word: str, post_code: str, serial: str, marking: str, ref: str) -> str:
    return (
        f"P 160900Z DEC 26\nFM AMEMBASSY {post_code}\nTO SECSTATE WASHDC PRIORITY\n\n"
        f"{marking} {post_code} {serial}\n\nTAGS: PREL UN\n"
        f"SUBJECT: COUNCIL VOTE: DEMARCHE DELIVERED\n\nREF: STATE {ref}\n\n"
        f"1. ({marking[0]}) Poloff delivered reftel points to the Director. {word}\n\n"
        f"2. ({marking[0]}) The ministry will support the resolution. {word}\n\nSMITH\n"
    )


def _deliver_and_answer(db, world: World, tasking: Tasking, officer: User, word: str) -> None:
    workflow.deliver(
        db,
        tasking,
        DeliveryIn(
            delivered_on=date.today(),
            delivered_by=f"PolChief {word}",
            recipient_name=f"Director {word}",
            level="minister",
            method="meeting",
            notes=f"Notes {word}.",
        ),
        actor=officer,
    )
    workflow.report_response(
        db,
        tasking,
        ResponseIn(
            position="supports",
            summary=f"They agree {word}.",
            commitments=[{"text": f"Will vote yes {word}", "due_date": date.today()}],
        ),
        actor=officer,
    )
    db.commit()
    response = db.scalar(select(Response).where(Response.tasking_id == tasking.id))
    world.add("response_id", response.id, word)
    for c in db.scalars(select(Commitment).where(Commitment.response_id == response.id)):
        world.add("commitment_id", c.id, word)


def build(db, client) -> World:
    posts = {k: make_post(db, f"QQ{k}POST") for k in "ABC"}
    users, headers, cookies = {}, {}, {}
    for name, who in ACTORS.items():
        user, auth = make_user(
            db, who.role, who.clearance, posts[who.post] if who.post else None, username=name
        )
        users[name], headers[name] = user, auth
        cookies[name] = open_session(db, user=user).cookie
        issue_token(db, user=user, name="spare")
    db.commit()
    world = World(users, headers, cookies, {k: p.code for k, p in posts.items()})
    desk = users["desk_s"]
    tasked = [posts["A"], posts["B"]]

    for word, level, marking, serial in (
        (KESTREL, S, "SECRET", "900001"),
        (HERON, C, "CONFIDENTIAL", "900002"),
    ):
        d = _demarche(db, desk, word, level, tasked)
        world.add("demarche_id", d.id, word)
        source = cables.ingest(db, _instruction(word, serial, marking, tasked), actor=desk).cable
        d.source_cable_id = source.id
        db.commit()
        world.add("cable_id", source.id, word)
        by_post = {
            t.post_id: t for t in db.scalars(select(Tasking).where(Tasking.demarche_id == d.id))
        }
        records = {KESTREL: (FALCON, OSPREY), HERON: (EGRET, PLOVER)}[word]
        for key, post_word in zip("AB", records, strict=True):
            tasking = by_post[posts[key].id]
            world.add("tasking_id", tasking.id, post_word)
            officer = users["post_a_s" if key == "A" else "post_b_s"]
            _deliver_and_answer(db, world, tasking, officer, post_word)
            text = _report(post_word, posts[key].code, f"00{serial[-1]}{key}", marking, serial)
            report = cables.ingest(db, text, actor=officer).cable
            db.commit()
            world.add("cable_id", report.id, post_word)
            for reply in db.scalars(select(CableReply).where(CableReply.cable_id == report.id)):
                world.add("reply_id", reply.id, post_word)
        if word == HERON:
            # Rows from before portions were bound by their demarche's level: a SECRET
            # summary, objective, point and key date inside a CONFIDENTIAL demarche.
            d.summary, d.summary_classification = f"Summary {RAVEN}.", S
            d.objectives.append(Objective(position=99, text=f"Aim {RAVEN}.", classification=S))
            d.talking_points.append(
                TalkingPoint(
                    position=99, text=f"Red line {RAVEN}.", classification=S, use="private"
                )
            )
            d.key_dates.append(
                KeyDate(on=date.today() + timedelta(days=9), what=f"Vote {RAVEN}", classification=S)
            )
            db.commit()

    draft = _demarche(db, desk, WREN, C, [posts["A"]], issue=False)
    world.add("demarche_id", draft.id, WREN)
    lone = cables.ingest(db, _instruction(CONDOR, "900003", "SECRET", tasked), actor=desk).cable
    db.commit()
    world.add("cable_id", lone.id, CONDOR)
    assert db.scalar(select(Cable.id).where(Cable.id == lone.id))
    # What the outbox wrote on the way (new taskings, responses reported): each carries
    # the words of the demarche it names.
    # Each user's calendar feed: its address is its credential; a classified demarche is
    # only "Demarche N (LEVEL)" there, so no canary may show in anyone's feed.
    for user in users.values():
        world.add("secret", rotate_feed(db, user), KESTREL)
    db.commit()
    word_of = {int(v): w for v, w in world.ids["demarche_id"]}
    for n_id, d_id in db.execute(select(Notification.id, Notification.demarche_id)):
        world.add("notification_id", n_id, word_of.get(d_id, KESTREL))
    return world


# -- the probes ---------------------------------------------------------------------------


def _query_values(world: World, words: Iterable[str]) -> dict[str, list[str]]:
    tags = [w[3:] for w in words]
    return {
        "q": ["QZX", "Council", "vote"],
        "post": list(world.posts.values()),
        "tag": tags,
        "status": ["draft", "issued", "closed", "pending", "delivered", "reported", "unmatched"],
        "overdue": ["true"],
        "kind": ["instruction", "report"],
        "demarche": [v for v, _ in world.ids["demarche_id"]],
        "tasking": [v for v, _ in world.ids["tasking_id"]],
        "page": ["1", "2"],
        "tl": ["2"],
        "limit": ["200"],
        "sort": ["region", "deadline"],
    }


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    params: tuple[str, ...]  # path parameters
    query: tuple[str, ...]


def _flat_query(dependant) -> list[str]:
    names = [p.alias for p in dependant.query_params]
    for sub in dependant.dependencies:
        names += _flat_query(sub)
    return names


def routes() -> list[Route]:
    """Every route of the app, from its own route table (new routes are probed too)."""
    found: dict[tuple[str, str], Route] = {}
    for top in create_app().routes:
        contexts = (
            top.effective_route_contexts() if hasattr(top, "effective_route_contexts") else [top]
        )
        for ctx in contexts:
            path = getattr(ctx, "path_format", getattr(ctx, "path", ""))
            dependant = getattr(ctx, "dependant", None)
            if dependant is None or path.startswith(("/docs", "/redoc", "/openapi", "/static")):
                continue
            params = tuple(re.findall(r"{(\w+)}", path))
            for method in ctx.methods or ():
                if method != "HEAD":
                    found[(method, path)] = Route(
                        method, path, params, tuple(dict.fromkeys(_flat_query(dependant)))
                    )
    return sorted(found.values(), key=lambda r: (r.path, r.method))


# Parameters whose records carry no canary (people, tokens, posts, collectives and their
# memberships): the access matrix (tests/auth/test_access_matrix.py) covers who may reach them.
NO_CANARY_PARAMS = {"token_id", "username", "code", "membership_id"}


def _fill(route: Route, world: World) -> Iterator[tuple[str, set[str]]]:
    """Each concrete path of the route, with the canaries its records carry."""
    unknown = [p for p in route.params if p not in world.ids and p not in NO_CANARY_PARAMS]
    assert not unknown, f"{route.method} {route.path}: give the canary world a {unknown} record"
    if any(p in NO_CANARY_PARAMS for p in route.params):
        return
    choices = [world.ids[p] for p in route.params]
    for combo in itertools.product(*choices):
        path = route.path
        for name, (value, _) in zip(route.params, combo, strict=True):
            path = path.replace("{" + name + "}", value)
        yield path, {canary for _, canary in combo}


def _leaks(text: str, forbidden: set[str]) -> set[str]:
    upper = text.upper()
    return {c for c in forbidden if c in upper}


def _answer_text(r) -> str:
    return r.text + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items())


# The world is built once per database and shared: each case runs in a savepoint rolled
# back after it (conftest's case_db), so a write that wrongly succeeded in one case is
# gone before the next.
@pytest.fixture
def db(case_db):
    return case_db


@pytest.fixture(scope="module")
def world(build_once) -> World:
    return build_once(lambda client, db: build(db, client))


@pytest.mark.parametrize("actor", list(ACTORS))
def test_no_answer_carries_what_its_reader_may_not_read(client, world, actor):
    who = ACTORS[actor]
    forbidden = {c for c in CANARIES if not may_read(who, c)}
    allowed = set(CANARIES) - forbidden
    values = _query_values(world, CANARIES)
    failures: list[str] = []

    def send(method: str, path: str, **kw) -> Any:
        page = not path.startswith("/api/")
        client.cookies.clear()
        if page:
            client.cookies.set("dmt_session", world.cookies[actor])
            headers = {}
        else:
            headers = world.headers[actor]
        r = client.request(method, path, headers=headers, follow_redirects=False, **kw)
        asked = f"{method} {path}{'?' + str(kw['params']) if 'params' in kw else ''}"
        if r.status_code >= 500:
            failures.append(f"{asked} answered {r.status_code}")
        leaked = _leaks(_answer_text(r), forbidden)
        if leaked:
            failures.append(f"{asked} ({r.status_code}) carries {sorted(leaked)}")
        return r

    csrf_page = send("GET", "/")
    found = CSRF.search(csrf_page.text)
    csrf = found.group(1) if found else ""
    reads = writes = 0
    for route in routes():
        for path, carried in _fill(route, world):
            if route.method == "GET":
                send("GET", path)
                reads += 1
                for name in route.query:
                    for value in values.get(name, []):
                        send("GET", path, params={name: value})
                        reads += 1
            elif not carried <= allowed:
                # A write on a record the actor may not see: refused as if it did not exist.
                if path.startswith("/api/"):
                    r = send(route.method, path, json={})
                else:
                    r = send(route.method, path, data={"csrf_token": csrf, "version": "1"})
                writes += 1
                if r.status_code < 400:
                    failures.append(
                        f"{route.method} {path} acted on a record {actor} may not see "
                        f"({r.status_code})"
                    )
    assert reads > 100, reads  # the probe really walked the routes
    if forbidden:
        assert writes > 0
    assert not failures, "\n".join(failures[:40])


def test_the_world_holds_every_canary_where_its_readers_find_it(client, world):
    """The probe is only as good as its world: each canary must show up for a reader
    allowed to see it, else 'never leaked' would be true of a world that planted nothing."""
    seen: set[str] = set()
    for actor in ("desk_s", "post_a_s", "post_b_s"):
        headers = world.headers[actor]
        for param, prefix in (
            ("demarche_id", "/api/v1/demarches/"),
            ("tasking_id", "/api/v1/taskings/"),
            ("cable_id", "/api/v1/cables/"),
        ):
            for value, _ in world.ids[param]:
                seen |= _leaks(client.get(prefix + value, headers=headers).text, set(CANARIES))
        for value, _ in world.ids["demarche_id"]:
            r = client.get(f"/api/v1/demarches/{value}/timeline", headers=headers)
            seen |= _leaks(r.text, set(CANARIES))
        for value, _ in world.ids["response_id"]:
            r = client.get(f"/api/v1/responses/{value}", headers=headers)
            seen |= _leaks(r.text, set(CANARIES))
    missing = set(CANARIES) - seen - {RAVEN}  # RAVEN: withheld from everyone below SECRET
    assert not missing, f"never shown even to its readers: {sorted(missing)}"
    r = client.get(
        f"/api/v1/demarches/{world.ids['demarche_id'][1][0]}", headers=world.headers["desk_s"]
    )
    assert r.text.count(RAVEN) == 4  # the SECRET desk reads every legacy SECRET portion
