"""What an instruction asks for: action paragraphs, deadline, level, objectives, points, dates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import _dates
from ._model import KeyDate, Paragraph, TalkingPoint
from ._text import fold

_ACTION = re.compile(
    r"\bTHIS IS AN? (?:ACTION|INSTRUCTION) (?:REQUEST|CABLE|MESSAGE)\b|\bACTION REQUEST(?:ED)?\b|"
    r"\bTHIS IS AN ACTION\b|\bREQUEST FOR ACTION\b"
)
_NO_ACTION = re.compile(r"\bNO ACTION (?:IS )?REQUIRED\b|\bNO ACTION REQUESTED\b")
_REQUEST_CUE = re.compile(
    r"\bDEPARTMENT REQUESTS\b|\bPLEASE (?:DELIVER|REPORT|APPROACH|DEMARCHE|CONVEY|RAISE|PASS|SHARE|CONTACT|INFORM|SEEK|URGE)\b|"
    r"\b(?:POSTS?|EMBASS(?:Y|IES)|ADDRESSEES|MISSIONS?|USUN|USEU|USNATO)\s+(?:ARE|IS|SHOULD BE)\s+(?:REQUESTED|INSTRUCTED|ASKED|DIRECTED)\b"
)
_DIRECTIVE_HINTS = ("REQUEST", "SHOULD", "PLEASE", "INSTRUCT", "ASKED", "DIRECTED", "AUTHORIZED")
_SEE_PARAS = re.compile(
    r"\b(?:SEE|IN|AT)\s+(?:PARA(?:GRAPH)?S?\.?)\s*(\d{1,2})(?:\s*(?:-|THROUGH|TO|AND|&|,)\s*(\d{1,2}))?"
)
_DIRECTIVE = re.compile(
    r"\b(?:(?:POSTS?|EMBASS(?:Y|IES)|MISSIONS?|USUN|USEU|USNATO|CHIEFS? OF MISSION|AMBASSADORS?)\b[^.]{0,160}?"
    r"\b(?:(?:ARE|IS) (?:REQUESTED|INSTRUCTED|ASKED|DIRECTED|AUTHORIZED)|SHOULD|PLEASE)|"
    r"\bDEPARTMENT REQUESTS\b|\bPLEASE (?:DELIVER|APPROACH|DEMARCHE|CONVEY|RAISE|PASS|SHARE|REPORT)\b|"
    r"\bREQUEST(?:S|ED)? (?:THAT )?(?:POSTS?|EMBASS(?:Y|IES)|MISSIONS?|USUN|USEU)\b)"
)
_DEADLINE = re.compile(
    r"\b(?:BEFORE|BY|NO LATER THAN|NOT LATER THAN|NLT|PRIOR TO|ON OR BEFORE|UNTIL)\s+"
    r"(?:(?:COB|C\.O\.B\.|CLOSE OF BUSINESS|NOON|MIDNIGHT|(?:MONDAY|TUESDAY|WEDNESDAY|THURSDAY|FRIDAY|SATURDAY|SUNDAY)),?\s+){0,2}"
    r"(?:(?:ON|THE)\s+)?",
    re.IGNORECASE,
)
_LEVEL = re.compile(r"\bAT\s+(?:THE|AN|A)\s+((?:[A-Z-]+\s+){1,3}LEVELS?)\b", re.IGNORECASE)
_LEVEL_GOOD = re.compile(
    r"HIGHEST|APPROPRIATE|SENIOR|MINISTER|WORKING|AMBASSADOR|EXPERT|LEVEL", re.IGNORECASE
)
_OBJECTIVES = re.compile(r"\bOBJECTIVES?\b", re.IGNORECASE)
_POINTS = re.compile(r"\b(?:TALKING POINTS|POINTS\b|BEGIN POINTS|NON-?PAPER)", re.IGNORECASE)
_BULLET = re.compile(r"^(?:--+|-(?=\S)|•|\*)\s*")
_SUBPOINT = re.compile(r"^(?:\(?[A-Za-z]\)|[A-Za-z]\.(?=\s))\s*")
# A prose exclusion from the addressees: "(except Beijing)", "(except for Embassies
# Warsaw and Prague)". The posts named are not tasked through the collective or group
# the sentence names; "info only" is said apart (below), and may name them again.
_EXCEPT = re.compile(r"\(\s*EXCEPT(?:\s+FOR)?\s+([A-Z][A-Za-z' ,-]{1,80}?)\s*\)", re.IGNORECASE)
_INFO_ONLY = (
    re.compile(
        r"\bINFO(?:RMATION)?\s+ONLY\s+(?:FOR|TO)\s+([A-Z][A-Za-z' ,-]{1,60}?)(?=[.;:)]|\s*$|\s+(?:AND|BUT)\s)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b([A-Z][A-Za-z'-]{2,30}(?: [A-Z][A-Za-z'-]{2,30})?)\s+(?:IS|ARE)\s+INFO(?:RMATION)?\s+ONLY\b",
        re.IGNORECASE,
    ),
)
# Words before a post's name in prose ("Embassies Warsaw and Prague"): not its name.
_POST_WORDS = re.compile(
    r"^(?:(?:US|U\.S\.|AMERICAN)\s+)?(?:EMBASS(?:Y|IES)|CONSULATES?(?: GENERAL)?|MISSIONS?|POSTS?)\s+(?:IN\s+|AT\s+)?",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"])")
_TARGET_WORDS = re.compile(
    r"\b(?:EMBASS(?:Y|IES)|POSTS?|MISSIONS?|USUN|USEU|USNATO|CONSULATES?)\b[^.]{0,200}\b(?:DELIVER|DEMARCHE|APPROACH|RAISE|CONVEY|SHARE|PASS|PRESS|URGE|CONTACT)",
    re.IGNORECASE,
)
_NAME_SPLIT = re.compile(r"\s*(?:,|\bAND\b|&)\s*", re.IGNORECASE)


# How much of a body the prose cues read, and how many list items a paragraph gives.
# The corpus's longest cable has 31,000 characters (its longest paragraph 12,700) and
# no instruction lists more than a few dozen points: past these bounds nothing more is
# read, so that an upload of megabytes costs what a long cable does.
PROSE_LIMIT = 100_000
MAX_ITEMS = 300


def within_budget(texts: list[tuple[int | None, str]]) -> list[tuple[int | None, str]]:
    """The leading texts (paragraphs) that fit in PROSE_LIMIT characters, the last cut."""
    out: list[tuple[int | None, str]] = []
    left = PROSE_LIMIT
    for number, text in texts:
        if left <= 0:
            break
        out.append((number, text[:left]))
        left -= len(text) + 1
    return out


@dataclass
class Instruction:
    action_request: bool = False
    action_paragraphs: list[int] = field(default_factory=list)
    deadline: date | None = None
    delivery_level: str | None = None
    objectives: list[str] = field(default_factory=list)
    talking_points: list[TalkingPoint] = field(default_factory=list)
    key_dates: list[KeyDate] = field(default_factory=list)
    info_only: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    target_description: str | None = None


def action_pass(paras: list[Paragraph], body_upper: str, preamble: str = "") -> Instruction:
    """Cheap pass every cable gets: is there an action request, and in which paragraphs.

    Cue patterns are upper-case and case-sensitive, so they read upper-cased text (much faster).
    """
    ins = Instruction()
    body = body_upper[:PROSE_LIMIT]
    texts = [(n, t.upper()) for n, t in within_budget([(p.number, p.text) for p in paras])]
    texts = texts or [(None, body)]
    preamble = preamble[:PROSE_LIMIT].upper()
    flagged: list[int] = []
    no_action = any(_NO_ACTION.search(t) for _, t in texts[:2])
    for number, text in texts[:4]:
        if _ACTION.search(text):
            if number is not None:
                flagged.append(number)
            for sm in _SEE_PARAS.finditer(text):
                lo = int(sm.group(1))
                hi = int(sm.group(2)) if sm.group(2) else lo
                if lo <= hi <= lo + 10:
                    flagged.extend(range(lo, hi + 1))
    for number, text in texts:
        if number is None or number in flagged:
            continue
        # Cheap test first: once a paragraph is flagged, only "ACTION ..." headed ones can join.
        if not any(hint in text for hint in _DIRECTIVE_HINTS):
            continue  # plain substring checks are far cheaper than the directive pattern
        if (not flagged or "ACTION" in text[:80]) and _DIRECTIVE.search(text):
            flagged.append(number)
    ins.action_request = not no_action and bool(
        flagged
        or _ACTION.search(preamble)
        or ("ACTION" in body and _ACTION.search(body))
        or (any(hint in body for hint in _DIRECTIVE_HINTS) and _REQUEST_CUE.search(body))
    )
    ins.action_paragraphs = sorted(set(flagged))
    return ins


def analyse(
    paras: list[Paragraph], body: str, cable_day: date | None, subject: str | None, ins: Instruction
) -> Instruction:
    """Full reading of an instruction (given its action pass): deadline, level, points, dates, targets."""
    texts = within_budget([(p.number, p.text) for p in paras] or [(None, body)])
    flats = [fold(t) for _, t in texts]  # folded once: every prose pattern below reads these
    action_flats = [
        f for (n, _), f in zip(texts, flats, strict=True) if n in ins.action_paragraphs
    ] or flats[:3]
    ins.deadline = _deadline(action_flats, flats, cable_day, subject)
    ins.delivery_level = _level(action_flats) or _level(flats)
    ins.target_description = _target(action_flats)
    ins.info_only = _info_only(action_flats + flats[:3])
    ins.excluded = _excluded(action_flats + flats[:3])
    for _, text in texts:
        head = text[:300]
        if not ins.objectives and _OBJECTIVES.search(head):
            ins.objectives = [fold(b) for b, _ in _bullets(text)]
        if _POINTS.search(head) and len(ins.talking_points) < MAX_ITEMS and _bullets(text):
            ins.talking_points.extend(_points(text))
    del ins.talking_points[MAX_ITEMS:]
    ins.key_dates = _key_dates(flats, cable_day, ins.deadline)
    return ins


_ACTION_VERB = re.compile(
    r"\b(?:DELIVER|REPORT|DEMARCHE|RESPOND|REPLY|CONVEY|APPROACH|RAISE|PROVIDE|SHARE|CONTACT|SUBMIT|INFORM)",
    re.IGNORECASE,
)
_ON_DATE = re.compile(
    r"\b(?:DELIVER(?:ED)?|CONVEY(?:ED)?|DEMARCHE|APPROACH|RAISE[D]?)\b[^.]{0,60}?\bON\s+(?:(?:MONDAY|TUESDAY|WEDNESDAY|THURSDAY|FRIDAY|SATURDAY|SUNDAY),?\s+)?",
    re.IGNORECASE,
)


_NUMBER_WORDS = {
    w: n
    for n, w in enumerate(
        [
            "ONE",
            "TWO",
            "THREE",
            "FOUR",
            "FIVE",
            "SIX",
            "SEVEN",
            "EIGHT",
            "NINE",
            "TEN",
            "ELEVEN",
            "TWELVE",
            "THIRTEEN",
            "FOURTEEN",
            "FIFTEEN",
            "SIXTEEN",
            "SEVENTEEN",
            "EIGHTEEN",
            "NINETEEN",
            "TWENTY",
        ],
        start=1,
    )
}
# "within seven business days", "within 45 days", "within two weeks": counted from the DTG.
_WITHIN = re.compile(
    r"\bWITHIN\s+(?:THE\s+NEXT\s+)?(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")"
    r"(?:\s*\(\d{1,3}\))?\s+(BUSINESS\s+|WORKING\s+)?(DAYS?|WEEKS?)\b"
)


# The demarche's own acts: a span to "complete a check" or for a notice is not its deadline.
_ASKED_WITHIN = re.compile(r"\b(?:DELIVER|REPORT|RESPOND|REPLY|DEMARCHE|APPROACH|CONVEY|RAISE)\b")


def _within(up: str, cable_day: date) -> date | None:
    """The date a relative deadline in an action sentence falls on, if the text has one."""
    for m in _WITHIN.finditer(up):
        # Only a span for the demarche itself: quoted rules inside an action paragraph say
        # "notice is provided within two working days", end-use checks "within 45 days".
        if not _ASKED_WITHIN.search(_sentence_around(up, m.start())):
            continue
        word = m.group(1)
        n = int(word) if word.isdigit() else _NUMBER_WORDS[word]
        if m.group(3).startswith("WEEK"):
            n *= 7
        if not 0 < n <= 120:
            continue
        if not m.group(2):
            return cable_day + timedelta(days=n)
        day = cable_day
        while n:
            day += timedelta(days=1)
            n -= day.weekday() < 5  # Monday to Friday are business days
        return day
    return None


_DEADLINE_UP = re.compile(_DEADLINE.pattern)
_ON_DATE_UP = re.compile(_ON_DATE.pattern)


def _deadline(
    action_texts: list[str], all_texts: list[str], cable_day: date | None, subject: str | None
) -> date | None:
    """First dated 'before/by ...' in the action paragraphs, then in any action sentence, then softer cues."""
    ok_ahead = lambda d: d is not None and (cable_day is None or 0 <= (d - cable_day).days <= 120)  # noqa: E731
    for texts, need_verb in ((action_texts, False), (all_texts, True)):
        for text in texts:
            # Upper-cased once so the case-sensitive twins can scan it; one pass over the text.
            up = text.upper()
            if len(up) != len(text):
                continue
            for m in _DEADLINE_UP.finditer(up):
                dm = _dates.PROSE_DATE_UPPER.match(up, m.end())
                if not dm:
                    continue
                if need_verb and not _ACTION_VERB.search(_sentence_around(up, m.start())):
                    continue
                d = _dates.resolve(dm, cable_day)
                if ok_ahead(d):
                    return d
    if cable_day is not None:
        for text in action_texts:
            if (d := _within(text.upper(), cable_day)) is not None:
                return d
    for text in all_texts:
        up = text.upper()
        for m in _ON_DATE_UP.finditer(up):
            dm = _dates.PROSE_DATE_UPPER.match(up, m.end())
            if dm:
                d = _dates.resolve(dm, cable_day)
                if d is not None and (cable_day is None or -3 <= (d - cable_day).days <= 60):
                    return d
    if subject:
        sm = _dates.PROSE_DATE.search(subject)
        if sm:
            d = _dates.resolve(sm, cable_day)
            if d is not None and (cable_day is None or 0 <= (d - cable_day).days <= 60):
                return d
    return None


def _level(texts: list[str]) -> str | None:
    for text in texts:
        for m in _LEVEL.finditer(text):
            phrase = fold(m.group(1)).lower()
            if _LEVEL_GOOD.search(phrase):
                return phrase
    return None


def _target(texts: list[str]) -> str | None:
    for text in texts:
        for sentence in _SENTENCE.split(text):
            if _TARGET_WORDS.search(sentence) and not sentence.upper().startswith(
                "THIS IS AN ACTION"
            ):
                return sentence
    return None


def _names(found: str, names: list[str]) -> None:
    """The posts named in a phrase ("Embassies Warsaw and Prague"), added to names once."""
    for name in _NAME_SPLIT.split(found):
        name = _POST_WORDS.sub("", name.strip(" .")).strip(" .")
        if 2 < len(name) < 40 and name.upper() not in ("THIS MESSAGE", "THIS CABLE", "IT", "THIS"):
            pretty = name.title() if name.isupper() else name
            if pretty not in names:
                names.append(pretty)


def _info_only(texts: list[str]) -> list[str]:
    names: list[str] = []
    for text in texts:
        low = text.lower()
        if not ("info" in low and "only" in low):
            continue
        for rx in _INFO_ONLY:  # already folded
            for m in rx.finditer(text):
                _names(m.group(1), names)
    return names


def _excluded(texts: list[str]) -> list[str]:
    """Posts the prose takes out of the addressees: "(except Beijing)"."""
    names: list[str] = []
    for text in texts:
        if "except" not in text.lower():
            continue
        for m in _EXCEPT.finditer(text):
            _names(m.group(1), names)
    return names


def _bullets(text: str) -> list[tuple[str, list[str]]]:
    """'--' items of a paragraph, each with its lettered sub-points."""
    # Each item and sub-point as a list of its lines, joined once at the end: adding a
    # line at a time to a string is quadratic on an item of many short lines.
    items: list[tuple[list[str], list[list[str]]]] = []
    for line in text.split("\n"):
        s = line.strip()
        if not s:
            continue
        bm = _BULLET.match(s)
        if bm:
            if len(items) == MAX_ITEMS:
                break
            items.append(([s[bm.end() :].strip()], []))
        elif items and _SUBPOINT.match(s):
            items[-1][1].append([s])
        elif items:
            head, subs = items[-1]
            (subs[-1] if subs else head).append(s)
    return [(" ".join(head), [" ".join(sub) for sub in subs]) for head, subs in items]


def _points(text: str) -> list[TalkingPoint]:
    intro = text.split("\n", 1)[0].upper()
    use = "private"
    if (
        "PUBLIC" in intro
        and "PRIVATE" not in intro
        and not re.search(r"PUBLIC USE (?:ARE )?AVAILABLE", intro)
    ):
        use = "public"
    out: list[TalkingPoint] = []
    for head, subs in _bullets(text):
        body = fold(head)
        if subs:
            body = body + "\n" + "\n".join(fold(s) for s in subs)
        out.append(TalkingPoint(text=body, use=use))
    return out


def _key_dates(texts: list[str], cable_day: date | None, deadline: date | None) -> list[KeyDate]:
    seen: dict[date, str] = {}
    for text in texts:
        flat = text  # already folded
        for m in _dates.find_dates(flat):
            d = _dates.resolve(m, cable_day)
            if d is None or d == deadline or (cable_day is not None and d < cable_day) or d in seen:
                continue
            if cable_day is not None and (d - cable_day).days > 400:
                continue
            tail = flat[m.end() : m.end() + 160]
            what = _event_after(tail) or _sentence_around(flat, m.start())
            seen[d] = what
    return [KeyDate(date=d.isoformat(), what=w) for d, w in sorted(seen.items())]


_EVENT = re.compile(
    r"^\s*((?:[A-Z(][A-Za-z()./-]*\s+){0,6}?(?:SESSION|MEETING|VOTE|CONFERENCE|SUMMIT|CONSULTATIONS|BOARD|DEBATE|ELECTION|RELEASE|VISIT|DEADLINE)\b(?:\s+ON\s+[A-Z][A-Za-z]+)?)",
    re.IGNORECASE,
)


def _event_after(tail: str) -> str | None:
    m = _EVENT.match(tail)
    return fold(m.group(1)) if m else None


# How far either way a sentence is looked for around a cue. Each cue's scan is bounded,
# so a paragraph of thousands of cues and no full stop costs its length, not its square.
_SENTENCE_REACH = 2000


def _sentence_around(flat: str, pos: int) -> str:
    lo = max(0, pos - _SENTENCE_REACH)
    dot = flat.rfind(". ", lo, pos)
    start = lo if dot < 0 else dot + 2
    end = flat.find(". ", pos, pos + _SENTENCE_REACH)
    end = min(len(flat), pos + _SENTENCE_REACH) if end < 0 else end + 1
    return flat[start:end].strip()[:240]
