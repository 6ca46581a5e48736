"""Property tests: no input makes the parser raise, and non-cables are recognised as such."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cables.parser import looks_like_cable, parse_cable

from ._corpus import corpus_texts

CORPUS = corpus_texts()
# Fragments that steer random text into the parser's interesting branches.
TOKENS = [
    "VZCZC",
    "O 140153Z DEC 07",
    "P R 091612Z JUL 08",
    "FM ",
    "TO ",
    "INFO ",
    "RUEHC/",
    "SECSTATE WASHDC",
    "C O N F I D E N T I A L",
    "SECTION 01 OF 03",
    "STATE 166909",
    "SIPDIS",
    "E.O. 12958: DECL: 12/11/2017",
    "TAGS: ",
    "SUBJECT: ",
    "REF: ",
    "A. ",
    "¶",
    "1. ",
    "11.",
    "(C) ",
    "(SBU) ",
    "-- ",
    "A) ",
    "SUMMARY",
    "END SUMMARY",
    "before December 17",
    "highest appropriate level",
    "(except Beijing)",
    "info only",
    "STATE 00166909 002 OF 003",
    "PAGE 02 ROME 01196",
    "**",
    "[PREL](#)",
    "<b>",
    "&amp;",
    "\\\n",
    "\n",
    " ",
    "Classified By: ",
    "REFS:",
    "2005 STATE 165022",
    "THE HAGUE 1548",
    "RICE",
    "NNNN",
    "\x00",
    "\ufffd",
]


def _check(text: str) -> None:
    p = parse_cable(text)
    d = p.to_dict()
    json.dumps(d)
    assert isinstance(looks_like_cable(p), bool)
    assert d["kind"] in ("instruction", "report", "other")
    assert not any(w.startswith("parser error") for w in d["warnings"]), d["warnings"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_random_text_never_raises(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=20), max_size=120).map("".join))
def test_cable_like_noise_never_raises(text: str) -> None:
    _check(text)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_mutated_real_cables_never_raise(data: st.DataObject) -> None:
    if not CORPUS:
        text = "O 140153Z DEC 07\nFM SECSTATE WASHDC\nSUBJECT: TEST\n1. (U) Body.\n"
    else:
        text = data.draw(st.sampled_from(CORPUS))
    for _ in range(data.draw(st.integers(0, 6))):
        op = data.draw(st.sampled_from(["cut", "delete", "insert", "duplicate", "upper", "lower"]))
        if not text:
            break
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 2000)))
        if op == "cut":
            text = text[:i]
        elif op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + data.draw(st.sampled_from(TOKENS) | st.text(max_size=50)) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "upper":
            text = text[:i] + text[i:j].upper() + text[j:]
        else:
            text = text[:i] + text[i:j].lower() + text[j:]
    _check(text)


def test_degenerate_inputs() -> None:
    for text in [
        "",
        " ",
        "\n" * 1000,
        "\x00\x01\x02",
        "¶" * 5000,
        "1. " * 5000,
        "-- " * 5000,
        "REF: " + "A. STATE 1 " * 2000,
        "SUBJECT:" * 3000,
        "(" * 10000,
        "a" * 200_000,
        "O 140153Z DEC 07 " * 2000,
        "C O N F I D E N T I A L " * 1000,
    ]:
        _check(text)
    _check(b"\xff\xfe binary".decode("latin-1"))
    _check(None)  # type: ignore[arg-type]


def test_not_a_cable() -> None:
    for text in [
        "",
        "hello world",
        "Dear team,\nthe meeting is moved to Friday.\nThanks",
        "1. Buy milk\n2. Eggs",
    ]:
        p = parse_cable(text)
        assert not looks_like_cable(p)
        assert p.warnings


def test_minimal_cable_without_transmission_header() -> None:
    text = (
        "R 010203Z JAN 08\nFM AMEMBASSY PARIS\nTO SECSTATE WASHDC 1234\n\n"
        "UNCLAS PARIS 000012\n\nE.O. 12958: N/A\nTAGS: PREL FR\nSUBJECT: TEST SUBJECT\n\n"
        "REF: A. STATE 5 B. 07 PARIS 99\n\n1. (U) Post delivered reftel points.\n\nSTAPLETON\n"
    )
    p = parse_cable(text)
    assert looks_like_cable(p)
    assert p.ref_id == "08PARIS12"
    assert p.precedence == "ROUTINE"
    assert [r.ref_id for r in p.references] == ["08STATE5", "07PARIS99"]
    assert p.kind == "report"
    assert p.signature == "STAPLETON"
    assert p.classification == "UNCLASSIFIED"
