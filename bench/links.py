"""Reply -> instruction links recovered on real cables, fed through the app's own services
in date order as a desk would, and the parser's kind per hand-checked kind.

A fresh SQLite database; the posts every cable names (senders, action and info
addressees) registered first, as the desk's registry holds them. Then, cable by cable in
date order: each is ingested as the desk's upload; an instruction is drafted into a
demarche and issued to its targets (on its own date: a deadline the cable lacks, or
talking points it does not give, filled in the way the desk would before issuing); a
report is filed against what it answers as it lands.

A link is a report citing, in its REF, an instruction of the set (MANIFEST's hand-checked
kind and refs_cited). Recovered: the report's reply is matched to a tasking of the demarche
drafted from that instruction. Invented: matched to any other demarche.

Run: python bench/links.py [--mirror DIR]  (DIR: an unpacked mirror-dev/, whose META.tsv
has no kind: there a candidate link is a post's cable whose REF cites a STATE cable of the
set that reads as an instruction; its figures check generality, not truth). Prints figures.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import app.models  # noqa: E402,F401
from app.auth.models import Role  # noqa: E402
from app.auth.service import add_user  # noqa: E402
from app.cables import drafting, ingest, matching  # noqa: E402
from app.cables.models import Cable, CableReply, ReplyStatus  # noqa: E402
from app.cables.parser import ParsedCable, parse_cable  # noqa: E402
from app.cables.registry import normalise  # noqa: E402
from app.classification import Classification  # noqa: E402
from app.db import Base, make_engine, make_sessionmaker  # noqa: E402
from app.demarches import service as demarches  # noqa: E402
from app.demarches.models import Demarche, Objective, PointUse, TalkingPoint  # noqa: E402
from app.errors import DomainError  # noqa: E402
from app.posts.models import Post, PostKind, Region  # noqa: E402

CABLES = (REPO / ".." / "shared" / "cables").resolve()


@dataclass
class Item:
    ref_id: str
    text: str
    parsed: ParsedCable
    kind: str | None  # hand-checked kind, when known
    refs: tuple[str, ...]  # hand-checked refs, when known (else the parser's)
    day: date | None


@dataclass
class Outcome:
    links: set[tuple[str, str]] = field(default_factory=set)
    recovered: set[tuple[str, str]] = field(default_factory=set)
    invented: set[tuple[str, str]] = field(default_factory=set)
    missed: dict[tuple[str, str], str] = field(default_factory=dict)
    issued: dict[str, str] = field(default_factory=dict)  # instruction -> "issued" or why not


def manifest_items(folder: Path) -> list[Item]:
    with (folder / "MANIFEST.tsv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    out = []
    for r in rows:
        text = (folder / r["file"]).read_bytes().decode("utf-8", errors="replace")
        parsed = parse_cable(text)
        out.append(
            Item(
                r["ref_id"] or (parsed.ref_id or r["file"]),
                text,
                parsed,
                r["kind"],
                tuple(r["refs_cited"].split()),
                _day(r["dtg"]) or _day(parsed.dtg),
            )
        )
    return out


def mirror_items(folder: Path) -> list[Item]:
    with (folder / "META.tsv").open(encoding="utf-8", newline="") as fh:
        meta = {r["ref_id"]: r for r in csv.DictReader(fh, delimiter="\t")}
    out = []
    for ref_id, r in meta.items():
        path = folder / f"{ref_id}.txt"
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        parsed = parse_cable(text)
        refs = tuple(x.ref_id for x in parsed.references if x.ref_id)
        out.append(Item(ref_id, text, parsed, None, refs, _day(parsed.dtg) or _day(r["created"])))
    return out


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def truth_links(items: list[Item]) -> set[tuple[str, str]]:
    """(report, instruction) pairs: hand-checked kinds where known, else the parser's
    reading of the instruction and a STATE citation by a post's cable."""
    if all(i.kind is not None for i in items):
        instructions = {i.ref_id for i in items if i.kind == "instruction"}
        return {
            (i.ref_id, r) for i in items if i.kind == "report" for r in i.refs if r in instructions
        }
    instructions = {i.ref_id for i in items if i.parsed.kind == "instruction"}
    return {
        (i.ref_id, r)
        for i in items
        if "STATE" not in i.ref_id[2:7]
        for r in i.refs
        if r in instructions
    }


# -- the registry, as the desk holds it ----------------------------------------------

