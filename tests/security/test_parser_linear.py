"""No cable ties up a worker: the parser and the report reader stay linear at the
largest cable the service takes.

Each input is a long run of one adversarial unit (capitals, spaces, digits,
punctuation, a header keyword, a prose cue...) at the maximum cable size, alone or
placed where the parser reads it hardest (a report's body, an instruction's action
paragraph or points, the SUBJECT or REF line, the address block). A regex that
backtracks over such a run takes minutes or hours here; a linear one takes well
under a second. The bound is generous on purpose: this is a safety test, not a
benchmark.

The curated cases run by default; PARSER_LINEAR_ALL=1 runs every unit in every
placement (a few minutes).
"""

from __future__ import annotations

import os
import time

import pytest

from app.cables.parser import MAX_CHARS, parse_cable
from app.cables.replies import suggest_reply
from app.settings import Settings

# The largest cable an upload may carry (MAX_CABLE_BYTES); ASCII, so one byte a character.
SIZE = Settings.model_fields["max_cable_bytes"].default
BOUND_SECONDS = 5.0

UNITS: dict[str, str] = {
    # runs of one kind of character
    "capitals": "A",
    "capital words": "ABC ",
    "title-case words": "Abc ",
    "mixed case": "Aa",
    "capitals and digits": "A1",
    "initials": "A.",
    "capitals and slashes": "NOFORN/",
    "spaces": " ",
    "tabs": "\t",
    "newlines": "\n",
    "spaces and newlines": " \n",
    "digits": "1",
    "digit groups": "12 ",
    "dots": ".",
    "punctuation": ".,;:()-",
    "parentheses": "(",
    "quotes": "\"'",
    "hyphens": "-",
    "commas": ", ",
    # paragraph and list structure
    "numbered lines": "1.\n",
    "paragraph starts": "1. (C) ",
    "paragraph numbers": "12. ",
    "pilcrows": "¶",
    "bullets": "-- ",
    "bullet lines": "-- x\ny\n",
    "sub-points": "A) ",
    "letter labels": "A. ",
    # header keywords, repeated
    "FM": "FM ",
    "TO": "TO ",
    "INFO": "INFO ",
    "REF": "REF: ",
    "SUBJECT": "SUBJECT: ",
    "TAGS": "TAGS: ",
    "Classified By": "Classified By: ",
    "E.O.": "E.O. 12958: ",
    "captions": "SIPDIS ",
    "spaced classification": "C O N F I D E N T I A L ",
    "date-time groups": "O 140153Z DEC 07 ",
    "page headers": "PAGE 02 ROME 01196 ",
    "page breaks": " 0001 001 OF 003 ",
    "DE line": "DE RUEHHI #",
    "summary": "SUMMARY ",
    # prose cues of instructions and reports
    "delivered": "delivered ",
    "said": "said ",
    "will support": "will support ",
    "name after to": "to Abc Def, ",
    "minister of": "Minister of ",
    "director general": "Director General ",
    "the head": "the Head ",
    "ministry of the": "Ministry of the ",
    "Mr.": "Mr. ",
    "U.S.": "U.S. ",
    "al-": "al-Abc ",
    "prose dates": "December 17 ",
    "deadlines out of range": "BEFORE JUNE 17 ",
    "deliver on": "DELIVER ON ",
    "posts": "POSTS ",
    "posts should": "posts should ",
    "info only": "info only for ",
    "except": "(except ",
    "at the level": "AT THE A ",
    "session": "A SESSION ",
    # markup the clean-up strips
    "html": "<b ",
    "markdown links": "[x](",
    "entities": "&amp;",
    "bold": "**",
    "backslash lines": "\\\n",
}

_REPORT_HEAD = (
    "P 160900Z DEC 07\nFM AMEMBASSY HANOI\nTO RUEHC/SECSTATE WASHDC PRIORITY 1234\n\n"
    "C O N F I D E N T I A L HANOI 001234\n\nTAGS: PREL UN VM\n"
    "SUBJECT: DEMARCHE DELIVERED\n\nREF: STATE 166909\n\n"
    "1. (C) Poloff delivered reftel points to "
)
_INSTRUCTION_HEAD = (
    "O 140153Z DEC 07\nFM SECSTATE WASHDC\nTO RUEHHI/AMEMBASSY HANOI IMMEDIATE 5685\n\n"
    "C O N F I D E N T I A L STATE 166909\n\nTAGS: PREL UN\nSUBJECT: DEMARCHE ON A VOTE\n\n"
)
_ACTION = (
    "1. (SBU) This is an action request. Embassy Hanoi should deliver the points below "
    "before December 17 to officials. Objectives: "
)
_POINTS = "\n\n2. (U) Points:\n\n-- We urge "

