"""Cable rules: ingesting, who may see a cable, drafting a demarche from an instruction,
and matching a post's report to the tasking it answers. Services flush; callers commit."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import Role, User
from app.auth.policy import Permission, allows, deny, visible_demarches
from app.classification import Classification, from_marking
from app.db import utcnow
from app.demarches import service as demarches
from app.demarches.models import Demarche, DemarcheStatus, TaskingRole
from app.demarches.schemas import DemarcheIn, KeyDateIn, TalkingPointIn, TargetIn, clean_tags
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.posts.models import Collective, Post
from app.taskings import service as taskings
from app.taskings.models import Tasking
from app.vocabulary import Precedence

from .models import Cable, CableKind, CableReply, ReplyStatus
from .parser import ParsedCable, looks_like_cable, originator_routing, parse_cable
from .replies import suggest_reply
from .schemas import ConfirmReplyIn, Unresolved

# -- who sees what --------------------------------------------------------------

_RANKS = {c: c.rank for c in Classification}


def classification_rank() -> ColumnElement[int]:
    """Cable.classification (free text) as a clearance rank, in SQL.

    Mirrors app.classification.from_marking: anything naming a higher level wins,
    so a caveat or a damaged banner never lowers protection. Test_ingest checks
    that both agree on the markings the corpus uses.
    """
    m = func.upper(func.trim(func.coalesce(Cable.classification, "")))
    secret = _RANKS[Classification.SECRET]
    conf = _RANKS[Classification.CONFIDENTIAL]
    sbu = _RANKS[Classification.SBU]
    return case(
        (m.in_(["S", "(S)"]), secret),
        (m.in_(["C", "(C)"]), conf),
        (m.in_(["SBU", "(SBU)", "U//FOUO"]), sbu),
        (m.in_(["U", "(U)"]), _RANKS[Classification.UNCLASSIFIED]),
        (or_(m.like("%SECRET%"), m.like("S/%")), secret),
        (or_(m.like("%CONFIDENTIAL%"), m.like("C/%")), conf),
        (
            or_(
                m.like("%SBU%"),
                m.like("%SENSITIVE%"),
                m.like("%FOR OFFICIAL USE ONLY%"),
                m.like("%FOUO%"),
            ),
            sbu,
        ),
        else_=_RANKS[Classification.UNCLASSIFIED],
    )


def visible_cables(actor: User) -> ColumnElement[bool]:
    """The WHERE clause for cables this actor may know exist.

    Above the reader's clearance: invisible. A post officer sees only what their
    post sent (by originator, or a report matched to one of its taskings) and
    the cables that are the source of a demarche visible to them.
    """
    cleared = classification_rank() <= actor.clearance.rank
    if actor.role != Role.POST_OFFICER:
        return and_(cleared, true())
    own_name = select(Post.name).where(Post.id == actor.post_id).scalar_subquery()
    sent_by_my_post = func.upper(func.coalesce(Cable.originator, "")) == func.upper(own_name)
    my_replies = Cable.id.in_(
        select(CableReply.cable_id)
        .join(Tasking, Tasking.id == CableReply.tasking_id)
        .where(Tasking.post_id == actor.post_id)
    )
    sources = Cable.id.in_(
        select(Demarche.source_cable_id).where(
            Demarche.source_cable_id.is_not(None), visible_demarches(actor)
        )
    )
    return and_(cleared, or_(sent_by_my_post, my_replies, sources))


def get_visible(session: Session, cable_id: int, *, actor: User) -> Cable:
    cable = session.scalar(select(Cable).where(Cable.id == cable_id, visible_cables(actor)))
    # Belt and braces: the Python reading of the marking must agree with the SQL one.
    if cable is None or from_marking(cable.classification) > actor.clearance:
        raise NotFound(f"No cable {cable_id}.")
    return cable


def list_visible(
    session: Session,
    *,
    actor: User,
    kind: CableKind | None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[Cable], str | None]:
    """Newest first, keyset-paginated on id."""
    stmt = select(Cable).where(visible_cables(actor))
    if kind is not None:
        stmt = stmt.where(Cable.kind == kind)
    if cursor:
        stmt = stmt.where(Cable.id < demarches.decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(Cable.id.desc()).limit(limit + 1)))
    next_cursor = demarches.encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def reply_of(session: Session, cable: Cable) -> CableReply | None:
    return session.scalar(select(CableReply).where(CableReply.cable_id == cable.id))


# -- ingesting ------------------------------------------------------------------


@dataclass
class Ingested:
    cable: Cable
    created: bool
    parsed: ParsedCable
    reply: CableReply | None = None


def synthetic_ref_id(text: str) -> str:
    # A cable whose reference number cannot be read is still kept (it looks like a
    # cable): its id is a hash of the text, so ingesting the same text again finds it.
    digest = hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()
    return f"SHA256-{digest[:32]}"


def ref_id_for(text: str, parsed: ParsedCable) -> str:
    """The canonical ref id, or the synthetic one when it is unknown or will not fit."""
    if parsed.ref_id and len(parsed.ref_id) <= 40:
        return parsed.ref_id
    return synthetic_ref_id(text)


def parse_or_refuse(text: str) -> ParsedCable:
    """The parsed cable, or a 422 with the parser's warnings when it is not a cable at all."""
    parsed = parse_cable(text)
    if not looks_like_cable(parsed):
        raise Invalid(
            "This does not look like a cable: no more than one of date-time group, FM line, "
            "subject, tags, classification and reference number could be read.",
            warnings=list(parsed.warnings),
        )
    return parsed


