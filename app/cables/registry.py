"""The post registry as cables name it: senders, addressees and collectives.

One resolution for every ingest path: a single cable (API or import page) and a
bulk import read the sender and the addressees through the same Registry, so
they always agree on which post a cable names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demarches.schemas import TargetIn
from app.posts.models import Collective, Post
from app.posts.reads import members_on
from app.vocabulary import TaskingRole

from .parser import ParsedCable
from .schemas import Unresolved

_PREFIX = re.compile(
    r"^(?:AMEMBASSY|AMEMB|AMCONSUL(?:ATE)?|AMCONGEN|USMISSION|USDEL|USLO|USOFFICE|"
    r"AMERICAN EMBASSY|EMBASSY|CONSULATE)\s+"
)


def normalise(name: str) -> str:
    """'AMEMBASSY SAN JOSE', 'San Jose' and 'AMEMBASSY PORT-AU-PRINCE' read 'SAN JOSE' and
    'PORT AU PRINCE': upper case, punctuation as spaces, the post-kind prefix dropped."""
    flat = " ".join(re.sub(r"[^A-Z0-9 ]", " ", name.upper()).split())
    return _PREFIX.sub("", flat)


def _collective_key(name: str) -> str:
    return re.sub(r"\s+COLLECTIVE$", "", normalise(name))


@dataclass
class Registry:
    """The post registry indexed the ways cables name posts and collectives."""

    by_id: dict[int, Post] = field(default_factory=dict)
    by_routing: dict[str, Post] = field(default_factory=dict)
    by_name: dict[str, Post] = field(default_factory=dict)
    by_city: dict[str, list[Post]] = field(default_factory=lambda: defaultdict(list))
    collectives_by_routing: dict[str, Collective] = field(default_factory=dict)
    collectives_by_name: dict[str, Collective] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Registry:
        reg = cls()
        for p in session.scalars(select(Post)):
            reg.by_id[p.id] = p
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
        """By routing indicator, then name or code, then city."""
        if routing and routing.upper() in self.by_routing:
            return self.by_routing[routing.upper()]
        key = normalise(name)
        if key in self.by_name:
            return self.by_name[key]
        cities = self.by_city.get(key, [])
        # A city alone names a post only when one post sits there.
        return cities[0] if len(cities) == 1 else None

    def sender(self, parsed: ParsedCable, routing: str | None) -> Post | None:
        """The post that sent a cable: its FM line, or the DE line's routing indicator."""
        return self.post(parsed.originator or "", routing)

    def collective(self, name: str, routing: str | None = None) -> Collective | None:
        if routing and routing.upper() in self.collectives_by_routing:
            return self.collectives_by_routing[routing.upper()]
        return self.collectives_by_name.get(_collective_key(name))


@dataclass
class Excluded:
    post: Post
    said: str  # the name as the cable's prose wrote it


@dataclass
class CollectiveResolution:
    """A collective a cable addressed, as resolved for the officer to confirm: its
    members on the cable's date, and those the prose took out."""

    collective: Collective
    role: TaskingRole
    on: date
    members: list[Post]
    tasked: list[Post]
    excluded: list[Excluded]


@dataclass
class Resolved:
    targets: list[TargetIn]
    unresolved: list[Unresolved]
    collectives: list[CollectiveResolution] = field(default_factory=list)


def cable_day(parsed: ParsedCable) -> date | None:
    """The cable's date, from its date-time group ("2007-12-14T01:53:00Z")."""
    try:
        return date.fromisoformat(parsed.dtg[:10]) if parsed.dtg else None
    except ValueError:
        return None


def _is_named(post: Post, name: str) -> bool:
    """Whether prose's name for a post ("Beijing", "Embassy Warsaw", "Poland") names it."""
    key = normalise(name)
    return key != "" and key in {
        normalise(post.name),
        normalise(post.code),
        normalise(post.city),
        normalise(post.country),
    }


def resolve_addressees(session: Session, parsed: ParsedCable, *, on: date) -> Resolved:
    """Action and info addressees as target posts; what the registry lacks, listed.

    A collective stands for its members on `on`, the cable's date (the Security Council
    of December 2007, not today's), less the posts the prose excludes ("(except
    Beijing)"). An exclusion applies to the members a collective brings, never to a post
    the address lines name themselves."""
    reg = Registry.load(session)
    roles: dict[int, tuple[Post, TaskingRole]] = {}
    through_collectives: list[tuple[Post, TaskingRole]] = []
    resolutions: list[CollectiveResolution] = []
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
                members = members_on(session, collective, on)
                excluded: list[Excluded] = []
                for p in members:
                    said = next((n for n in parsed.excluded if _is_named(p, n)), None)
                    if said is not None:
                        excluded.append(Excluded(p, said))
                out = {e.post.id for e in excluded}
                tasked = [p for p in members if p.id not in out]
                through_collectives.extend((p, role) for p in tasked)
                resolutions.append(
                    CollectiveResolution(collective, role, on, members, tasked, excluded)
                )
                if not members:
                    unresolved.append(
                        Unresolved(
                            name=a.name,
                            routing=a.routing,
                            role=role,
                            reason=f"the collective had no members on {on.isoformat()}",
                        )
                    )
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
    for post, role in through_collectives:
        put(post, role)
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
    return Resolved(targets, unresolved, resolutions)
