"""Who may see what and who may do what, in one place.

Three kinds of rule live here, and nowhere else:
- permissions by role (`require`), for actions such as issuing a demarche, and who
  may act on a given record (`side_for`: the tasked post or the desk);
- visibility: SQL filters (`visible_demarches`, `visible_taskings`, `visible_events`,
  ...) that every list, count, dashboard, search and export uses, so they cannot
  drift apart. A record the reader may not see answers 404 exactly like a missing one;
- withholding (`withhold`): which marked portions of a visible record a reader gets.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from typing import NamedTuple, TypeVar

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, true
from sqlalchemy.orm import aliased

from app.audit import AuditEvent
from app.auth.models import Role, User
from app.cables.models import Cable, CableReply
from app.classification import Classification
from app.demarches.models import Demarche, DemarcheStatus
from app.errors import Forbidden
from app.taskings.models import Tasking

P = TypeVar("P")

log = logging.getLogger("app.access")


class Permission(enum.StrEnum):
    READ = "read"
    MANAGE_POSTS = "manage_posts"
    MANAGE_USERS = "manage_users"
    WRITE_DEMARCHES = "write_demarches"  # create, edit, issue, amend, cancel, close
    MANAGE_TASKINGS = "manage_taskings"  # the desk's side of the workflow
    ACT_FOR_POST = "act_for_post"  # the post's side of the workflow, own post only
    INGEST_CABLES = "ingest_cables"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.DESK_OFFICER: frozenset(
        {
            Permission.READ,
            Permission.WRITE_DEMARCHES,
            Permission.MANAGE_TASKINGS,
            Permission.INGEST_CABLES,
        }
    ),
    Role.POST_OFFICER: frozenset(
        {Permission.READ, Permission.ACT_FOR_POST, Permission.INGEST_CABLES}
    ),
    Role.VIEWER: frozenset({Permission.READ}),
    Role.ADMINISTRATOR: frozenset(
        {Permission.READ, Permission.MANAGE_POSTS, Permission.MANAGE_USERS}
    ),
}


def allows(actor: User, permission: Permission) -> bool:
    return actor.active and permission in GRANTS.get(actor.role, frozenset())


def require(actor: User, permission: Permission, *, route: str = "") -> None:
    if not allows(actor, permission):
        raise deny(
            actor,
            f"Your role ({actor.role.value.replace('_', ' ')}) may not do this.",
            reason=f"role {actor.role.value} lacks {permission.value}",
            route=route,
        )


def deny(actor: User, detail: str, *, reason: str = "", route: str = "") -> Forbidden:
    """Log a refusal (who, where, why) and return the 403 to raise."""
    log.warning("denied user=%s route=%s reason=%s", actor.username, route or "-", reason or detail)
    return Forbidden(detail)


class Reader(NamedTuple):
    """What visibility depends on, and nothing else: a key for statements built once."""

    role: Role
    clearance: Classification
    post_id: int | None

    @classmethod
    def of(cls, actor: User) -> Reader:
        return cls(actor.role, actor.clearance, actor.post_id)


def visible_demarches(actor: User | Reader) -> ColumnElement[bool]:
    """The WHERE clause for demarches this actor may know exist."""
    levels = Classification.at_or_below(actor.clearance)
    # Cleared for every level: no test to make (and none for the planner to weigh).
    cleared = Demarche.classification.in_(levels) if len(levels) < len(Classification) else true()
    if actor.role == Role.POST_OFFICER:
        # A post sees what tasks it, once issued; never another post's drafts. An alias,
        # so that inside a query over taskings this never correlates to the outer one.
        mine = aliased(Tasking)
        tasks_my_post = exists(
            select(mine.id).where(mine.demarche_id == Demarche.id, mine.post_id == actor.post_id)
        )
        return and_(cleared, Demarche.status != DemarcheStatus.DRAFT, tasks_my_post)
    return and_(cleared, true())


def sees_every_demarche(actor: User | Reader) -> bool:
    """visible_demarches(actor) lets every row through: callers may skip it."""
    cleared_for_all = len(Classification.at_or_below(actor.clearance)) == len(Classification)
    return actor.role != Role.POST_OFFICER and cleared_for_all


def visible_taskings(actor: User | Reader) -> ColumnElement[bool]:
    """Taskings of visible demarches; a post officer sees only their own post's.

    A correlated EXISTS on the tasking's own demarche: a key lookup per tasking,
    where an IN over every visible demarche made the database read them all.
    """
    if sees_every_demarche(actor):
        return own_post_only(actor)  # every tasking has its demarche (a foreign key)
    clause = exists(
        select(Demarche.id)
        .where(Demarche.id == Tasking.demarche_id, visible_demarches(actor))
        # Its own demarches, even inside a query that joins demarches too.
        .correlate_except(Demarche)
    )
    return and_(clause, own_post_only(actor))


def own_post_only(actor: User | Reader) -> ColumnElement[bool]:
    """A post officer's restriction alone, for queries whose demarches are already visible."""
    return Tasking.post_id == actor.post_id if actor.role == Role.POST_OFFICER else true()


