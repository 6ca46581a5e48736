"""Pure telegram parser: text of a State Department cable in, ParsedCable out. Never raises.

A package of pure functions: nothing here imports the database or the ORM models.
"""

from __future__ import annotations

import re
import time
from datetime import date

from . import _body, _header, _instruction, _refs
from ._dates import full_year
from ._header import originator_routing
from ._model import Addressee, KeyDate, Paragraph, ParsedCable, Reference, TalkingPoint
from ._text import normalize, strip_controls

__all__ = [
    "Addressee",
    "KeyDate",
    "ParseTimeout",
    "Paragraph",
    "ParsedCable",
    "Reference",
    "TalkingPoint",
    "looks_like_cable",
    "originator_routing",
    "parse_cable",
    "strip_controls",
]

# The largest upload (MAX_CABLE_BYTES' default) is read whole; longer input, which only a
# direct caller can pass, is truncated. No real cable comes close (the corpus's longest
# is 31,000 characters).
MAX_CHARS = 2 * 1024 * 1024

# Publisher metadata that may carry the year when the DTG is lost.
_META_REFID = re.compile(
    r"^[^\S\n]*refid:\s*(\d{2})([A-Z]+)(\d+)\s*$", re.MULTILINE | re.IGNORECASE
)
_META_CANON = re.compile(r"(?:^|\t)(\d{2})([A-Z]{3,})(\d{1,7})(?:\t|\s*$)", re.MULTILINE)
_META_ISO = re.compile(
    r"(?:^|\t)((?:19|20)\d\d)-(\d\d)-(\d\d)(?:[ T]\d\d:\d\d(?::\d\d)?)?(?:\t|\s*$)", re.MULTILINE
)
_META_DATE = re.compile(
    r"^[^\S\n]*date:\s*(\d{1,2})/(\d{1,2})/((?:19|20)\d\d)\b", re.MULTILINE | re.IGNORECASE
)
_SIPDIS_LINE = re.compile(r"^[ \t]*(?:SIPDIS|SIPDIS SIPDIS)[ \t]*$", re.MULTILINE | re.IGNORECASE)
_BODY_START = re.compile(r"^[ \t]*(?:¶ ?)?1[.,](?!\d)", re.MULTILINE)
_DELIVERY = re.compile(
    r"\b(?:DELIVERED|DEMARCHE[DS]?|REFTEL (?:POINTS|REQUEST|DEMARCHE|INSTRUCTIONS?|MESSAGE|NON-?PAPER)|POINTS|RESPONSE|RESPONDED|"
    r"CONVEYED|NONPAPER|NON-PAPER|DIPLOMATIC NOTE|PASSED|RAISED|REQUESTED)\b",
    re.IGNORECASE,
)
_DEMARCHE_WORDS = re.compile(
    r"\b(?:DEMARCHE|TALKING POINTS|POINTS|DELIVER|APPROACH|RAISE|URGE|NON-?PAPER|HOST GOVERNMENT|ACTION REQUEST|CONVEY)\b"
)
_GOVERNMENT = re.compile(
    r"(?<!U\.S\. )(?<!\bUS )\b(?:GOVERNMENTS?|MINIST(?:ER|RY|RIES)|OFFICIALS?|AUTHORITIES|MFA|MOD|PRESIDEN[A-Z]*|DEMARCHE|TALKING POINTS|NON-?PAPER|UNSC|SECURITY COUNCIL)\b"
)
# Strong signs that a post's cable answers a tasking; weak ones count only when ref A is a STATE cable.
_STRONG_REPLY = re.compile(
    r"\bDELIVER(?:ED|Y)\b|\bREF(?:TEL|S?\s+[A-Z])\b.{0,30}\b(?:POINTS|DEMARCHE|NON-?PAPER|MESSAGE|INSTRUCTIONS|REQUEST|QUESTIONS|POSITION)|"
    r"\bNON-?PAPER\b|\bAS REQUESTED\b|\bPER REFTEL\b|\bIN RESPONSE TO REF|\b(?:CITED|OUTLINED|DESCRIBED) IN REF",
    re.DOTALL,
)
_WEAK_REPLY = re.compile(r"\bDEMARCH|\bPOINTS\b|\bRESPONSE TO (?:REF|DEMARCHE|OUR|THE U)")
# A plain readout that cites the instruction first and says in its subject or opening what
# the government said or did, with no reply cue word: a meeting, a call, a note exchanged.
_READOUT_SUBJECT = re.compile(
    r"\b(?:RESPONSES?|RESPONDS?|REACTIONS?|REACTS?|REPLY|REPLIES|READOUT)\b"
)
_READOUT_OPENING = re.compile(
    r"\b(?:CALLED ON|TOLD (?:POL|ECON|EMB|THE AMBASSADOR|AMBASSADOR|CHARGE|DCM|US\b)|"
    r"CONTACTED (?:THE )?EMBASSY|DIPLOMATIC NOTE|NOTE VERBALE|CONVEYED|SHARED REFTEL|"
    r"REFTEL (?:LANGUAGE|TEXT)|(?:POL|ECON|EMB)[A-Z]*OFFS? MET|AMBASSADOR MET|CHARGE MET|DCM MET)"
)
# An answer to a request for information (a data call, a reporting tasker) is not the
# report of a demarche, whatever cue words it uses.
_ANSWERS_DATA_CALL = re.compile(
    r"\b(?:DATA CALL|REQUESTS? FOR (?:INFORMATION|INPUT|DATA)|INFORMATION REQUEST|"
    r"REPORTING (?:REQUEST|REQUIREMENT)S?|TASKER)\b"
)
_COLLECTION_REQUEST = re.compile(r"\(C-[A-Z0-9]{2,4}-\d{3,6}\)")
_PRECEDENCE_NAMES = ("FLASH", "NIACT IMMEDIATE", "IMMEDIATE", "PRIORITY", "ROUTINE")


