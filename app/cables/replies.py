"""Read a post's report cable for a draft delivery and response. Pure functions, no DB.

Everything here is a *suggestion* for a person to confirm: the cue phrases are
plain and general, and a miss falls back to "noncommittal" with no evidence
rather than a guess dressed up as a finding. `suggest_reply` never raises.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from app.taskings.models import DeliveryLevel, DeliveryMethod, Position

from .parser import ParsedCable

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("JAN", "JANUARY"),
            ("FEB", "FEBRUARY"),
            ("MAR", "MARCH"),
            ("APR", "APRIL"),
            ("MAY",),
            ("JUN", "JUNE"),
            ("JUL", "JULY"),
            ("AUG", "AUGUST"),
            ("SEP", "SEPT", "SEPTEMBER"),
            ("OCT", "OCTOBER"),
            ("NOV", "NOVEMBER"),
            ("DEC", "DECEMBER"),
        ),
        start=1,
    )
    for m in names
}
_MONTH_RE = (
    r"(?:JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?|AUG(?:UST)?|"
    r"SEPT?(?:EMBER)?|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?)\.?"
)
# "August 22, 2005", "March 18", "on 9 July", "July 9".
_DATE_MD = re.compile(
    rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+((?:19|20)\d\d))?", re.I
)
_DATE_DM = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_RE})(?:,?\s+((?:19|20)\d\d))?\b", re.I)

# The sentence that says the points went across.
_DELIVERY_CUE = re.compile(
    r"\b(?:delivered|conveyed|passed|presented|raised|demarched|made (?:the|reftel) (?:points|demarche)|"
    r"shared (?:reftel|the) (?:points|non-?paper)|left (?:a )?non-?paper)\b|\breftel (?:points|demarche|message)\b",
    re.I,
)

# Cue phrases per position, checked in this order within a sentence.
_CUES: tuple[tuple[Position, re.Pattern[str]], ...] = (
    (
        Position.DECLINED_TO_RESPOND,
        re.compile(
            r"\b(?:declined to (?:comment|respond|answer|discuss|offer|give|provide|state|say)|"
            r"refused to (?:comment|respond|discuss|answer)|would not comment|no comment|"
            r"did not (?:respond|reply|offer (?:a|any) (?:response|view|comment)))\b",
            re.I,
        ),
    ),
    (
        Position.OPPOSES,
        re.compile(
            r"\b(?:opposes?|opposed|reject(?:s|ed)?|will not support|would not support|cannot support|"
            r"could not support|will vote against|would vote against|strongly disagree[sd]?|"
            r"objects? to|objected to|is against|was against)\b",
            re.I,
        ),
    ),
    (
        Position.LEANS_OPPOSED,
        re.compile(
            r"\b(?:skeptical|sceptical|reservations|concerns? about|concerned (?:about|that)|"
            r"reluctant|hesitant|unlikely to support|doubts? (?:about|that)|not convinced|"
            r"has problems with|had problems with|uncomfortable)\b",
            re.I,
        ),
    ),
    (
        Position.SUPPORTS,
        re.compile(
            r"\b(?:fully supports?|strongly supports?|supports?|supported|will support|would support|"
            r"agreed|agrees|shares? (?:our|the U\.?S\.?) (?:view|position|concern)s?|"
            r"will vote (?:for|in favor)|would vote (?:for|in favor)|welcomed|endorse[sd]?|"
            r"in full agreement|fully agree[sd]?|will co-?sponsor)\b",
            re.I,
        ),
    ),
    (
        Position.LEANS_SUPPORTIVE,
        re.compile(
            r"\b(?:sympathetic|receptive|positive(?:ly)?|generally supportive|inclined to support|"
            r"likely to support|appreciated|open to|broadly agree[sd]?|understood|favorabl[ey])\b",
            re.I,
        ),
    ),
    (
        Position.NONCOMMITTAL,
        re.compile(
            r"\b(?:noncommittal|non-committal|will (?:study|review|consider|look into)|"
            r"would (?:study|review|consider|look into)|no decision|not yet decided|"
            r"has not (?:yet )?(?:decided|taken a position)|undecided|would consult|will consult|"
            r"take (?:it|the matter|this) under (?:advisement|consideration)|"
            r"would (?:get back|report back|revert)|will (?:get back|report back|revert)|"
            r"await(?:ing)? instructions|no instructions)\b",
            re.I,
        ),
    ),
)
_PRIORITY = {p: i for i, (p, _) in enumerate(_CUES)}

# A sentence about what we said or asked is not the host government's view.
_OUR_SIDE = re.compile(
    r"^\s*(?:we|post|the embassy|embassy|emboffs?|poloffs?|econoffs?|ambassador|charg[eé]|"
    r"the ambassador|the department|department|dcm|pol/?econ|polcouns|econcouns|agatt|usdel)\b"
    r"(?![^.]{0,80}\b(?:told|said|replied|responded) (?:by|that)\b)",
    re.I,
)
_NEGATED = re.compile(r"\b(?:not|never|no longer|neither|nor)\s+(?:\w+\s+){0,2}$", re.I)
_SPEECH = re.compile(
    r"\b(?:said|says|told|noted|stated|indicated|responded|replied|explained|agreed|"
    r"assured|confirmed|promised|stressed|emphasized|added|commented|expressed|asserted|"
    r"observed|undertook|acknowledged|declined)\b",
    re.I,
)
_COMMITMENT = re.compile(
    r"\b(?:will|would|promised to|undertook to|agreed to|committed to)\s+"
    r"(?:speak|vote|support|raise|review|consider|co-?sponsor|instruct|follow up|convey|"
    r"look into|study|consult|get back|report back|respond|provide|send|share)\b",
    re.I,
)

_TITLE_WORDS = (
    r"(?:Prime Minister|President|King|Emir|Sultan|Chancellor|Deputy Prime Minister|"
    r"(?:Deputy |Vice |Assistant |Junior |State )?(?:Foreign )?Minister|Minister of State|"
    r"(?:Permanent |Under |Deputy |Assistant |Principal |State |Parliamentary )?(?:Under )?Secretary|"
    r"Secretary[- ]General|(?:Deputy |Assistant |Managing )?Director(?:[- ]General)?|"
    r"(?:Deputy )?Head|Chief|Chef de Cabinet|Chief of Staff|Ambassador|Advis[eo]r|Counsel(?:l)?or|"
    r"Coordinator|Spokesman|Spokesperson|Desk Officer|Officer|Official|Envoy|Commissioner)"
)
_NAME = r"(?:(?:Dr|Mr|Mrs|Ms|Sheikh|H\.E)\.?\s+)?[A-Z][a-zA-Z'’-]+(?:\s+(?:[A-Z]\.|[A-Z][a-zA-Z'’-]+|al-[A-Z][a-z]+|de|da|van|von|bin)){1,4}"
# "to Isabel Araya, Technical Secretary of the National CODEX Committee"
_NAME_THEN_TITLE = re.compile(
    rf"\b(?:to|with|from|met)\s+(?P<name>{_NAME}),\s+(?:the\s+)?(?P<title>[^,.;()]{{0,80}}?{_TITLE_WORDS}[^,.;()]{{0,160}}?)(?=[,.;(]|\s+(?:on|in|who|that)\b)"
)
# "FCO Near East Group Head Rob Timline told us"
# Each title word starts where a word starts: unanchored, a word that may begin anywhere
# inside a long run of letters is re-read from every one of its characters (quadratic).
_TITLE_THEN_NAME = re.compile(
    rf"(?P<title>(?:(?<![\w&/.'’-])(?:[A-Z][\w&/.'’-]*|of|for|and|the)\s+){{0,8}}?{_TITLE_WORDS})\s+(?P<name>{_NAME})"
)
_OFFICE = re.compile(
    r"\b(?:of|at|in|from)\s+(?:the\s+)?(?P<office>(?:Ministry|Department|Office|Directorate|"
    r"Presidency|Mission|Committee|Council|Cabinet|Secretariat|Bureau|Agency)"
    r"(?:\s+(?:of|for|and|the|[A-Z][\w&'’-]*))*)",
)
_OFFICE_ACRONYM = re.compile(
    r"\b(MFA|MOFA|FCO|MFAIC|MOD|MINREX|SRE|MRE|Quai d'Orsay|Itamaraty|Foreign Ministry|Foreign Office|Prime Minister's Office|Presidency)\b"
)
# Titles and initials ("Mr. Li", "Martti J. Ahtisaari", "U.S.") do not end a sentence.
_SENTENCE_SPLIT = re.compile(
    r"(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bNo\.)(?<!\bH\.E\.)"
    r"(?<!\bU\.S\.)(?<!\b[A-Z]\.)(?<=[.!?])[\"'”’)]?\s+(?=[\"'“(]?[A-Z¶-])"
)
_PARA_NUMBER = re.compile(
    r"^\s*(?:¶\s*)?\d{1,2}[.,]\s*(?:\((?:U|C|S|SBU|C/NF|S/NF|U//FOUO)\)\s*)?", re.I
)


@dataclass(frozen=True, slots=True)
class ReplySuggestion:
    """A prefilled delivery and response, shaped like DeliveryIn and ResponseIn."""

    delivered_on: str | None = None  # ISO date
    recipient_name: str = ""
    recipient_title: str = ""
    recipient_office: str = ""
    level: str = DeliveryLevel.WORKING_LEVEL.value
    method: str = DeliveryMethod.MEETING.value
    position: str = Position.NONCOMMITTAL.value
    evidence: str | None = None  # the sentence that supports the position
    summary: str = ""
    commitments: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["commitments"] = list(self.commitments)
        d["warnings"] = list(self.warnings)
        return d


def suggest_reply(parsed: ParsedCable) -> ReplySuggestion:
    """Read a report cable for the delivery and the host government's answer. Never raises."""
    try:
        return _suggest(parsed)
    except Exception as exc:  # noqa: BLE001 - a bad suggestion must not stop ingestion
        return ReplySuggestion(warnings=(f"suggestion failed: {type(exc).__name__}: {exc}"[:300],))