def ingest(session: Session, text: str, *, actor: User | None) -> Ingested:
    """Store a cable once; the same ref id again returns the stored one."""
    return ingest_parsed(session, text, parse_or_refuse(text), actor=actor)


def ingest_parsed(
    session: Session,
    text: str,
    parsed: ParsedCable,
    *,
    actor: User | None,
    check_existing: bool = True,
    savepoint: bool = True,
) -> Ingested:
    """Store an already parsed cable.

    The bulk import dedupes in memory and wraps each cable in its own savepoint, so
    it turns off the lookup and the inner savepoint here.
    """
    ref_id = ref_id_for(text, parsed)
    if actor is not None and from_marking(parsed.classification) > actor.clearance:
        raise Forbidden("This cable is classified above your clearance.")
    if check_existing:
        existing = session.scalar(select(Cable).where(Cable.ref_id == ref_id))
        if existing is not None:
            return Ingested(existing, False, parsed, reply_of(session, existing))
    cable = _new_cable(text, parsed, ref_id)
    if not savepoint:
        session.add(cable)
        session.flush()
        return _ingested(session, cable, parsed, actor)
    try:
        # A savepoint, so a concurrent ingest of the same cable (unique ref_id) loses
        # cleanly and we answer with the winner's row.
        with session.begin_nested():
            session.add(cable)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Cable).where(Cable.ref_id == ref_id))
        if existing is None:
            raise
        return Ingested(existing, False, parsed, reply_of(session, existing))
    return _ingested(session, cable, parsed, actor)


def _ingested(session: Session, cable: Cable, parsed: ParsedCable, actor: User | None) -> Ingested:
    record(
        session,
        actor_id=actor.id if actor else None,
        entity="cable",
        entity_id=cable.id,
        action="ingest",
        after={
            "ref_id": cable.ref_id,
            "kind": cable.kind,
            "synthetic_ref_id": cable.ref_id.startswith("SHA256-"),
        },
    )
    reply = match_report(session, cable, parsed, actor=actor) if parsed.kind == "report" else None
    return Ingested(cable, True, parsed, reply)


def _new_cable(text: str, parsed: ParsedCable, ref_id: str) -> Cable:
    return Cable(
        ref_id=ref_id,
        dtg=_dtg(parsed.dtg),
        precedence=Precedence(parsed.precedence) if parsed.precedence in _PRECEDENCES else None,
        originator=(parsed.originator or None) and parsed.originator[:120],
        classification=_marking(parsed),
        captions=list(parsed.captions),
        subject=parsed.subject,
        tags=list(parsed.tags),
        kind=CableKind(parsed.kind) if parsed.kind in _KINDS else CableKind.OTHER,
        raw_text=text,
        parsed=parsed.to_dict(),
    )


