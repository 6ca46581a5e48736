"""What the demarche pages' forms say, read into the shapes the schemas validate.

A form sends text: talking points as paragraphs (marked "(C) ..." and "[public] ..."),
objectives as lines, key dates as "YYYY-MM-DD what" lines, targets as posts, regions
and collectives. Every portion may start with its mark, "(U)", "(SBU)", "(C)" or "(S)";
one without takes the demarche's level.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.classification import Classification, from_marking
from app.demarches.models import PointUse
from app.posts.models import Collective, Post, Region
from app.posts.reads import members_on

_MARK = re.compile(r"^\((U|SBU|C|S)\)\s*", re.IGNORECASE)
_PUBLIC = re.compile(r"^\[public\]\s*", re.IGNORECASE)
_DATE_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(.+)$")


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def marked(text: str) -> tuple[Classification | None, str]:
    """A portion's own mark, if it starts with one, and its text without it."""
    if m := _MARK.match(text):
        return from_marking(m.group(1)), text[m.end() :]
    return None, text


def objectives(text: str) -> list[dict[str, Any]]:
    return [
        {"text": body, "classification": level}
        for level, body in (marked(line) for line in lines(text))
    ]


def points(text: str, default: Classification) -> list[dict[str, Any]]:
    out = []
    for para in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        para = para.strip()
        if not para:
            continue
        use = PointUse.PRIVATE
        if _PUBLIC.match(para):
            use, para = PointUse.PUBLIC, _PUBLIC.sub("", para)
        level = default
        if m := _MARK.match(para):
            level, para = from_marking(m.group(1)), _MARK.sub("", para)
        out.append({"text": para, "classification": level, "use": use})
    return out


class CollectiveChoice(NamedTuple):
    code: str
    name: str
    members: list[Post]  # today's


def choices(session: Session) -> dict[str, Any]:
    posts = list(session.scalars(select(Post).where(Post.active.is_(True)).order_by(Post.code)))
    today = date.today()
    collectives = [
        CollectiveChoice(c.code, c.name, members_on(session, c, today))
        for c in session.scalars(select(Collective).order_by(Collective.name))
    ]
    return {"all_posts": posts, "collectives": collectives, "regions": list(Region)}


def key_dates(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """Key dates from their lines ("YYYY-MM-DD (C) what"), or the error of the first line
    that is not one."""
    dates: list[dict[str, Any]] = []
    for line in lines(text):
        m = _DATE_LINE.match(line)
        if not m:
            return dates, f"Write each key date as YYYY-MM-DD and what happens: {line!r}"
        level, what = marked(m.group(2))
        dates.append({"date": m.group(1), "what": what, "classification": level})
    return dates, None


def expand_targets(
    session: Session, posts: list[str], regions: list[str], collectives: list[str]
) -> list[str]:
    """Post codes from the posts chosen by name, by region and by collective, deduplicated."""
    codes = [p.upper() for p in posts if p]
    wanted_regions = [r for r in Region if r.value in regions]
    if wanted_regions:
        codes += session.scalars(
            select(Post.code)
            .where(Post.region.in_(wanted_regions), Post.active.is_(True))
            .order_by(Post.code)
        )
    if collectives:
        today = date.today()  # a demarche written now goes to today's members
        for c in session.scalars(select(Collective).where(Collective.code.in_(collectives))):
            codes += [p.code for p in members_on(session, c, today)]
    return list(dict.fromkeys(codes))
