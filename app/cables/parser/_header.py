"""Header fields: date-time group, originator, addressees, classification line, tags, subject."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from ._dates import full_year
from ._model import Addressee
from ._text import fold

MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        start=1,
    )
}
_MON = r"(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]{0,6}\.?"

# "O 140153Z DEC 07", "P R 091612Z JUL 08", "061428Z Jun 03"; also inside flattened headers.
_DTG = re.compile(
    r"(?<![A-Za-z0-9/])(?:((?:NIACT|[OPRZ])(?: [OPRZ])?) +)?([0-3]\d)([0-2]\d)([0-5]\d) ?Z +"
    + _MON
    + r" +(\d{4}|\d{2})(?![0-9])",
    re.IGNORECASE,
)
# Publisher line "Thursday, 07 March 2002, 10:13".
_WEEKDAY_DTG = re.compile(
    r"^[^\S\n]*(?:MON|TUES|WEDNES|THURS|FRI|SATUR|SUN)DAY, +(\d{1,2}) +([A-Z]{3})[A-Z]* +(\d{4}), +(\d{1,2}):(\d{2})\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FM_AFTER = re.compile(r"\bFM +([A-Z][A-Z0-9 .,'&/()-]{1,80}?)(?= +TO +| +INFO +|[ \t]*\n|[ \t]*$)")
_FM_LINE = re.compile(r"^[ \t]*FM +([A-Z][A-Z0-9 .,'&/()-]{1,80}?)[ \t]*$", re.MULTILINE)
_PRECEDENCE_LETTER = {
    "Z": "FLASH",
    "O": "IMMEDIATE",
    "P": "PRIORITY",
    "R": "ROUTINE",
    "NIACT": "NIACT IMMEDIATE",
}
_PRECEDENCE_WORDS = re.compile(r"\b(FLASH|NIACT IMMEDIATE|IMMEDIATE|PRIORITY|ROUTINE)\b")

# The classification line: "C O N F I D E N T I A L SECTION 01 OF 03 STATE 166909".
# A spaced banner's first letter is sometimes doubled ("C C O N F I D E N T I A L").
_SPACED = {
    "UNCLASSIFIED": r"(?:U )?U ?N ?C ?L ?A ?S(?: ?S ?I ?F ?I ?E ?D)?",
    "CONFIDENTIAL": r"(?:C )?C ?O ?N ?F ?I ?D ?E ?N ?T ?I ?A ?L",
    "SECRET": r"(?:S )?S ?E ?C ?R ?E ?T",
    "LIMITED OFFICIAL USE": r"L ?I ?M ?I ?T ?E ?D ?O ?F ?F ?I ?C ?I ?A ?L ?U ?S ?E",
}
# "SECTION", and its common misspellings ("SCTION", "SECTON").
_SECTION = r"SE?CTI?ON"
_CLASS_LINE = re.compile(
    r"^[ \t]*(?P<cls>" + "|".join(f"(?P<{k.split()[0]}>{v})" for k, v in _SPACED.items()) + r")"
    r"(?: +(?P<sens>SENSITIVE|EFTO))?"
    r"(?: +" + _SECTION + r" +(?P<sec>\d{1,2}) +OF +(?P<of>\d{1,2}))?"
    # 1970s banners put the year before the station: "... 75 LIBREVILLE 1895".
    r"(?: +(?P<yy>\d{2}))?"
    # "SECTION 01 OF 02" alone is no place and serial; a caption glued on ("000544SIPDIS") is
    # not part of the serial.
    r" +(?P<place>(?!" + _SECTION + r"\b)[A-Z][A-Z'.-]{1,20}(?: [A-Z][A-Z'.-]{1,20}){0,3})"
    r" +(?P<serial>\d{2,8})(?!\d)",
    re.MULTILINE | re.IGNORECASE,
)
_CLASS_ONLY = re.compile(
    r"^[ \t]*(?:" + "|".join(_SPACED.values()) + r")(?: +(?:SENSITIVE|NOFORN))?"
    # ... or with a section line that is too damaged to give the message number.
    r"(?: +" + _SECTION + r"\b[^\n]{0,60})?[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_CAPTION_WORDS = (
    "SIPDIS",
    "NODIS",
    "EXDIS",
    "STADIS",
    "LIMDIS",
    "NOFORN",
    "SENSITIVE",
    "CHEROKEE",
    "ROGER",
    "NOCONTRACT",
    "ORCON",
    "PROPIN",
    "FOUO",
    "DEPT PASS",
    "TERREP",
)
_CAPTION_LINE = re.compile(
    r"^[ \t]*((?:(?:" + "|".join(_CAPTION_WORDS) + r")[ ,;/]*)+)[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_CAPTION_SPLIT = re.compile(r"[ ,;/]+")
_EO = re.compile(
    r"^[ \t]*E\.?[O0]\.? *(?P<order>1\d{4}):? *(?:DECL(?:AS)?:?|N/A)? *(?P<date>\d{1,2}/\d{1,2}/\d{2,4}|\d{4}/\d{1,2}/\d{1,2}|OADR|N/A|[^\n]{0,40})",
    re.MULTILINE | re.IGNORECASE,
)
_TAGS = re.compile(r"^[ \t]*TAGS:?[ \t]+(.{1,400})$", re.MULTILINE | re.IGNORECASE)
_TAG_SPLIT = re.compile(r"[\s,;]+")
_TAG_OK = re.compile(r"^[A-Z][A-Z0-9-]{0,14}$")
_SUBJECT = re.compile(
    r"^[ \t]*(?:SUBJECT|SUBJ)[ \t]*[:.]?[ \t]*(.*)$", re.MULTILINE | re.IGNORECASE
)
# Things that end a subject even on the same line.
_SUBJECT_END = re.compile(
    r"(?:\bREFS?\b *[:.]|\bREFTELS? *:|\bREFERENCES? *:|\bCLASSIFIED +BY\b|\(U\) +CLASSIFIED|¶ ?\d|\bE\.O\. 1\d{4}|(?<![A-Z])1\. +\([A-Z/ ]{1,12}\)|C O N F I D|S E C R E T|U N C L A S|\bSECTION \d{1,2} OF \d{1,2}\b)",
    re.IGNORECASE,
)
_SUBJECT_STOP_LINE = re.compile(
    r"^[ \t]*(?:REFS?\b|REFTEL|REFERENCES?:|CLASSIFIED|\(U\)|¶|\d{1,2}\. |\d{1,2}, (?!\d)|\d{1,2}\.\(|SUMMARY|-{3,}|SIPDIS|E\.O\.|TAGS)",
    re.IGNORECASE,
)
_CLASSIFIED_BY = re.compile(
    r"(?:\(U\) *)?CLASSIFIED +BY *:? *(?:CLASSIFIED +BY *:? *)?(.{3,400}?)(?:\n[ \t]*\n|¶|(?<![A-Z])1\. |$)",
    re.IGNORECASE | re.DOTALL,
)
# Where the header fields are looked for at most. The corpus's latest SUBJECT line starts
# at character 1,648; a header of hundreds of addressees still ends well inside this.
HEADER_ZONE = 30_000
# An addressee line: "RUEHHI/AMEMBASSY HANOI IMMEDIATE 5685". The precedence may be misspelt
# ("PRORITY", "IMEDIATE") and the serial a range ("1256-1257": one per section sent).
_ADDR = re.compile(
    r"^(?:(?P<routing>R[A-Z]{3,6})/)?(?P<name>.+?)"
    r"(?: +(?P<prec>NIACT +IMM?EDIATE?|IMM?EDIATE?|PRI?OR?I?TY|ROUT?I?NE|FLASH))?"
    r"(?: +(?P<serial>\d{1,5})(?:-\d{1,5})?)?$"
)
_PRECEDENCE_SPELLING = {"N": "NIACT IMMEDIATE", "I": "IMMEDIATE", "P": "PRIORITY", "R": "ROUTINE"}
# A routing line ("STATE GRNC": general routing, no caption) names no addressee.
_ROUTING_ONLY = re.compile(r"^[A-Z]{2,10} +GRNC$")
_ADDR_SECTION = re.compile(r"^[ \t]*(TO|INFO|BT)\b[ \t]*(.*)$")
_HEADER_NOISE = re.compile(r"^(?:ZEN|ZFR|BT|NNNN|ACTION |INFO +LOG|/\d|-{5,})")


@dataclass
class Header:
    dtg: datetime | None = None
    precedence: str | None = None
    originator: str | None = None
    action: list[Addressee] = field(default_factory=list)
    info: list[Addressee] = field(default_factory=list)
    place: str | None = None
    serial: str | None = None
    classification: str | None = None
    captions: list[str] = field(default_factory=list)
    declassify_on: date | None = None
    tags: list[str] = field(default_factory=list)
    subject: str | None = None
    subject_end: int = 0  # offset just after the subject (start of REF search)
    classified_by: str | None = None
    # The transmission's own serial from `DE RUEHTRO #0112`: what the message is filed under
    # when the banner names another message (a retransmission, a damaged banner).
    de_serial: str | None = None
    executive_order: int | None = None  # the E.O. the classification cites: 12958, 13526
    banner_year: int | None = None  # "C O N F I D E N T I A L 75 LIBREVILLE 1895"


def _year(two_or_four: str) -> int:
    return full_year(int(two_or_four))


def find_dtg(text: str) -> tuple[datetime | None, str | None, int]:
    """Best date-time group: prefer one followed by an FM line; return (dtg, precedence, end offset)."""
    best: tuple[datetime, str | None, int] | None = None
    for m in _DTG.finditer(text):
        prec_raw, dd, hh, mi, mon, yy = m.groups()
        try:
            when = datetime(_year(yy), MONTHS[mon.upper()[:3]], int(dd), int(hh), int(mi))
        except (ValueError, KeyError):
            continue
        prec = None
        if prec_raw:
            prec = _PRECEDENCE_LETTER.get(prec_raw.upper().split()[0])
        follows = text[m.end() : m.end() + 120]
        if re.search(r"\bFM +[A-Z]", follows):
            return when, prec, m.end()
        if best is None:
            best = (when, prec, m.end())
    if best:
        return best
    m2 = _WEEKDAY_DTG.search(text)
    if m2:
        dd, mon, yyyy, hh, mi = m2.groups()
        try:
            return datetime(int(yyyy), MONTHS[mon.upper()[:3]], int(dd), int(hh), int(mi)), None, 0
        except (ValueError, KeyError):
            pass
    return None, None, 0


def _parse_addressees(lines: list[str]) -> tuple[list[Addressee], list[Addressee]]:
    action: list[Addressee] = []
    info: list[Addressee] = []
    target: list[Addressee] | None = None
    for raw in lines:
        line = raw.strip()
        if not line:
            if target is not None and target:
                break
            continue
        m = _ADDR_SECTION.match(line)
        if m:
            word, rest = m.group(1), m.group(2).strip()
            if word == "BT":
                break
            target = action if word == "TO" else info
            line = rest
            if not line:
                continue
        if target is None:
            continue
        if _HEADER_NOISE.match(line) or _CLASS_ONLY.match(line) or _CLASS_LINE.match(line):
            break
        am = _ADDR.match(line)
        if not am or len(line) > 90:
            break
        name = fold(am.group("name"))
        if not name or _ROUTING_ONLY.match(name.upper()):
            continue
        prec = am.group("prec")
        if prec is not None and prec != "FLASH":
            prec = _PRECEDENCE_SPELLING[prec[0].upper()]
        target.append(
            Addressee(
                name=name,
                routing=am.group("routing"),
                precedence=prec,
                serial=am.group("serial"),
            )
        )
    return action, info


def _parse_date(s: str) -> date | None:
    s = s.strip()
    m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{2,4})$", s)
    try:
        if m:
            return date(_year(m.group(3)), int(m.group(1)), int(m.group(2)))
        m = re.match(r"^(\d{4})/(\d{1,2})/(\d{1,2})$", s)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


_SPACED_ANYWHERE = re.compile(
    r"(?<![A-Z] )(C O N F I D E N T I A L|S E C R E T|U N C L A S S I F I E D)(?! [A-Z] )"
)
_PROSIGN = re.compile(r"^[^\S\n]*ZN[YR][^\S\n]+(UUUUU|EEEEE|CCCCC|SSSSS)\b", re.MULTILINE)
_PROSIGNS = {
    "UUUUU": "UNCLASSIFIED",
    "EEEEE": "UNCLASSIFIED",
    "CCCCC": "CONFIDENTIAL",
    "SSSSS": "SECRET",
}


def _classification(
    m: re.Match[str] | None, text: str, captions: list[str], eo_na: bool
) -> str | None:
    base: str | None = None
    sensitive = "SENSITIVE" in captions
    if m is not None:
        for key, name in (
            ("UNCLASSIFIED", "UNCLASSIFIED"),
            ("CONFIDENTIAL", "CONFIDENTIAL"),
            ("SECRET", "SECRET"),
            ("LIMITED", "LIMITED OFFICIAL USE"),
        ):
            if m.group(key):
                base = name
        if m.group("sens"):
            sensitive = True
    else:
        cm = _CLASS_ONLY.search(text[:3000])
        if cm:
            word = cm.group(0).replace(" ", "").upper()
            for name in ("UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "LIMITEDOFFICIALUSE"):
                if word.startswith(name) or (name == "UNCLASSIFIED" and word.startswith("UNCLAS")):
                    base = name.replace("LIMITEDOFFICIALUSE", "LIMITED OFFICIAL USE")
                    break
        elif spaced := _SPACED_ANYWHERE.search(text, 0, 3000):
            # A banner run into the line before it ("...T12:40:00S E C R E T SECTION 01").
            base = spaced.group(1).replace(" ", "")
        elif prosign := _PROSIGN.search(text, 0, 1500):
            # The transmission's security prosign: ZNY CCCCC is a confidential message.
            base = _PROSIGNS[prosign.group(1)]
        elif eo_na or sensitive:
            base = "UNCLASSIFIED"
    if base is None:
        return None
    if base in ("UNCLASSIFIED", "LIMITED OFFICIAL USE") and (
        sensitive or base == "LIMITED OFFICIAL USE"
    ):
        return "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    if base in ("CONFIDENTIAL", "SECRET") and "NOFORN" in captions:
        return base + "//NOFORN"
    return base


def parse_header(text: str) -> Header:
    h = Header()
    h.dtg, h.precedence, dtg_end = find_dtg(text)

    # Originator: the FM right after the DTG, else a header-zone FM line followed by TO.
    fm_end = 0
    if h.dtg is not None and dtg_end:
        fm = _FM_AFTER.search(text, dtg_end, dtg_end + 160)
        if fm:
            h.originator, fm_end = fold(fm.group(1)), fm.end()
    subj = _SUBJECT.search(text)
    head_limit = subj.start() if subj else min(len(text), 6000)
    if h.originator is None:
        for fm in _FM_LINE.finditer(text, 0, head_limit):
            nxt = text[fm.end() : fm.end() + 40].lstrip()
            if nxt.startswith("TO "):
                h.originator, fm_end = fold(fm.group(1)), fm.end()
                break
    if fm_end:
        block = text[fm_end : fm_end + 6000]
        # Flattened headers carry "FM X TO Y IMMEDIATE 2620 INFO ..." on one line: split them.
        first_nl = block.find("\n")
        if first_nl >= 0 and " TO " in block[: first_nl if first_nl > 0 else 0]:
            block = ""
        h.action, h.info = _parse_addressees(block.split("\n")[:200])
    if h.precedence is None:
        h.precedence = next((a.precedence for a in h.action if a.precedence), None)

    # Classification line with the message reference number.
    cm = _CLASS_LINE.search(text)
    if cm:
        h.place = fold(cm.group("place")).upper()
        h.serial = str(int(cm.group("serial")))
        if cm.group("yy"):
            h.banner_year = full_year(int(cm.group("yy")))
    if de := _DE_SERIAL.search(text, 0, 3000):
        h.de_serial = de.group(1)  # as sent: its width says how many digits it keeps
    region_start = cm.start() if cm else 0
    region_end = (
        subj.start()
        if subj and subj.start() > region_start
        else min(len(text), region_start + 3000)
    )
    caps: list[str] = []
    if cm and cm.group("sens"):
        caps.append(cm.group("sens").upper())
    for capm in _CAPTION_LINE.finditer(text, region_start, region_end):
        for word in _CAPTION_SPLIT.split(capm.group(1).upper()):
            if word and word not in caps:
                caps.append(word)
    h.captions = caps
    eo = _EO.search(text, 0, max(region_end, 1) + 400)
    eo_na = False
    if eo:
        val = eo.group("date").strip().upper()
        eo_na = val.startswith("N/A") or val == ""
        h.declassify_on = _parse_date(val.split()[0] if val else "")
        h.executive_order = int(eo.group("order"))
    h.classification = _classification(cm, text[: max(region_end, 3000)], caps, eo_na)

    tm = _TAGS.search(text, 0, max(region_end, 1) + 400)
    if tm:
        raw = tm.group(1)
        cut = re.search(r"\bSUBJECT\b|\bSUBJ\b", raw, re.IGNORECASE)
        if cut:
            raw = raw[: cut.start()]
        tags: list[str] = []
        for t in _TAG_SPLIT.split(raw.upper()):
            t = t.strip(".")
            if _TAG_OK.match(t) and t not in tags:
                tags.append(t)
        h.tags = tags

    if subj:
        h.subject, h.subject_end = _subject(text, subj)
    # Within the header: a SUBJECT line of megabytes must not stretch the window (each
    # "Classified By" in it costs a lazy scan of up to 400 characters).
    cb_end = min(len(text), (h.subject_end or region_end) + 2500, HEADER_ZONE)
    cb = _CLASSIFIED_BY.search(text, 0, cb_end)
    if cb:
        h.classified_by = fold(cb.group(1)).rstrip(" .")[:300] or None
    return h


def _subject(text: str, m: re.Match[str]) -> tuple[str | None, int]:
    parts: list[str] = []
    first = m.group(1).strip()
    pos = m.end()
    if first:
        parts.append(first)
    lines = text[pos : pos + 2000].split("\n")[1:]
    consumed = pos
    skipped_blank = False
    for line in lines:
        stripped = line.strip()
        if not stripped:
            if not parts and not skipped_blank:
                skipped_blank = True  # "SUBJECT:" alone, text after a blank line
                consumed += len(line) + 1
                continue
            break
        if _SUBJECT_STOP_LINE.match(stripped) and parts:
            break
        parts.append(stripped)
        consumed += len(line) + 1
        if len(parts) >= 4:
            break
    joined = " ".join(parts)
    end_m = _SUBJECT_END.search(joined)
    if end_m:
        joined = joined[: end_m.start()]
        consumed = (
            m.start() + 1 + (m.end() - m.start())
        )  # the REF search starts at the subject itself
    subject = fold(joined).rstrip(" ,;:") or None
    return subject, max(consumed, m.end())


_DE_LINE = re.compile(r"^[^\S\n]*DE\s+(RU[A-Z]{2,5})\s*#", re.MULTILINE)
_DE_SERIAL = re.compile(r"^[^\S\n]*DE\s+RU[A-Z]{2,5}\s*#(\d{1,5})\b", re.MULTILINE)


def originator_routing(raw_text: str) -> str | None:
    """The sending station's routing indicator from the `DE RUEHTRO #0250` header line."""
    m = _DE_LINE.search(raw_text[:3000])
    return m.group(1) if m else None