class ParseTimeout(Exception):
    """The parse passed its deadline (only raised when the caller gave one)."""


class _Clock:
    """The caller's deadline, looked at between the parser's stages. Every stage is
    linear in its input (tests/security/test_parser_linear.py), so no single stage runs
    long: stopping between them bounds the whole parse without a thread or a process."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise ParseTimeout


def parse_cable(text: str, *, deadline: float | None = None) -> ParsedCable:
    """Parse one cable. Whatever cannot be read becomes a warning; this never raises,
    except ParseTimeout once `deadline` (a time.monotonic() value), if given, has passed."""
    try:
        return _parse(text, _Clock(deadline))
    except ParseTimeout:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract is "never raise"; keep the reason
        return ParsedCable(warnings=(f"parser error: {type(exc).__name__}: {exc}"[:300],))


def looks_like_cable(parsed: ParsedCable) -> bool:
    """False for text that is not a cable at all (the API answers 422 with the warnings)."""
    signals = sum(
        bool(x)
        for x in (
            parsed.dtg,
            parsed.originator,
            parsed.subject,
            parsed.tags,
            parsed.classification,
            parsed.mrn,
        )
    )
    return signals >= 2


def _parse(raw: str, clock: _Clock) -> ParsedCable:
    warnings: list[str] = []
    if isinstance(raw, str) and len(raw) > MAX_CHARS:
        raw = raw[:MAX_CHARS]
        warnings.append(f"input truncated to {MAX_CHARS} characters")
    text, w = normalize(raw)
    warnings.extend(w)
    if not text.strip():
        return ParsedCable(warnings=tuple(warnings + ["empty input"]))

    clock.check()
    h = _header.parse_header(text)
    clock.check()
    cable_day: date | None = h.dtg.date() if h.dtg else None

    # References: search from the subject (REF can share its line) over the header zone.
    subj_at = _subject_offset(text)
    ref_from = subj_at if subj_at >= 0 else 0
    first_para = _BODY_START.search(text, ref_from)
    ref_limit = min(len(text), (first_para.start() if first_para else ref_from + 3000) + 1)
    ref_text = _refs.ref_block(text, ref_from, max(ref_limit, ref_from + 1))
    year = h.dtg.year if h.dtg else _fallback_year(text, h, warnings, ref_text)
    refs = _refs.parse_references(ref_text, year)

    place, serial = _message_number(h)
    mrn = (
        f"{_refs.short_name(place) if place and _refs.short_name(place) == 'STATE' else place} {serial}"
        if place and serial
        else None
    )
    ref_id = _refs.canonical(year, place, serial) if (place and serial and year) else None
    if ref_id is None:
        warnings.append("no message reference number (ref_id unknown)")
    if h.dtg is None:
        warnings.append("no date-time group")
    if h.originator is None:
        warnings.append("no FM line (originator unknown)")
    if h.subject is None:
        warnings.append("no SUBJECT line")
    if h.classification is None:
        warnings.append("no classification line")

    clock.check()
    body_from = first_para.start() if first_para else ref_from
    body = _SIPDIS_LINE.sub("", text[body_from:])
    signature = _body.signature(body)
    if signature:
        # The signature is not part of the last paragraph (nor of its last talking point).
        cut = body.rfind(signature)
        if cut >= 0:
            body = body[:cut]
    paras = _body.split_paragraphs(body)
    if not paras:
        warnings.append("no numbered paragraphs")
    clock.check()
    summary = _body.summary(body)

    is_state = (place is not None and _refs.short_name(place) == "STATE") or (
        h.originator is not None and h.originator.upper().startswith("SECSTATE")
    )
    preamble = text[ref_from:body_from]
    # The cues are looked for in the first PROSE_LIMIT characters only (cheap, and
    # far more than any real cable): see _instruction.within_budget.
    body_upper = body[: _instruction.PROSE_LIMIT].upper()
    if len(body) > _instruction.PROSE_LIMIT:
        warnings.append(
            f"only the first {_instruction.PROSE_LIMIT:,} characters of the body were read "
            "for what the cable asks or reports"
        )
    ins = _instruction.action_pass(paras, body_upper, preamble)
    kind = _kind(is_state, ins, refs, body_upper, h.subject, h.originator)
    clock.check()
    if kind == "instruction":
        # Deadlines and points only mean something for a tasking from headquarters.
        ins = _instruction.analyse(paras, body, cable_day, h.subject, ins)
        if len(ins.talking_points) == _instruction.MAX_ITEMS:
            warnings.append(f"only the first {_instruction.MAX_ITEMS} talking points were read")
        clock.check()

    return ParsedCable(
        ref_id=ref_id,
        mrn=mrn,
        dtg=h.dtg.strftime("%Y-%m-%dT%H:%M:00Z") if h.dtg else None,
        precedence=h.precedence if h.precedence in _PRECEDENCE_NAMES else None,
        originator=h.originator,
        action_addressees=tuple(h.action),
        info_addressees=tuple(h.info),
        classification=h.classification,
        captions=tuple(h.captions),
        declassify_on=h.declassify_on.isoformat() if h.declassify_on else None,
        classified_by=h.classified_by,
        tags=tuple(h.tags),
        subject=h.subject,
        references=tuple(refs),
        summary=summary,
        paragraphs=tuple(paras),
        signature=signature,
        action_request=ins.action_request,
        action_paragraphs=tuple(ins.action_paragraphs),
        deadline=ins.deadline.isoformat() if ins.deadline else None,
        delivery_level=ins.delivery_level,
        objectives=tuple(ins.objectives),
        talking_points=tuple(ins.talking_points),
        key_dates=tuple(ins.key_dates),
        info_only=tuple(ins.info_only),
        excluded=tuple(ins.excluded),
        target_description=ins.target_description,
        kind=kind,
        warnings=tuple(warnings),
    )


def _subject_offset(text: str) -> int:
    m = _header._SUBJECT.search(text)
    if m:
        return m.start()
    m2 = _header._TAGS.search(text)
    return m2.start() if m2 else -1


def _message_number(h: _header.Header) -> tuple[str | None, str | None]:
    """The message's place and serial: the banner's, unless the transmission line says the
    message is another one. The DE line's serial is the sending station's own count (its
    last four digits only), so it overrides a banner that disagrees with it, or that is
    missing, for a post's cable; headquarters' serials outgrow four digits, so a STATE
    banner stands."""
    place, serial = h.place, h.serial
    fm_place = _place_from_originator(h.originator) if h.originator else None
    de = h.de_serial
    if de and fm_place and fm_place != "STATE":
        agrees = serial is not None and int(serial) % 10 ** len(de) == int(de)
        if not agrees and (serial is None or int(serial) < 10_000):
            return fm_place, str(int(de))
    if place is None:
        place = fm_place
    return place, serial


def _place_from_originator(originator: str) -> str | None:
    o = originator.upper()
    if o.startswith("SECSTATE"):
        return "STATE"
    m = re.match(r"^(?:AMEMBASSY|AMCONSUL|AMCONSULATE|USMISSION|AMEMB)\s+(.+)$", o)
    return m.group(1) if m else o


# The years each executive order on classification was cited in: a declassification
# date names the cable's year only with the span of years it was set to run.
_ORDER_YEARS = {
    11652: (1972, 1978),
    12065: (1978, 1982),
    12356: (1982, 1995),
    12958: (1995, 2010),
    13526: (2009, 9999),
}
# The spans a drafter set, the most common first (10 years is E.O. 12958's default).
_DECL_SPANS = (10, 20, 25, 15, 5, 30, 50)


def _fallback_year(
    text: str, h: _header.Header, warnings: list[str], ref_text: str | None
) -> int | None:
    if h.banner_year is not None:
        return h.banner_year
    head = text[:20000]
    m = _META_REFID.search(head)
    if m:
        return full_year(int(m.group(1)))
    if h.place and h.serial:
        want = _refs.short_name(h.place) + h.serial
        for cm in _META_CANON.finditer(head):
            if cm.group(2) + str(int(cm.group(3))) == want:
                return full_year(int(cm.group(1)))
    m2 = _META_ISO.search(head)
    if m2:
        return int(m2.group(1))
    m3 = _META_DATE.search(head)
    if m3:
        return int(m3.group(3))
    if h.declassify_on is not None:
        warnings.append("year inferred from the declassification date")
        return _year_before_declassification(h, ref_text)
    return None


def _year_before_declassification(h: _header.Header, ref_text: str | None) -> int:
    """The cable's year as its declassification date less the commonest span that fits
    what the cable says of itself: the years its executive order was in force, and no
    earlier than a reference that gives its own year."""
    assert h.declassify_on is not None
    low, high = _ORDER_YEARS.get(h.executive_order or 0, (0, 9999))
    cited = [_refs.year_of(r.ref_id) for r in _refs.parse_references(ref_text, None) if r.ref_id]
    low = max([low, *cited])
    decl = h.declassify_on.year
    return next((decl - span for span in _DECL_SPANS if low <= decl - span <= high), decl - 10)


def _readout_subject(subject: str, originator: str | None) -> bool:
    """The subject names the government's response, not the post's own answer to a
    tasker ("EMBASSY TRIPOLI RESPONSE:", "ACCRA RESPONSE:")."""
    m = _READOUT_SUBJECT.search(subject)
    if m is None:
        return False
    before = subject[: m.start()].split()
    own = (_place_from_originator(originator) or "").split() if originator else []
    posts_own = bool(before) and (
        before[-1] in ("EMBASSY", "POST", "MISSION", "CONSULATE", "POST'S", "EMBASSY'S")
        or bool(own and before[-len(own) :] == own)
    )
    return not posts_own


def _kind(
    is_state: bool,
    ins: _instruction.Instruction,
    refs: list[Reference],
    body: str,
    subject: str | None,
    originator: str | None = None,
) -> str:
    # body arrives upper-cased: the cue patterns are upper-case and case-sensitive (much faster).
    subject = subject.upper() if subject else subject
    if is_state:
        if subject and _COLLECTION_REQUEST.search(subject):
            return "other"
        # A tasking with no government to approach (e.g. a check on a private firm) is not a demarche.
        if (ins.action_request or _DEMARCHE_WORDS.search(body, 0, 6000)) and _GOVERNMENT.search(
            body
        ):
            return "instruction"
        return "other"
    cited = [_refs.cited_place(r.text) for r in refs]
    if "STATE" not in cited:
        return "other"
    text = (subject or "") + "\n" + body
    opening = body[:1200]
    if (
        _ANSWERS_DATA_CALL.search(subject or "")
        or _ANSWERS_DATA_CALL.search(opening, 0, 600)
        or (subject and _COLLECTION_REQUEST.search(subject))
    ):
        return "other"
    if _STRONG_REPLY.search(text) or (cited[0] == "STATE" and _WEAK_REPLY.search(text)):
        return "report"
    if cited[0] == "STATE" and (
        _readout_subject(subject or "", originator) or _READOUT_OPENING.search(opening)
    ):
        return "report"
    return "other"
