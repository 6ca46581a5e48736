"""Who may do what, in one place.

Two kinds of rule live here:
- permissions by role (`require`), for actions such as issuing a demarche;
- visibility (`visible_demarches`), a SQL filter that every list, count,
  dashboard, search and export uses, so they cannot drift apart. A demarche
  the reader may not see answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

import enum
import logging
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, exists, select, true
from sqlalchemy.orm import aliased

from app.auth.models import Role, User
from app.classification import Classification
from app.demarches.models import Demarche, DemarcheStatus
from app.errors import Forbidden

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
    from app.taskings.models import Tasking  # taskings depend on demarches, not the reverse

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


def may_read_portion(actor: User, marking: Classification) -> bool:
    return marking <= actor.clearance


# -- cables
# Cables and their replies: who may know a cable exists, and who may review a reply.
# Imported where used, so the policy keeps to the models it needs and loads before them.


def classification_rank() -> ColumnElement[int]:
    """Cable.classification (free text) as a clearance rank, in SQL.

    Mirrors app.classification.from_marking: anything naming a higher level wins,
    so a caveat or a damaged banner never lowers protection. Test_ingest checks
    that both agree on the markings the corpus uses.
    """
    from sqlalchemy import case, func, or_

    from app.cables.models import Cable

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


def visible_cables(actor: User) -> ColumnElement[bool]:
    """The WHERE clause for cables this actor may know exist.

    Above the reader's clearance: invisible. A post officer sees only what their
    post sent (by originator, or a report matched to one of its taskings) and
    the cables that are the source of a demarche visible to them.
    """
    from sqlalchemy import func, or_

    from app.cables.models import Cable, CableReply
    from app.posts.models import Post
    from app.taskings.models import Tasking

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


def visible_replies(actor: User) -> ColumnElement[bool]:
    """The WHERE clause for cable replies: a reply is visible when its cable is."""
    from app.cables.models import Cable, CableReply

    return CableReply.cable_id.in_(select(Cable.id).where(visible_cables(actor)))


def may_review_reply(actor: User, tasking_post_id: int | None) -> bool:
    """The tasked post (its own reply) or the desk may confirm or reject a cable reply.

    `tasking_post_id` is the post of the tasking the reply is matched to, None if unmatched.
    """
    own_post = (
        tasking_post_id is not None
        and allows(actor, Permission.ACT_FOR_POST)
        and actor.post_id == tasking_post_id
    )
    return own_post or allows(actor, Permission.MANAGE_TASKINGS)


def may_match_reply_by_hand(actor: User) -> bool:
    """Only the desk attaches a reply to a tasking by hand."""
    return allows(actor, Permission.MANAGE_TASKINGS)