def sees_other_posts(actor: User | Reader) -> bool:
    """Whether this reader sees the work of every post tasked with a demarche.

    What a post may know of the other posts: a post officer reads a demarche that tasks
    its post as the cable it received, its text and its addressees, so every target's
    post, host country, role and due date (DemarcheOut.targets, the targets in the
    create and amend snapshots). Of the other posts' work it knows nothing: not their
    taskings' states, reasons, deliveries, responses or commitments, nor the events that
    record them, nor any count or roll-up made of them ("3 of 7 delivered"): its lists,
    progress bars and charts show its own taskings' state, and say so. Every query keeps
    to that through own_post_only (visible_taskings, visible_events). The desk, viewers
    and administrators see every post's work.
    """
    return actor.role != Role.POST_OFFICER


def visible_events(actor: User | Reader) -> ColumnElement[bool]:
    """Of a visible demarche's audit events, those this reader may see: a post sees its
    own records and the desk's, never another post's. A report filed for no post (its
    sender unknown) is the desk's to sort out, not every tasked post's to read."""
    if actor.role == Role.POST_OFFICER:
        return or_(
            AuditEvent.post_id == actor.post_id,
            and_(AuditEvent.post_id.is_(None), AuditEvent.entity != "cable_reply"),
        )
    return true()


# -- who may act on a tasking -----------------------------------------------------------


class Side(enum.StrEnum):
    """Who moves a tasking: the post it belongs to, the desk that issued it, or the
    demarche itself (cancelled, closed or amended, it takes taskings back or revives them)."""

    POST = "post"
    DESK = "desk"
    DEMARCHE = "demarche"


def side_for(actor: User, post_id: int) -> Side | None:
    """Which side of a tasking's workflow this actor may move, for a tasking of this post."""
    if allows(actor, Permission.ACT_FOR_POST) and actor.post_id == post_id:
        return Side.POST
    if allows(actor, Permission.MANAGE_TASKINGS):
        return Side.DESK
    return None


def require_side(actor: User, post_id: int, expected: Side, doing: str) -> None:
    """403 unless this actor is on the expected side of a tasking of this post."""
    if side_for(actor, post_id) != expected:
        who = "the tasked post" if expected == Side.POST else "the desk"
        raise deny(actor, f"Only {who} may {doing} this tasking.")


def require_follow_up(actor: User, post_id: int) -> Side:
    """Responses and commitments are followed up by the tasked post or the desk."""
    side = side_for(actor, post_id)
    if side is None:
        raise deny(actor, "Only the tasked post or the desk may follow this up.")
    return side


def has_inbox(actor: User) -> bool:
    """A post's officer has the post's inbox and its tasking pages."""
    return allows(actor, Permission.ACT_FOR_POST) and actor.post_id is not None


def has_reply_import(actor: User) -> bool:
    """A post files its reply cables from a page of their own; the desk's import page
    (instructions and replies) is for those who write demarches."""
    return allows(actor, Permission.INGEST_CABLES) and not allows(actor, Permission.WRITE_DEMARCHES)


def require_post_officer(actor: User, *, route: str = "") -> None:
    """The inbox and its tasking pages are a post's: a role that never has one is refused
    before any lookup, so the answer is the same for every id."""
    if not has_inbox(actor):
        raise deny(
            actor,
            "The inbox lists what a post must do; it is for post officers. "
            "Desk officers follow taskings from each demarche's page and the overdue board.",
            reason="inbox without a post",
            route=route,
        )


# -- withholding ------------------------------------------------------------------------


def may_read_portion(actor: User | Reader, marking: Classification) -> bool:
    return marking <= actor.clearance


def withhold(
    actor: User | Reader, portions: Iterable[P], marking: Callable[[P], Classification]
) -> tuple[list[P], list[P]]:
    """The one withholding rule: of these marked portions (points, paragraphs, dates),
    those this reader may read and those withheld from them, each in the given order.
    Every reader that shows a portion goes through here."""
    readable: list[P] = []
    withheld: list[P] = []
    for portion in portions:
        (readable if may_read_portion(actor, marking(portion)) else withheld).append(portion)
    return readable, withheld


# -- cables ------------------------------------------------------------------------------
# Cables and their replies: who may know a cable exists, and who may review a reply.


def classification_rank() -> ColumnElement[int]:
    """Cable.classification (free text) as a clearance rank, in SQL.

    Mirrors app.classification.from_marking: anything naming a higher level wins,
    so a caveat or a damaged banner never lowers protection. Test_ingest checks
    that both agree on the markings the corpus uses.
    """

    m = func.upper(func.trim(func.coalesce(Cable.classification, "")))
    secret = Classification.SECRET.rank
    conf = Classification.CONFIDENTIAL.rank
    sbu = Classification.SBU.rank
    return case(
        (m.in_(["S", "(S)"]), secret),
        (m.in_(["C", "(C)"]), conf),
        (m.in_(["SBU", "(SBU)", "U//FOUO"]), sbu),
        (m.in_(["U", "(U)"]), Classification.UNCLASSIFIED.rank),
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
        else_=Classification.UNCLASSIFIED.rank,
    )