# How much of a report the reader reads: the delivery and the host government's answer
# come first, and the longest report in the corpus has 30,000 characters of body. Every
# pattern here is linear; the bound keeps a hostile upload's cost small as well.
READ_LIMIT = 50_000


def _suggest(parsed: ParsedCable) -> ReplySuggestion:
    body: list[str] = []
    size = 0
    for p in parsed.paragraphs:
        if size >= READ_LIMIT:
            break
        body.append(_PARA_NUMBER.sub("", p.text[:READ_LIMIT]))
        size += len(body[-1]) + 1
    summary = (parsed.summary or "")[:READ_LIMIT]
    text = ("\n".join(body) or summary)[:READ_LIMIT]
    sents = sentences(text)
    if summary:
        sents = sentences(summary) + sents
    cable_day = _cable_day(parsed.dtg)
    delivery_sent = next((s for s in sents if _DELIVERY_CUE.search(s)), None)
    warnings: list[str] = []
    if delivery_sent is None:
        warnings.append("no sentence says the points were delivered")
    when = delivery_date(delivery_sent or "", cable_day) or cable_day
    name, title, office = recipient(delivery_sent or "")
    if not name:
        # The person is often named where they speak, not where the points went across.
        for s in sents[:12]:
            name, title, office = recipient(s)
            if name:
                break
    position, evidence = suggest_position(sents)
    return ReplySuggestion(
        delivered_on=when.isoformat() if when else None,
        recipient_name=name,
        recipient_title=title,
        recipient_office=office or _office_acronym(delivery_sent or text[:2000]),
        level=level_for(title).value,
        method=method_for(delivery_sent or text[:3000]).value,
        position=position.value,
        evidence=evidence,
        summary=what_they_said(sents, fallback=summary or (parsed.subject or "")[:1500]),
        commitments=tuple(commitments(sents)),
        warnings=tuple(warnings),
    )