# The registry knows each post's country; the cables do not say it. Posts that share one
# in these corpora (an embassy and its consulates); every other post is its city's own.
COUNTRY = {
    **dict.fromkeys(("BRASILIA", "SAO PAULO", "RIO DE JANEIRO", "RECIFE"), "Brazil"),
    **dict.fromkeys(("ROME", "MILAN", "NAPLES", "FLORENCE"), "Italy"),
    **dict.fromkeys(("OTTAWA", "QUEBEC", "MONTREAL", "TORONTO", "VANCOUVER"), "Canada"),
    **dict.fromkeys(("MEXICO", "MONTERREY", "TIJUANA", "GUADALAJARA"), "Mexico"),
    **dict.fromkeys(("ANKARA", "ISTANBUL", "ADANA"), "Turkey"),
}


def register_posts(session, items: list[Item]) -> None:
    """Every post a cable names: its sender, and its action and info addressees."""
    seen: dict[str, Post] = {}
    routings: set[str] = set()
    codes: set[str] = set()

    def add(name: str, routing: str | None) -> None:
        key = normalise(name)
        if not key or "COLLECTIVE" in key or key.startswith(("SECSTATE", "STATE ")):
            return
        if key in seen:
            post = seen[key]
            if routing and post.routing_indicator is None and routing not in routings:
                post.routing_indicator = routing
                routings.add(routing)
            return
        code = re.sub(r"[^A-Z0-9]", "", key)[:24] or "POST"
        base, n = code, 1
        while code in codes:
            n += 1
            code = f"{base}{n}"
        codes.add(code)
        ok_routing = (
            routing
            if routing and re.fullmatch(r"[A-Z]{4,8}", routing) and routing not in routings
            else None
        )
        if ok_routing:
            routings.add(ok_routing)
        post = Post(
            code=code,
            name=name.upper()[:120],
            kind=PostKind.CONSULATE if name.upper().startswith("AMCONSUL") else PostKind.EMBASSY,
            city=key.title()[:80],
            country=COUNTRY.get(key, key.title())[:80],
            routing_indicator=ok_routing,
            region=Region.EUR,
        )
        session.add(post)
        seen[key] = post

    for i in items:
        p = i.parsed
        if p.originator and not p.originator.upper().startswith("SECSTATE"):
            add(p.originator, None)
        for a in (*p.action_addressees, *p.info_addressees):
            add(a.name, a.routing)
    session.flush()


# -- the desk's day ---------------------------------------------------------------------


def issue_instruction(session, cable: Cable, day: date, desk) -> str:
    try:
        drafted = drafting.draft_demarche(session, cable, actor=desk)
    except DomainError as exc:
        return f"not drafted: {exc}"
    d: Demarche = drafted.demarche
    # What the desk fills in before issuing when the cable does not say it.
    if d.deadline is None or d.deadline < day:
        # A month, but never after the last event the demarche prepares.
        upcoming = [k.on for k in d.key_dates if k.on >= day]
        d.deadline = min([day + timedelta(days=30), *([max(upcoming)] if upcoming else [])])
    # (the completeness check wants an objective, a point and a level before issuing).
    if not d.talking_points:
        d.talking_points.append(
            TalkingPoint(
                position=1,
                text="Deliver the points of the instruction.",
                classification=Classification.UNCLASSIFIED,
                use=PointUse.PRIVATE,
            )
        )
    if not d.objectives:
        d.objectives.append(
            Objective(
                position=1,
                text="Obtain the host government's response.",
                classification=Classification.UNCLASSIFIED,
            )
        )
    d.delivery_level = d.delivery_level or "highest appropriate level"
    session.flush()
    try:
        demarches.issue(session, d, actor=desk, today=day)
    except DomainError as exc:
        return f"not issued: {exc}"
    # As the issue route does: what came in before it was issued is matched now.
    if hasattr(matching, "rematch_demarche"):
        matching.rematch_demarche(session, d, actor=desk)
    return "issued"