# Where a run goes: (text before, text after); the run fills the rest of SIZE.
PLACEMENTS: dict[str, tuple[str, str]] = {
    "alone": ("", ""),
    "report body": (_REPORT_HEAD, "\n\nMICHALAK\n"),
    "action paragraph": (_INSTRUCTION_HEAD + "REF: STATE 1\n\n" + _ACTION, _POINTS + "x\n\nRICE\n"),
    "talking points": (_INSTRUCTION_HEAD + _ACTION + "x" + _POINTS, "\n\nRICE\n"),
    "subject line": ("O 140153Z DEC 07\nFM SECSTATE WASHDC\nSUBJECT: ", "\n1. (U) x\n"),
    "REF line": (_INSTRUCTION_HEAD + "REF: ", "\n\n" + _ACTION + "x" + _POINTS + "x\n\nRICE\n"),
    "address block": ("O 140153Z DEC 07\nFM SECSTATE WASHDC\nTO ", "\nSUBJECT: X\n1. (U) x\n"),
}


def _sequential_paragraphs(size: int) -> str:
    """Thousands of correctly numbered, marked paragraphs (the most the parser accepts)."""
    head = _INSTRUCTION_HEAD + _ACTION + "x\n"
    out, n, used = [head], 2, len(head)
    while used < size:
        line = f"{n}. (S) Posts should deliver -- x\n"
        out.append(line)
        used += len(line)
        n += 1
    return "".join(out)[:size]


# Inputs that are not one repeated unit.
CRAFTED = {
    # A page-break line after a run of dotted capitals: the post name before it is looked
    # for in the 90 characters before each break.
    "page breaks after dotted capitals": lambda size: (
        ("A." * 44 + "a 0001 001 OF 003 ") * (size // 106 + 1)
    )[:size],
    "sequential paragraphs": _sequential_paragraphs,
    "numbered points": lambda size: (
        _INSTRUCTION_HEAD + _ACTION + "x" + _POINTS + ("x\n-- x\nA) y\n" * (size // 12 + 1))
    )[:size],
    "REF items": lambda size: (_INSTRUCTION_HEAD + "REF: " + "A. STATE 1 " * (size // 11 + 1))[
        :size
    ],
}

# By default: every unit in a report's body (what the report reader reads), and the runs
# that were slow before, quadratic or close to it, where they were slow (the slowest of
# the full matrix: PARSER_LINEAR_ALL=1).
CURATED: list[tuple[str, str]] = [
    *((unit, "report body") for unit in UNITS),
    ("numbered lines", "subject line"),
    ("numbered lines", "action paragraph"),
    ("bullet lines", "action paragraph"),
    ("bullet lines", "talking points"),
    ("newlines", "address block"),
    ("captions", "address block"),
    ("page breaks", "subject line"),
    ("Classified By", "subject line"),
    ("digit groups", "subject line"),
    ("capitals", "subject line"),
    ("info only", "action paragraph"),
    ("deadlines out of range", "action paragraph"),
    ("prose dates", "action paragraph"),
    ("posts should", "action paragraph"),
    ("posts", "REF line"),
    ("letter labels", "REF line"),
    ("date-time groups", "alone"),
    ("paragraph starts", "alone"),
    ("initials", "alone"),
]
CASES = (
    [(u, p) for p in PLACEMENTS for u in UNITS] if os.environ.get("PARSER_LINEAR_ALL") else CURATED
) + [(name, "crafted") for name in CRAFTED]


def adversarial(unit: str, placement: str, size: int = SIZE) -> str:
    before, after = PLACEMENTS[placement]
    n = size - len(before) - len(after)
    run = UNITS[unit] * (n // len(UNITS[unit]) + 1)
    return before + run[:n] + after


def _text_of(unit: str, placement: str) -> str:
    return CRAFTED[unit](SIZE) if placement == "crafted" else adversarial(unit, placement)


def test_the_largest_upload_is_parsed_whole_not_truncated():
    """The inputs below are the size of the largest upload, and the parser reads all of it."""
    assert MAX_CHARS >= SIZE
    text = adversarial("capitals", "report body")
    assert len(text) == SIZE
    assert not any("truncated" in w for w in parse_cable(text).warnings)


@pytest.mark.parametrize(("unit", "placement"), CASES, ids=[f"{u}-{p}" for u, p in CASES])
def test_parser_and_report_reader_stay_linear(unit: str, placement: str):
    text = _text_of(unit, placement)
    assert len(text) == SIZE
    started = time.perf_counter()
    parsed = parse_cable(text)
    parsed_in = time.perf_counter() - started
    suggest_reply(parsed)  # what a report's upload runs next, whatever its kind
    total = time.perf_counter() - started
    assert total < BOUND_SECONDS, (
        f"{unit!r} in the {placement}: parse {parsed_in:.1f} s, "
        f"report reader {total - parsed_in:.1f} s, on {len(text):,} characters"
    )