def sentences(text: str) -> list[str]:
    flat = re.sub(r"\s+", " ", text or "").strip()
    return [s.strip() for s in _SENTENCE_SPLIT.split(flat) if len(s.strip()) > 3]


def suggest_position(sents: list[str]) -> tuple[Position, str | None]:
    """The position the host government took and the sentence that shows it."""
    best: tuple[int, int, Position, str] | None = None
    for i, s in enumerate(sents):
        if _OUR_SIDE.search(s) and not _SPEECH.search(s[:200]):
            continue
        for pos, pattern in _CUES:
            m = pattern.search(s)
            if m is None:
                continue
            if pos in (Position.SUPPORTS, Position.LEANS_SUPPORTIVE) and _NEGATED.search(
                s[: m.start()]
            ):
                pos = (
                    Position.LEANS_OPPOSED if pos == Position.LEANS_SUPPORTIVE else Position.OPPOSES
                )
            # The earliest sentence with a cue leads (a summary sits first); within a
            # sentence the cue order decides, a refusal to answer first.
            best = (i, _PRIORITY[pos], pos, s)
            break
        if best is not None:
            break
    if best is None:
        return Position.NONCOMMITTAL, None
    return best[2], best[3][:1000]


def delivery_date(sentence: str, cable_day: date | None) -> date | None:
    """The day named in the delivery sentence; the year from the cable when left out."""
    for m in _DATE_MD.finditer(sentence):
        d = _make_date(m.group(3), m.group(1), m.group(2), cable_day)
        if d:
            return d
    for m in _DATE_DM.finditer(sentence):
        d = _make_date(m.group(3), m.group(2), m.group(1), cable_day)
        if d:
            return d
    return None


