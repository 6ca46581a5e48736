"""REF block: split lettered items and resolve cable citations to canonical ids."""

from __future__ import annotations

import re

from ._dates import full_year
from ._model import Reference
from ._text import fold

# Where the REF block starts: "REF:", "REFS:", "REF.", "Ref: a.", "REFTEL:", "REFERENCE:".
_REF_START = re.compile(r"(?<![A-Za-z])(?:REFS?|REFTELS?|REFERENCES?)\b *[:.]? *", re.IGNORECASE)
# What ends it: the Classified By line, the first paragraph, a summary heading.
_REF_END = re.compile(
    r"(?:\(U\) *)?\bCLASSIFIED +BY\b|¶ ?1\b|^[ \t]*1[.,] |^[ \t]*1\.\(|\bSUMMARY\b|^[ \t]*-{4,}",
    re.IGNORECASE | re.MULTILINE,
)
# Item labels: "A.", "¶B.", "A)", "(A)", "A. )", "a." (letter then "." or ")").
_LABEL = re.compile(
    r"(?:(?<=[\s,;:])|^)(?:¶ ?)?\(?([A-Za-z])(?: ?\.(?: ?\))?| ?\))(?= *\S)(?! ?[A-Za-z]\.)"
)
# A cable citation: optional year, post name of 1-4 words, serial.
_CITATION = re.compile(
    r"^(?:(?P<year>\d{4}|\d{2}) *)?(?P<place>[A-Za-z][A-Za-z'.]*(?:[ -][A-Za-z][A-Za-z'.]*){0,3}?) *(?P<serial>\d{1,7})(?![\d/-]|\.\d|:\d)"
)
# "STATE 021770B. STATE 039585": a label glued to the previous serial.
_GLUED_LABEL = re.compile(r"(\d)([A-Z][.)] )")
# After a multi-word post name the serial must end the citation ("UKRAINE SAYS 3 TRIED..." is prose).
_CITATION_TAIL = re.compile(
    r"^\s*(?:$|[:;,(.\u2013-]|\d|NOTAL\b|AND\b|DTG\b|DATED\b|OF\b|FROM\b|\(|EXDIS|NODIS)",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"\b(\d{2})([A-Z]{3,}[A-Z]*?)(\d{1,7})\b")
_NOT_PLACE = {
    "FROM",
    "DATED",
    "EMAIL",
    "E-MAIL",
    "EMAILS",
    "E-MAILS",
    "MEMO",
    "IIR",
    "DOC",
    "LETTER",
    "FAX",
    "TELCON",
    "NOTE",
    "PRESS",
    "USC",
    "CFR",
    "UNSCR",
    "SECTION",
    "PARA",
    "PARAGRAPH",
    "ON",
    "OF",
    "AND",
    "RES",
    "RESOLUTION",
    "LAW",
    "ACT",
    "PAGE",
    "NO",
    "NUMBER",
    "DIPNOTE",
    "NOTES",
    "TD",
    "TDX",
    "INFORMAL",
    "DECEMBER",
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "REPORT",
    "REPORTS",
    "GUIDEBOOK",
    "AECA",
    "ITAR",
    "EO",
    "E.O.",
    "PL",
    "P.L.",
    "CASE",
    "LICENSE",
    "NIAG",
    "NONE",
    "MRN",
    "REFTEL",
    "REF",
    "REFS",
    "DTG",
    "CIS",
}
_LEAD_NOISE = re.compile(r"^(?:(?:REFS?|REFTELS?)\b *[:.]? *|\W+)", re.IGNORECASE)


def short_name(place: str) -> str:
    """'SAN JOSE' -> 'SANJOSE', 'SECSTATE WASHDC' -> 'STATE'."""
    p = re.sub(r"[^A-Z]", "", place.upper())
    if p.startswith("SECSTATE"):
        return "STATE"
    return p


def canonical(year: int, place: str, serial: str) -> str:
    return f"{year % 100:02d}{short_name(place)}{int(serial)}"


def year_of(ref_id: str) -> int:
    """The four-digit year of a canonical ref id ("04ROME3592" -> 2004)."""
    return full_year(int(ref_id[:2]))


def ref_block(text: str, start: int, limit: int) -> str | None:
    m = _REF_START.search(text, start, limit)
    while m is not None:
        after = text[m.end() : m.end() + 40]
        # "REF" must introduce a list (a colon/period, or a letter label, or a post name), not prose.
        if re.match(r"\s*(?:[A-Za-z][.)]|\(?[A-Za-z]\)|\d{2,4} |[A-Za-z]{2,})", after) and (
            ":" in text[m.start() : m.end()]
            or "." in text[m.start() : m.end()]
            or re.match(r"\s*[A-Z]", after)
        ):
            break
        m = _REF_START.search(text, m.end(), limit)
    if m is None:
        return None
    # A preceding word like "SEE" or "PER" makes it prose ("per reftel").
    before = text[max(0, m.start() - 12) : m.start()]
    if re.search(r"(?:SEE|PER|IN|THE|AND)\s*$", before, re.IGNORECASE):
        return None
    end = _REF_END.search(text, m.end(), min(len(text), m.end() + 3000))
    stop = end.start() if end else min(len(text), m.end() + 800)
    block = text[m.end() : stop]
    # Blank lines separate the block from the body unless the next line is another item.
    out: list[str] = []
    blank = False
    for line in block.split("\n"):
        s = line.strip()
        if not s:
            blank = True
            continue
        if blank and out and not _LABEL.match(s):
            break
        blank = False
        out.append(s)
    return " ".join(out)


def parse_references(block: str | None, cable_year: int | None) -> list[Reference]:
    if not block:
        return []
    block = _GLUED_LABEL.sub(r"\1 \2", fold(block))
    items: list[tuple[str | None, str]] = []
    labels = list(_LABEL.finditer(block))
    if labels:
        head = block[: labels[0].start()].strip(" ,;")
        if head:
            items.extend((None, part) for part in _split_plain(head))
        for i, lm in enumerate(labels):
            end = labels[i + 1].start() if i + 1 < len(labels) else len(block)
            items.append((lm.group(1).upper(), block[lm.end() : end].strip(" ,;")))
    else:
        items.extend((None, part) for part in _split_plain(block))
    refs: list[Reference] = []
    for letter, text in items:
        text = text.strip()
        if not text:
            continue
        refs.append(Reference(letter=letter, text=text[:300], ref_id=resolve(text, cable_year)))
    return refs


def _split_plain(block: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,]| AND ", block) if p.strip()]


def cited_place(text: str) -> str | None:
    """Short name of the post a reference item cites, even when its year is unknown."""
    rid = resolve(text, 2000)
    return re.sub(r"^\d{2}|\d+$", "", rid) if rid else None


def resolve(text: str, cable_year: int | None) -> str | None:
    t = _LEAD_NOISE.sub("", text.strip())
    cm = _COMPACT.match(t)
    if cm:
        return f"{cm.group(1)}{cm.group(2)}{int(cm.group(3))}"
    m = _CITATION.match(t)
    if not m:
        return None
    place = m.group("place").upper().strip(" .")
    words = place.replace("-", " ").split()
    if not words or any(w.strip(".") in _NOT_PLACE for w in words):
        return None
    if any(len(w.strip(".")) < 2 for w in words):
        return None
    if len(words) > 1 and not _CITATION_TAIL.match(t[m.end() :]):
        return None
    year = full_year(int(m.group("year"))) if m.group("year") else cable_year
    if year is None:
        return None
    return canonical(year, place, m.group("serial"))