def visible_cables(actor: User | Reader) -> ColumnElement[bool]:
    """The WHERE clause for cables this actor may know exist.

    Above the reader's clearance: invisible. A post officer sees only what their
    post sent, by the sender recorded when it was filed (never its FM line, which
    anyone can write), and the cables that are the source of a demarche visible to
    them; never another post's report, whatever demarche it answers.
    """
    cleared = classification_rank() <= actor.clearance.rank
    if actor.role != Role.POST_OFFICER:
        return and_(cleared, true())
    sent_by_my_post = Cable.post_id == actor.post_id
    sources = Cable.id.in_(
        select(Demarche.source_cable_id).where(
            Demarche.source_cable_id.is_not(None), visible_demarches(actor)
        )
    )
    return and_(cleared, or_(sent_by_my_post, sources))


def visible_replies(actor: User | Reader) -> ColumnElement[bool]:
    """The WHERE clause for cable replies: visible when the reader may see its cable and
    what it was matched to. A reply names its demarche and tasking: one that points at
    a record the reader may not see is not theirs to see either."""
    mine = aliased(Tasking)
    matched_to_visible = or_(
        CableReply.tasking_id.is_(None),
        exists(
            select(mine.id).where(
                mine.id == CableReply.tasking_id,
                exists(
                    select(Demarche.id).where(
                        Demarche.id == mine.demarche_id, visible_demarches(actor)
                    )
                ),
                mine.post_id == actor.post_id if actor.role == Role.POST_OFFICER else true(),
            )
        ),
    )
    answers_visible = or_(
        CableReply.demarche_id.is_(None),
        exists(
            select(Demarche.id).where(
                Demarche.id == CableReply.demarche_id, visible_demarches(actor)
            )
        ),
    )
    return and_(
        CableReply.cable_id.in_(select(Cable.id).where(visible_cables(actor))),
        matched_to_visible,
        answers_visible,
    )


def filing_post(actor: User) -> tuple[bool, int | None]:
    """Whose a cable this actor files is: (bound, post). A post officer's upload is their
    own post's whatever its FM line says (bound); the desk may file for any post, as
    the header names it, and that is a transcription."""
    if allows(actor, Permission.ACT_FOR_POST):
        return True, actor.post_id
    return False, None


def may_review_reply(actor: User, tasking_post_id: int | None) -> bool:
    """Who may confirm or reject a cable reply: whoever may act for its tasking (the
    tasked post or the desk: side_for), and for a reply matched to none, the desk."""
    if tasking_post_id is None:
        return allows(actor, Permission.MANAGE_TASKINGS)
    return side_for(actor, tasking_post_id) is not None


def may_match_reply_by_hand(actor: User) -> bool:
    """Only the desk attaches a reply to a tasking by hand."""
    return allows(actor, Permission.MANAGE_TASKINGS)


# -- administrators ----------------------------------------------------------------------
# Who may change whose access: nobody their own, and nobody grants more than they hold.


class Access(NamedTuple):
    """What an account may reach: the fields only an administrator changes, and audits."""

    role: Role
    clearance: Classification
    post: str | None  # the post's code
    active: bool

    def changed(self, other: Access) -> list[str]:
        return [f for f in self._fields if getattr(self, f) != getattr(other, f)]


def require_may_grant(actor: User, clearance: Classification) -> None:
    """An administrator gives an account at most their own clearance: an account they
    create is one they could sign in with."""
    if clearance > actor.clearance:
        raise deny(
            actor,
            f"You may grant at most your own clearance ({actor.clearance.value}); an "
            f"account cleared {clearance.value} needs an administrator cleared for it.",
            reason=f"grant {clearance.value} above own {actor.clearance.value}",
        )


def require_may_change_access(actor: User, target: User, now: Access, asked: Access) -> None:
    """Refuse a change of the target's access from `now` to `asked` that is the actor's
    own, or that grants above the actor's clearance.

    Nobody changes their own role, clearance or post, nor deactivates themselves:
    another administrator must. What grants (a higher clearance, another role or post,
    reactivation) may leave the account cleared no higher than the actor; what only
    takes away (lowering a clearance, deactivating) may be done to anyone.
    """
    changed = now.changed(asked)
    if not changed:
        return
    if target.id == actor.id:
        raise deny(
            actor,
            "You may not change your own role, clearance or post, nor deactivate "
            "yourself; another administrator must.",
            reason=f"own {', '.join(changed)}",
        )
    grants = (
        asked.clearance > now.clearance
        or now.role != asked.role
        or now.post != asked.post
        or (asked.active and not now.active)
    )
    if grants:
        require_may_grant(actor, asked.clearance)


def require_may_take_over(actor: User, target: User) -> None:
    """Resetting a password or revoking tokens hands the account to whoever holds the new
    password: an administrator does it only to accounts cleared no higher than
    themselves, or they could sign in above their own clearance."""
    if target.clearance > actor.clearance:
        raise deny(
            actor,
            f"{target.username} is cleared {target.clearance.value}, above your own "
            f"clearance ({actor.clearance.value}): an administrator cleared for it must "
            "reset their password or tokens.",
            reason=f"take over {target.clearance.value} above own {actor.clearance.value}",
        )