def _make_date(year: str | None, month: str, day: str, cable_day: date | None) -> date | None:
    mon = _MONTHS.get(month.rstrip(".").upper())
    if mon is None:
        return None
    y = int(year) if year else (cable_day.year if cable_day else None)
    if y is None:
        return None
    try:
        d = date(y, mon, int(day))
    except ValueError:
        return None
    # A meeting "on December 30" reported on January 2 was last year's.
    if not year and cable_day and d > cable_day:
        try:
            d = d.replace(year=y - 1)
        except ValueError:
            return None
    return d


_NOT_A_NAME = re.compile(r"^(?:Refs?|Reftel|The|On|In|Post|Embassy|Poloff|Econoff|Para)\b", re.I)


def recipient(sentence: str) -> tuple[str, str, str]:
    """(name, title, office) of the official met, or empty strings."""
    m = _NAME_THEN_TITLE.search(sentence)
    if m and _NOT_A_NAME.match(m.group("name")):
        m = None
    if m:
        title = m.group("title").strip()
        office = ""
        om = _OFFICE.search(title)
        if om:
            office = om.group("office").strip()
            title = title[: om.start()].strip()
        return m.group("name").strip()[:120], title[:160], office[:160]
    m2 = next(
        (x for x in _TITLE_THEN_NAME.finditer(sentence) if not _NOT_A_NAME.match(x.group("name"))),
        None,
    )
    if m2:
        title = re.sub(r"^(?:the|and|of|for)\s+", "", m2.group("title").strip(), flags=re.I)
        return m2.group("name").strip()[:120], title[:160], _office_acronym(title)
    return "", "", ""


def _office_acronym(text: str) -> str:
    m = _OFFICE_ACRONYM.search(text)
    return m.group(1) if m else ""


def level_for(title: str) -> DeliveryLevel:
    t = title.lower()
    if re.search(
        r"\b(?:president|prime minister|king|emir|sultan|chancellor)\b", t
    ) and not re.search(r"\b(?:vice|deputy|advis|office|chief of staff)", t):
        return DeliveryLevel.HEAD_OF_STATE_OR_GOVERNMENT
    if re.search(
        r"\b(?:deputy|vice|assistant|junior) (?:foreign )?minister|minister of state|"
        r"(?:permanent|under|state|deputy) secretary|secretary[- ]general|vice[- ]president",
        t,
    ):
        return DeliveryLevel.DEPUTY_MINISTER
    # Libya's "Secretary for Arab Affairs" is a minister; a "Technical Secretary of" is not.
    if re.search(
        r"\bminister\b|(?<!technical )(?<!executive )(?<!first )(?<!second )(?<!third )"
        r"(?<!private )(?<!press )\bsecretary (?:of|for)\b",
        t,
    ):
        return DeliveryLevel.MINISTER
    if re.search(
        r"\b(?:director|head|chief|ambassador|envoy|commissioner|chef de cabinet|coordinator)\b", t
    ):
        return DeliveryLevel.SENIOR_OFFICIAL
    return DeliveryLevel.WORKING_LEVEL


def method_for(text: str) -> DeliveryMethod:
    t = text.lower()
    if re.search(r"diplomatic note|\bnote verbale\b|\bdipnote\b", t):
        return DeliveryMethod.DIPLOMATIC_NOTE
    if re.search(r"non-?paper", t):
        return DeliveryMethod.NON_PAPER
    if re.search(r"aide[- ]m[eé]moire", t):
        return DeliveryMethod.AIDE_MEMOIRE
    if re.search(r"\bletter\b", t):
        return DeliveryMethod.LETTER
    if re.search(r"\b(?:tele)?phone|\bby phone\b|\bcalled\b|\bphone call\b|\btelcon\b", t):
        return DeliveryMethod.CALL
    return DeliveryMethod.MEETING


def what_they_said(sents: list[str], *, fallback: str = "", limit: int = 1500) -> str:
    """The host side's words: sentences that report speech, up to `limit` characters."""
    picked: list[str] = []
    size = 0
    for s in sents:
        if _SPEECH.search(s) and not (
            _OUR_SIDE.search(s) and not re.search(r"\btold (?:us|emb|pol)", s, re.I)
        ):
            if size + len(s) > limit:
                break
            picked.append(s)
            size += len(s) + 1
        if len(picked) >= 4:
            break
    out = " ".join(picked) or fallback
    return out[:limit].strip() or "(no summary found: see the cable)"


def commitments(sents: list[str]) -> list[str]:
    """Promises the host side made ("will speak at the December 19 session")."""
    out = []
    for s in sents:
        if _COMMITMENT.search(s) and not _OUR_SIDE.search(s):
            out.append(s[:2000])
        if len(out) >= 5:
            break
    return out


def _cable_day(dtg: str | None) -> date | None:
    if not dtg:
        return None
    try:
        return datetime.fromisoformat(dtg.replace("Z", "+00:00")).date()
    except ValueError:
        return None
