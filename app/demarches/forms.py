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

from app.auth.models import User
from app.auth.policy import visible_cables
from app.cables.models import Cable
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


# -- what the demarche forms say when a field is wrong -------------------------------

SAID = {
    "subject": "Give the demarche a subject of at least 3 characters.",
    "subject.string_too_long": "Keep the subject to 300 characters or fewer.",
    "summary.string_too_long": "Keep the summary to 20,000 characters or fewer.",
    "summary_classification": "Choose the summary's portion mark.",
    "classification": "Choose the demarche's classification.",
    "precedence": "Choose a precedence, from ROUTINE to FLASH.",
    "deadline": "Give the deadline as a date, YYYY-MM-DD.",
    "delivery_level": "Keep the delivery level to 200 characters or fewer.",
    "tags.too_long": "Give at most 30 tags.",
    "objectives.item": "Objective",
    "objectives.too_long": "Give at most 50 objectives.",
    "talking_points.item": "Point",
    "talking_points.too_long": "Give at most 200 talking points.",
    "key_dates.item": "Key date",
    "key_dates.too_long": "Give at most 50 key dates.",
    "targets.item": "Target",
    "targets.too_long": "Give at most 400 target posts.",
}

# A portion's mark as a form writes it before its text: "(C) ..."
ABBREVIATION = {
    Classification.UNCLASSIFIED: "U",
    Classification.SBU: "SBU",
    Classification.CONFIDENTIAL: "C",
    Classification.SECRET: "S",
}


def tags(text: str) -> list[str]:
    return [t for t in re.split(r"[\s,;]+", text) if t]


def level_of(value: str) -> Classification | None:
    """A classification chosen in a select ("" or an unknown value: none)."""
    return next((c for c in Classification if c.value == value), None)


def objective_lines(objectives: list[Any]) -> str:
    """A sheet's objectives as the form's lines, each with its mark."""
    return "\n".join(f"({ABBREVIATION[o.classification]}) {o.text}" for o in objectives)


def key_date_lines(key_dates: list[Any]) -> str:
    return "\n".join(
        f"{k.on.isoformat()} ({ABBREVIATION[k.classification]}) {k.what}" for k in key_dates
    )


def point_rows(texts: list[str], marks: list[str], uses: list[str]) -> list[dict[str, str]]:
    """The talking-point rows as typed (text, mark, use), in order."""
    n = max(len(texts), len(marks), len(uses))

    def at(values: list[str], i: int) -> str:
        return values[i] if i < len(values) else ""

    return [{"text": at(texts, i), "mark": at(marks, i), "use": at(uses, i)} for i in range(n)]


def points_from_rows(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The points the rows hold (an emptied text removes its point); a mark left blank
    takes the demarche's level, as an unmarked portion does."""
    return [
        {"text": r["text"], "classification": level_of(r["mark"]), "use": r["use"] or "private"}
        for r in rows
        if r["text"].strip()
    ]


def target_rows(
    posts: list[str], roles: list[str], dues: list[str], countries: list[str], removed: set[str]
) -> list[dict[str, Any]]:
    """The target rows as typed: post, role, own due date, the countries it covers."""

    def at(values: list[str], i: int) -> str:
        return values[i] if i < len(values) else ""

    return [
        {
            "post": code,
            "role": at(roles, i),
            "due": at(dues, i),
            "countries": at(countries, i),
            "removed": str(i) in removed,
        }
        for i, code in enumerate(posts)
    ]


def targets_from_rows(
    rows: list[dict[str, Any]], added: list[str], added_role: str
) -> list[dict[str, Any]]:
    """The targets the rows and the posts added make (a ticked "remove" drops its row)."""
    out = [
        {
            "post": r["post"],
            "role": r["role"] or "action",
            "due_date": r["due"] or None,
            "countries": [c.strip() for c in r["countries"].split(",") if c.strip()] or None,
        }
        for r in rows
        if not r["removed"]
    ]
    have = {r["post"].upper() for r in rows if not r["removed"]}
    out += [{"post": c, "role": added_role or "action"} for c in added if c.upper() not in have]
    return out


def rows_of_targets(targets: list[Any]) -> list[dict[str, Any]]:
    """A sheet's targets as the form's rows: one per post, role and due date, naming every
    country that post covers on those terms ("Suva for Fiji, Nauru, Tonga")."""
    rows: list[dict[str, Any]] = []
    index: dict[tuple[str, str, str], dict[str, Any]] = {}
    for t in targets:
        due = t.due_date.isoformat() if t.due_date else ""
        key = (t.post_code, t.role.value, due)
        if key in index:
            index[key]["countries"] += f", {t.country}"
            continue
        row = {
            "post": t.post_code,
            "name": t.post_name,
            "role": t.role.value,
            "due": due,
            "countries": t.country,
            "removed": False,
        }
        index[key] = row
        rows.append(row)
    return rows


def source_cable(session: Session, ref: str, *, actor: User) -> tuple[int | None, str | None]:
    """The id of the cable a form names by its reference ("07STATE166909"), if the officer
    may read it; else the error to show beside the field (a hidden cable reads as none)."""
    ref = ref.strip().upper()
    if not ref:
        return None, None
    # Copies of one reference number are stored apart (app/cables/models.py): the newest.
    found = session.scalar(
        select(Cable.id)
        .where(Cable.ref_id == ref, visible_cables(actor))
        .order_by(Cable.id.desc())
        .limit(1)
    )
    if found is None:
        return None, (
            f"There is no cable {ref} that you may read: give the reference of one you can open."
        )
    return found, None


def cable_ref(session: Session, cable_id: int | None, *, actor: User) -> str:
    """The reference of a demarche's source cable, as far as the officer may read it."""
    if cable_id is None:
        return ""
    ref = session.scalar(select(Cable.ref_id).where(Cable.id == cable_id, visible_cables(actor)))
    return ref or ""