def run(
    items: list[Item], *, reports_first: bool = False
) -> tuple[Outcome, dict[str, CableReply | None], dict[int, str]]:
    tmp = tempfile.mkdtemp(prefix="links-")
    engine = make_engine(f"sqlite:///{tmp}/links.db")
    Base.metadata.create_all(engine)
    out = Outcome(links=truth_links(items))
    replies: dict[str, CableReply | None] = {}
    source_of: dict[int, str] = {}
    with make_sessionmaker(engine)() as session:
        desk = add_user(
            session,
            username="desk",
            full_name="Bench Desk",
            role=Role.DESK_OFFICER,
            clearance=Classification.SECRET,
        )
        register_posts(session, items)
        session.commit()
        cable_of: dict[str, Cable] = {}
        order = sorted(items, key=lambda i: (i.day or date.min, i.ref_id))
        if reports_first:
            # The worst order: every post's cable before any instruction is issued.
            order.sort(key=lambda i: i.parsed.kind == "instruction")
        for item in order:
            try:
                got = ingest.ingest_parsed(session, item.text, item.parsed, actor=desk)
            except DomainError as exc:
                out.issued[item.ref_id] = f"not ingested: {exc}"
                session.rollback()
                continue
            cable_of[item.ref_id] = got.cable
            if got.created and got.cable.kind.value == "instruction":
                with session.begin_nested():
                    out.issued[item.ref_id] = issue_instruction(
                        session, got.cable, item.day or date.today(), desk
                    )
            session.commit()
        for d_id, ref in session.execute(
            Demarche.__table__.select()
            .with_only_columns(Demarche.id, Cable.ref_id)
            .join_from(Demarche.__table__, Cable.__table__, Cable.id == Demarche.source_cable_id)
        ):
            source_of[d_id] = ref
        for ref, cable in cable_of.items():
            reply = session.query(CableReply).filter_by(cable_id=cable.id).one_or_none()
            replies[ref] = reply
            if reply is not None and reply.status == ReplyStatus.MATCHED and reply.demarche_id:
                pair = (ref, source_of.get(reply.demarche_id, "?"))
                (out.recovered if pair in out.links else out.invented).add(pair)
        by_ref = {i.ref_id: i for i in items}
        for pair in sorted(out.links - out.recovered):
            out.missed[pair] = diagnose(pair, by_ref, replies, out.issued)
        session.expunge_all()
    engine.dispose()
    return out, replies, source_of


def diagnose(pair, by_ref, replies, issued) -> str:
    report, instruction = pair
    r, i = by_ref[report], by_ref[instruction]
    if i.parsed.kind != "instruction":
        return f"instruction read as {i.parsed.kind}"
    if not issued.get(instruction, "").startswith("issued"):
        return f"instruction {issued.get(instruction, 'never issued')}"[:160]
    if r.parsed.kind != "report":
        return f"report read as {r.parsed.kind}"
    if instruction not in {x.ref_id for x in r.parsed.references}:
        return "REF misparsed (instruction not among the parsed refs)"
    reply = replies.get(report)
    if reply is None:
        return "no reply filed"
    if r.day and i.day and r.day < i.day:
        return "report dated before its instruction"
    return f"unmatched: {reply.note or reply.status}"[:160]


def kind_accuracy(items: list[Item]) -> None:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for i in items:
        if i.kind:
            per[i.kind][i.parsed.kind] += 1
    total = sum(sum(c.values()) for c in per.values())
    right = sum(c[k] for k, c in per.items())
    if not total:
        return
    print(f"kind: {right}/{total} = {100 * right / total:.1f} %")
    for k in sorted(per):
        c = per[k]
        n = sum(c.values())
        wrong = ", ".join(f"{v} as {w}" for w, v in c.items() if w != k)
        print(
            f"  {k:12} {c[k]}/{n} = {100 * c[k] / n:.1f} %" + (f"  (read {wrong})" if wrong else "")
        )
    for i in items:
        if i.kind and i.kind != i.parsed.kind:
            print(f"    {i.ref_id}: {i.kind} read as {i.parsed.kind}")


def report(name: str, items: list[Item], *, reports_first: bool = False) -> Outcome:
    out, _, _ = run(items, reports_first=reports_first)
    n = len(out.links)
    print(f"== {name}: {len(items)} cables")
    kind_accuracy(items)
    print(f"parser kinds: {dict(Counter(i.parsed.kind for i in items))}")
    issued = Counter(v.split(":")[0] for v in out.issued.values())
    print(f"instructions: {dict(issued)}")
    pct = 100 * len(out.recovered) / n if n else 100.0
    print(f"links: {len(out.recovered)}/{n} recovered ({pct:.1f} %), {len(out.invented)} invented")
    for pair, why in sorted(out.missed.items()):
        print(f"  missed {pair[0]} -> {pair[1]}: {why}")
    for pair in sorted(out.invented):
        print(f"  invented {pair[0]} -> {pair[1]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cables", type=Path, default=CABLES)
    ap.add_argument("--mirror", type=Path, help="an unpacked mirror-dev/ folder")
    ap.add_argument(
        "--reports-first",
        action="store_true",
        help="ingest every post's cable before any instruction (matched again on issue)",
    )
    args = ap.parse_args()
    if not (args.cables / "MANIFEST.tsv").is_file():
        print(f"no MANIFEST.tsv in {args.cables}", file=sys.stderr)
        return 2
    report(str(args.cables), manifest_items(args.cables), reports_first=args.reports_first)
    if args.mirror:
        report(str(args.mirror), mirror_items(args.mirror), reports_first=args.reports_first)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