def _marking(parsed: ParsedCable) -> str | None:
    """The cable's classification as written, unless a paragraph is marked higher (or the
    line is missing or damaged): then the highest portion mark, so that neither a
    damaged banner nor a mis-marked one lets someone read a paragraph above them."""
    portions = [from_marking(p.marking) for p in parsed.paragraphs if p.marking]
    highest = max(portions, default=Classification.UNCLASSIFIED, key=lambda c: c.rank)
    if parsed.classification and from_marking(parsed.classification) >= highest:
        return parsed.classification[:80]
    return None if highest == Classification.UNCLASSIFIED else highest.value


_PRECEDENCES = {p.value for p in Precedence}
_KINDS = {k.value for k in CableKind}


def _dtg(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# -- the post registry ----------------------------------------------------------

_PREFIX = re.compile(
    r"^(?:AMEMBASSY|AMEMB|AMCONSUL(?:ATE)?|AMCONGEN|USMISSION|USDEL|USLO|USOFFICE|"
    r"AMERICAN EMBASSY|EMBASSY|CONSULATE)\s+"
)


def normalise(name: str) -> str:
    """'AMEMBASSY SAN JOSE' and 'San Jose' both read 'SAN JOSE'."""
    flat = " ".join(re.sub(r"[^A-Z0-9 ]", " ", name.upper()).split())
    return _PREFIX.sub("", flat)


@dataclass
class Registry:
    """The post registry indexed the ways cables name posts and collectives."""

    by_routing: dict[str, Post] = field(default_factory=dict)
    by_name: dict[str, Post] = field(default_factory=dict)
    by_city: dict[str, list[Post]] = field(default_factory=lambda: defaultdict(list))
    collectives_by_routing: dict[str, Collective] = field(default_factory=dict)
    collectives_by_name: dict[str, Collective] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Registry:
        reg = cls()
        for p in session.scalars(select(Post)):
            if p.routing_indicator:
                reg.by_routing[p.routing_indicator.upper()] = p
            reg.by_name.setdefault(normalise(p.name), p)
            reg.by_name.setdefault(normalise(p.code), p)
            reg.by_city[normalise(p.city)].append(p)
        for c in session.scalars(select(Collective)):
            if c.routing_indicator:
                reg.collectives_by_routing[c.routing_indicator.upper()] = c
            reg.collectives_by_name[_collective_key(c.name)] = c
            reg.collectives_by_name.setdefault(_collective_key(c.code), c)
        return reg

    def post(self, name: str, routing: str | None = None) -> Post | None:
        if routing and routing.upper() in self.by_routing:
            return self.by_routing[routing.upper()]
        key = normalise(name)
        if key in self.by_name:
            return self.by_name[key]
        cities = self.by_city.get(key, [])
        # A city alone names a post only when one post sits there.
        return cities[0] if len(cities) == 1 else None

    def collective(self, name: str, routing: str | None = None) -> Collective | None:
        if routing and routing.upper() in self.collectives_by_routing:
            return self.collectives_by_routing[routing.upper()]
        return self.collectives_by_name.get(_collective_key(name))


def _collective_key(name: str) -> str:
    return re.sub(r"\s+COLLECTIVE$", "", normalise(name))


@dataclass
class Resolved:
    targets: list[TargetIn]
    unresolved: list[Unresolved]


def resolve_addressees(session: Session, parsed: ParsedCable) -> Resolved:
    """Action and info addressees as target posts; what the registry lacks, listed."""
    reg = Registry.load(session)
    roles: dict[int, tuple[Post, TaskingRole]] = {}
    unresolved: list[Unresolved] = []

    def put(post: Post, role: TaskingRole) -> None:
        # Action beats info: a post named in TO and in INFO (or a collective) acts.
        if post.id not in roles or role == TaskingRole.ACTION:
            roles[post.id] = (post, role)

    for role, addressees in (
        (TaskingRole.ACTION, parsed.action_addressees),
        (TaskingRole.INFO, parsed.info_addressees),
    ):
        for a in addressees:
            collective = reg.collective(a.name, a.routing)
            if collective is not None:
                for member in collective.members:
                    put(member, role)
                continue
            post = reg.post(a.name, a.routing)
            if post is not None:
                put(post, role)
            else:
                kind = "collective" if "COLLECTIVE" in a.name.upper() else "post"
                unresolved.append(
                    Unresolved(
                        name=a.name,
                        routing=a.routing,
                        role=role,
                        reason=f"no {kind} in the registry by this name or routing indicator",
                    )
                )
    # Prose such as "This message is info only for Beijing" overrides the address lines.
    for name in parsed.info_only:
        post = reg.post(name)
        if post is None:
            unresolved.append(
                Unresolved(
                    name=name,
                    routing=None,
                    role=TaskingRole.INFO,
                    reason="named info only in the text; no post in the registry by this name",
                )
            )
        else:
            roles[post.id] = (post, TaskingRole.INFO)

    targets: list[TargetIn] = []
    for post, role in sorted(roles.values(), key=lambda pr: pr[0].code):
        if not post.active:
            unresolved.append(
                Unresolved(
                    name=post.name,
                    routing=post.routing_indicator,
                    role=role,
                    reason="post is inactive and cannot be tasked",
                )
            )
            continue
        targets.append(TargetIn(post=post.code, role=role))
    return Resolved(targets, unresolved)


# -- drafting a demarche from an instruction ------------------------------------


@dataclass
class Drafted:
    demarche: Demarche
    unresolved: list[Unresolved]
    warnings: list[str]


def draft_demarche(session: Session, cable: Cable, *, actor: User) -> Drafted:
    """A draft demarche from an instruction cable, for the desk to check and issue."""
    if cable.kind != CableKind.INSTRUCTION:
        raise Invalid(
            f"Cable {cable.ref_id} reads as {cable.kind.value}, not an instruction: "
            "create the demarche by hand."
        )
    parsed = parse_cable(cable.raw_text)
    warnings = list(parsed.warnings)
    resolved = resolve_addressees(session, parsed)
    data = demarche_in(parsed, fallback_subject=cable.subject or cable.ref_id, warnings=warnings)
    data.targets = resolved.targets
    if data.deadline is not None and data.deadline < date.today():
        # Kept as the cable says: the desk moves it before issuing (issue refuses a past date).
        warnings.append(f"deadline {data.deadline.isoformat()} is in the past")
    earlier = session.scalars(
        select(Demarche.id).where(
            Demarche.source_cable_id == cable.id, Demarche.status != DemarcheStatus.CANCELLED
        )
    ).all()
    if earlier:
        warnings.append(
            f"already drafted from this cable as demarche {', '.join(map(str, earlier))}"
        )
    demarche = demarches.create_draft(session, data, actor=actor, source_cable_id=cable.id)
    return Drafted(demarche, resolved.unresolved, warnings)


def demarche_in(parsed: ParsedCable, *, fallback_subject: str, warnings: list[str]) -> DemarcheIn:
    """The DemarcheIn a parsed instruction implies; anything invalid is left out, with a warning."""
    classification = from_marking(parsed.classification)
    subject = (parsed.subject or fallback_subject or "").strip()[:300]
    if len(subject) < 3:
        subject = f"Instruction {fallback_subject}"[:300]
    tags: list[str] = []
    for tag in parsed.tags:
        try:
            tags.extend(clean_tags([tag]))
        except ValueError:
            warnings.append(f"tag {tag!r} left out (not 1-16 letters or digits)")
    points = [
        TalkingPointIn(
            text=p.text[:20_000],
            use=p.use if p.use in ("private", "public") else "private",  # type: ignore[arg-type]
            classification=_point_marking(parsed, p.text, classification),
        )
        for p in parsed.talking_points[:200]
        if p.text.strip()
    ]
    key_dates = []
    for k in parsed.key_dates[:50]:
        try:
            key_dates.append(KeyDateIn(date=date.fromisoformat(k.date), what=k.what[:300] or "?"))
        except (ValueError, ValidationError):
            warnings.append(f"key date {k.date!r} left out (not a date)")
    deadline = None
    if parsed.deadline:
        try:
            deadline = date.fromisoformat(parsed.deadline)
        except ValueError:
            warnings.append(f"deadline {parsed.deadline!r} left out (not a date)")
    if not points:
        warnings.append("no talking points found: add them before issuing")
    summary = parsed.summary or parsed.target_description or ""
    return DemarcheIn(
        subject=subject,
        summary=summary[:20_000],
        classification=classification,
        precedence=Precedence(parsed.precedence)
        if parsed.precedence in _PRECEDENCES
        else Precedence.ROUTINE,
        deadline=deadline,
        delivery_level=(parsed.delivery_level or None) and parsed.delivery_level[:200],
        tags=tags[:30],
        objectives=[o.strip() for o in parsed.objectives if o.strip()][:50],
        talking_points=points,
        key_dates=key_dates,
    )


def _point_marking(parsed: ParsedCable, text: str, cable_level: Classification) -> Classification:
    """The portion mark of the paragraph a point sits in; unmarked points take the cable's."""
    probe = " ".join(text.split())[:60]
    for para in parsed.paragraphs:
        if probe and probe in " ".join(para.text.split()):
            return from_marking(para.marking) if para.marking else cable_level
    return cable_level


# -- a post's report ------------------------------------------------------------


def match_report(
    session: Session, cable: Cable, parsed: ParsedCable, *, actor: User | None
) -> CableReply:
    """File a report cable against the tasking it answers, with a suggested delivery and response.

    Never moves the workflow: a person confirms the suggestion first.
    """
    cited = [r.ref_id for r in parsed.references if r.ref_id]
    demarche_id = _cited_demarche(session, cited)
    post = sender_post(session, parsed.originator, originator_routing(cable.raw_text))
    tasking_id = (
        session.scalar(
            select(Tasking.id)
            .where(Tasking.demarche_id == demarche_id, Tasking.post_id == post.id)
            .order_by((Tasking.role == TaskingRole.ACTION).desc(), Tasking.id)
            .limit(1)
        )
        if post is not None and demarche_id is not None
        else None
    )
    reply = _new_reply(cable, parsed, cited, demarche_id, tasking_id, post)
    session.add(reply)
    session.flush()
    _record_reply(session, reply, cable, post, actor)
    return reply


def _new_reply(
    cable: Cable,
    parsed: ParsedCable,
    cited: list[str],
    demarche_id: int | None,
    tasking_id: int | None,
    post: Post | None,
) -> CableReply:
    suggestion = suggest_reply(parsed)
    reply = CableReply(
        cable_id=cable.id,
        status=ReplyStatus.MATCHED if tasking_id else ReplyStatus.UNMATCHED,
        demarche_id=demarche_id,
        tasking_id=tasking_id,
        suggestion=suggestion.to_dict(),
        evidence=suggestion.evidence,
    )
    if demarche_id is None:
        reply.note = (
            f"cites no instruction we hold as a demarche (REF: {', '.join(cited)})"
            if cited
            else "cites no cable"
        )
    elif tasking_id is None:
        who = post.code if post else (parsed.originator or "the sender")
        reply.note = f"answers demarche {demarche_id}, but {who} has no tasking on it"
    return reply


def _record_reply(
    session: Session, reply: CableReply, cable: Cable, post: Post | None, actor: User | None
) -> None:
    record(
        session,
        actor_id=actor.id if actor else None,
        entity="cable_reply",
        entity_id=reply.id,
        action="match" if reply.status == ReplyStatus.MATCHED else "file_unmatched",
        demarche_id=reply.demarche_id,
        post_id=post.id if post is not None and reply.tasking_id else None,
        after={
            "cable": cable.ref_id,
            "status": reply.status,
            "tasking_id": reply.tasking_id,
            "note": reply.note,
        },
    )


def ingest_batch(
    session: Session, items: list[tuple[str, ParsedCable]], *, actor: User | None
) -> list[Ingested]:
    """Store many new cables in a handful of round trips (the bulk import's fast path).

    The caller has removed duplicates (in memory and against the database); a
    concurrent writer that stored one meanwhile makes the flush fail, and the
    caller retries that batch cable by cable.
    """
    cables = [_new_cable(text, parsed, ref_id_for(text, parsed)) for text, parsed in items]
    session.add_all(cables)
    session.flush()
    for cable in cables:
        record(
            session,
            actor_id=actor.id if actor else None,
            entity="cable",
            entity_id=cable.id,
            action="ingest",
            after={
                "ref_id": cable.ref_id,
                "kind": cable.kind,
                "synthetic_ref_id": cable.ref_id.startswith("SHA256-"),
            },
        )
    out = [Ingested(c, True, p) for c, (_, p) in zip(cables, items, strict=True)]
    reports = [i for i in out if i.parsed.kind == "report"]
    if not reports:
        return out
    cited = {i.cable.id: [r.ref_id for r in i.parsed.references if r.ref_id] for i in reports}
    demarche_by_ref = _demarches_by_ref(session, [r for refs in cited.values() for r in refs])
    registry = Registry.load(session)
    wanted: list[tuple[Ingested, int | None, Post | None]] = []
    for i in reports:
        demarche_id = next(
            (demarche_by_ref[r] for r in cited[i.cable.id] if r in demarche_by_ref), None
        )
        post = registry.post(i.parsed.originator or "", originator_routing(i.cable.raw_text))
        wanted.append((i, demarche_id, post))
    pairs = {(d, p.id) for _, d, p in wanted if d is not None and p is not None}
    taskings_by_pair: dict[tuple[int, int], int] = {}
    if pairs:
        for t_id, d_id, p_id, _role in session.execute(
            select(Tasking.id, Tasking.demarche_id, Tasking.post_id, Tasking.role)
            .where(Tasking.demarche_id.in_({d for d, _ in pairs}))
            .order_by((Tasking.role == TaskingRole.ACTION).asc(), Tasking.id.desc())
        ):
            # Ordered so the action tasking (and then the oldest) is written last and wins.
            taskings_by_pair[(d_id, p_id)] = t_id
    replies = []
    for i, demarche_id, post in wanted:
        tasking_id = (
            taskings_by_pair.get((demarche_id, post.id))
            if demarche_id is not None and post is not None
            else None
        )
        i.reply = _new_reply(i.cable, i.parsed, cited[i.cable.id], demarche_id, tasking_id, post)
        replies.append((i, post))
    session.add_all([i.reply for i, _ in replies])
    session.flush()
    for i, post in replies:
        assert i.reply is not None
        _record_reply(session, i.reply, i.cable, post, actor)
    return out


def sender_post(session: Session, originator: str | None, routing: str | None) -> Post | None:
    """The post that sent a cable: by routing indicator, then its name, then its city."""
    clauses = []
    if routing:
        clauses.append(Post.routing_indicator == routing.upper())
    if originator:
        clauses.append(func.upper(Post.name) == " ".join(originator.upper().split()))
    if not clauses:
        return None
    hits = list(session.scalars(select(Post).where(or_(*clauses))))
    by_routing = [p for p in hits if routing and p.routing_indicator == routing.upper()]
    if by_routing or hits:
        return (by_routing or hits)[0]
    if originator:
        city = list(
            session.scalars(select(Post).where(func.upper(Post.city) == normalise(originator)))
        )
        if len(city) == 1:
            return city[0]
    return None


def _demarches_by_ref(session: Session, refs: list[str]) -> dict[str, int]:
    """Cited ref id -> the newest live demarche drafted from that cable."""
    if not refs:
        return {}
    found: dict[str, int] = {}
    for demarche_id, ref_id in session.execute(
        select(Demarche.id, Cable.ref_id)
        .join(Cable, Cable.id == Demarche.source_cable_id)
        .where(Cable.ref_id.in_(set(refs)), Demarche.status != DemarcheStatus.CANCELLED)
        .order_by(Demarche.id.desc())
    ):
        found.setdefault(ref_id, demarche_id)
    return found


def _cited_demarche(session: Session, cited: list[str]) -> int | None:
    # The first cable cited is the one answered ("REF: A. STATE 166909 B. ...").
    found = _demarches_by_ref(session, cited)
    return next((found[r] for r in cited if r in found), None)


# -- reviewing replies ----------------------------------------------------------


def visible_replies(actor: User) -> ColumnElement[bool]:
    return CableReply.cable_id.in_(select(Cable.id).where(visible_cables(actor)))


def get_reply(session: Session, reply_id: int, *, actor: User) -> CableReply:
    reply = session.scalar(
        select(CableReply).where(CableReply.id == reply_id, visible_replies(actor))
    )
    if reply is None:
        raise NotFound(f"No cable reply {reply_id}.")
    return reply


def list_replies(
    session: Session,
    *,
    actor: User,
    status: ReplyStatus | None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[tuple[CableReply, Cable]], str | None]:
    stmt = (
        select(CableReply, Cable)
        .join(Cable, Cable.id == CableReply.cable_id)
        .where(visible_replies(actor))
    )
    if status is not None:
        stmt = stmt.where(CableReply.status == status)
    if cursor:
        stmt = stmt.where(CableReply.id < demarches.decode_cursor(cursor))
    rows = [
        (r, c) for r, c in session.execute(stmt.order_by(CableReply.id.desc()).limit(limit + 1))
    ]
    next_cursor = demarches.encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def reply_tasking(session: Session, reply: CableReply, *, actor: User) -> Tasking:
    """The tasking a matched reply answers, if the actor may review it."""
    if reply.status != ReplyStatus.MATCHED or reply.tasking_id is None:
        raise Conflict(
            f"Cable reply {reply.id} is {reply.status.value}; only a matched reply is confirmed.",
            current_state=reply.status.value,
        )
    tasking = taskings.get_visible(session, reply.tasking_id, actor=actor)
    _may_review(actor, tasking)
    return tasking


def _may_review(actor: User, tasking: Tasking | None) -> None:
    own_post = (
        tasking is not None
        and allows(actor, Permission.ACT_FOR_POST)
        and actor.post_id == tasking.post_id
    )
    if not (own_post or allows(actor, Permission.MANAGE_TASKINGS)):
        raise deny(actor, "Only the tasked post or the desk may review this reply.")


def confirm_reply(
    session: Session, reply: CableReply, tasking: Tasking, data: ConfirmReplyIn, *, actor: User
) -> CableReply:
    """Log the corrected delivery and response through the tasking workflow, then confirm."""
    cable_ref = session.scalar(select(Cable.ref_id).where(Cable.id == reply.cable_id))
    # Transcribed from the post's own cable, so a desk officer may record it too.
    source = cable_ref or f"cable {reply.cable_id}"
    taskings.deliver(session, tasking, data.delivery, actor=actor, from_post_cable=source)
    response = data.response
    if response.reporting_cable_ref is None and cable_ref and len(cable_ref) <= 40:
        response = response.model_copy(update={"reporting_cable_ref": cable_ref})
    taskings.report_response(session, tasking, response, actor=actor, from_post_cable=source)
    return _review(session, reply, ReplyStatus.CONFIRMED, actor=actor, post_id=tasking.post_id)


def reject_reply(session: Session, reply: CableReply, note: str, *, actor: User) -> CableReply:
    if reply.status not in (ReplyStatus.MATCHED, ReplyStatus.UNMATCHED):
        raise Conflict(
            f"Cable reply {reply.id} is already {reply.status.value}.",
            current_state=reply.status.value,
        )
    tasking = session.get(Tasking, reply.tasking_id) if reply.tasking_id else None
    _may_review(actor, tasking)
    reply.note = note
    return _review(
        session,
        reply,
        ReplyStatus.REJECTED,
        actor=actor,
        post_id=tasking.post_id if tasking else None,
    )


def match_by_hand(
    session: Session, reply: CableReply, tasking_id: int, *, actor: User
) -> CableReply:
    """The desk attaches a reply the automatic match missed (or got wrong) to a tasking."""
    if not allows(actor, Permission.MANAGE_TASKINGS):
        raise deny(actor, "Only the desk attaches a reply to a tasking by hand.")
    if reply.status == ReplyStatus.CONFIRMED:
        raise Conflict(
            f"Cable reply {reply.id} is already confirmed.", current_state=reply.status.value
        )
    tasking = taskings.get_visible(session, tasking_id, actor=actor)
    before = {"status": reply.status, "tasking_id": reply.tasking_id}
    reply.tasking_id = tasking.id
    reply.demarche_id = tasking.demarche_id
    reply.status = ReplyStatus.MATCHED
    session.flush()
    taskings.audit_tasking(
        session,
        tasking,
        "match_by_hand",
        actor=actor,
        entity="cable_reply",
        entity_id=reply.id,
        before=before,
        after={"status": reply.status, "tasking_id": tasking.id},
    )
    return reply


def _review(
    session: Session, reply: CableReply, status: ReplyStatus, *, actor: User, post_id: int | None
) -> CableReply:
    before = {"status": reply.status}
    reply.status = status
    reply.reviewed_at = utcnow()
    reply.reviewed_by_id = actor.id
    session.flush()
    record(
        session,
        actor_id=actor.id,
        entity="cable_reply",
        entity_id=reply.id,
        action="confirm" if status == ReplyStatus.CONFIRMED else "reject",
        demarche_id=reply.demarche_id,
        post_id=post_id,
        before=before,
        after={"status": status, "note": reply.note},
    )
    return reply
