"""Body: numbered paragraphs (renumbered from their sequence), summary, signature."""

from __future__ import annotations

import re

from ._model import Paragraph
from ._text import fold

# A paragraph start at the beginning of a line: "¶4.", "1.", "1.(C)", "1,", "11." (mangled 1).
_PARA_START = re.compile(r"^[ \t]*(¶ ?)?(\d{1,4})(?:[.,]|\.(?=\())[ \t]*(?=\S)", re.MULTILINE)
# A paragraph run inline after a sentence: "... in general.  2. (U)  According ..."
_PARA_INLINE = re.compile(
    r"[.!?\"')\]] {1,3}((?:¶ ?)?)(\d{1,2})\. ?(?=\((?:U|SBU|C|S|S/NF|C/NF|TS|S//NF|C//NF|SBU/NF)\))"
)
_MARKING = re.compile(
    r"^\((U|SBU|C|S|TS|U/FOUO|[SCU]/ ?[A-Z]{1,6}(?:/[A-Z]{1,6})?|SBU/[A-Z]{1,6}|[SC]//[A-Z]{1,6})\)\s*"
)
_SUMMARY = re.compile(r"\bSUMMARY\s*[:.]?\s*(?:-{3,}\s*)?", re.IGNORECASE)
_END_SUMMARY = re.compile(r"\bEND\s+(?:OF\s+)?SUMMARY\b", re.IGNORECASE)
_SIG_LINE = re.compile(r"^[ \t]*([A-Z][A-Za-z'.-]{1,30}(?: [A-Z][A-Za-z'.-]{1,30}){0,2})[ \t]*$")
_TRAILER = re.compile(
    r"^[ \t]*(?:NNNN|END CABLE TEXT|=+ ?CABLE ENDS ?=+|BT|#\d+|XXXXX+|\.{3})[ \t]*$", re.IGNORECASE
)
_NOT_SIGNATURE = {
    "SIPDIS",
    "NOFORN",
    "UNCLASSIFIED",
    "CONFIDENTIAL",
    "SECRET",
    "NNNN",
    "END",
    "BT",
    "SENSITIVE",
    "UNCLAS",
}


def split_paragraphs(body: str) -> list[Paragraph]:
    starts: list[tuple[int, int, int, bool]] = []  # (offset, text offset, raw number, has pilcrow)
    for m in _PARA_START.finditer(body):
        starts.append((m.start(), m.end(), int(m.group(2)), bool(m.group(1))))
    for m in _PARA_INLINE.finditer(body):
        # The match starts with the sentence's closing punctuation: the paragraph starts after it.
        starts.append((m.start() + 1, m.end(), int(m.group(2)), bool(m.group(1))))
    starts.sort()
    accepted: list[tuple[int, int, int]] = []
    expected = 1
    for off, text_off, raw, pilcrow in starts:
        number = _infer(raw, expected, pilcrow, bool(accepted))
        if number is None:
            continue
        accepted.append((off, text_off, number))
        expected = number + 1
    paras: list[Paragraph] = []
    for i, (_start, text_off, number) in enumerate(accepted):
        end = accepted[i + 1][0] if i + 1 < len(accepted) else len(body)
        chunk = body[text_off:end].strip()
        marking = None
        mm = _MARKING.match(chunk)
        if mm:
            marking = mm.group(1).replace(" ", "")
            chunk = chunk[mm.end() :]
        paras.append(Paragraph(number=number, marking=marking, text=_clean_para(chunk)))
    return paras


def _infer(raw: int, expected: int, pilcrow: bool, started: bool) -> int | None:
    """Number the author meant, or None when the match is not a paragraph start."""
    if raw == expected:
        return raw
    s, e = str(raw), str(expected)
    # Published copies prefix a stray "1": "11." for 1, "18." for 8, "110." for 10.
    if s == "1" + e:
        return expected
    if not started:
        return raw if 1 <= raw <= 3 or (pilcrow and raw <= 9) else None
    # A skipped paragraph (redacted or lost) is plausible; big jumps or going back are not.
    if expected < raw <= expected + 2 and (pilcrow or raw < 100):
        return raw
    return None


def _clean_para(chunk: str) -> str:
    lines = [ln.strip() for ln in chunk.split("\n")]
    out: list[str] = []
    for ln in lines:
        if not ln:
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(ln)
    # Paragraph text keeps bullet/sub-point line structure; wrapped lines are joined.
    # Lines are gathered and joined once: growing a string in a list, line by line, is
    # quadratic on a paragraph of many short lines.
    text_lines: list[list[str]] = []  # an empty list stands for a blank line
    for ln in out:
        if ln == "":
            text_lines.append([])
        elif text_lines and text_lines[-1] and not _is_item_start(ln):
            text_lines[-1].append(ln)
        else:
            text_lines.append([ln])
    return "\n".join(" ".join(t) for t in text_lines).strip()


_ITEM_START = re.compile(
    r"^(?:--|-(?=\S)|•|\*|[A-Za-z]\)|\(?[A-Za-z0-9]{1,2}\)|¶?[A-Z]\.|\d{1,2}\))"
)


def _is_item_start(line: str) -> bool:
    return bool(_ITEM_START.match(line))


def summary(body: str) -> str | None:
    if "ummary" not in body and "UMMARY" not in body:
        return None
    m = _SUMMARY.search(body)
    while m is not None:
        before = body[max(0, m.start() - 6) : m.start()]
        if re.search(r"END\s*$", before, re.IGNORECASE):
            m = _SUMMARY.search(body, m.end())
            continue
        break
    if m is None:
        return None
    end = _END_SUMMARY.search(body, m.end(), m.end() + 8000)
    if end is None:
        return None
    text = body[m.end() : end.start()]
    text = _PARA_START.sub("", text)
    text = fold(_MARKING.sub("", text.strip()))
    return text.rstrip(" .") + "." if text else None


def signature(body: str) -> str | None:
    lines = body.rstrip().split("\n")
    for line in reversed(lines[-8:]):
        s = line.strip()
        if not s or _TRAILER.match(s):
            continue
        sm = _SIG_LINE.match(s)
        if sm and s.upper() not in _NOT_SIGNATURE and len(s) <= 40:
            return sm.group(1)
        # A signature may close the last paragraph's line: "...of the Department. RICE"
        tail = re.search(r"[.!?\"')]\s+([A-Z][A-Z'-]{2,30}(?: [A-Z][A-Z'-]{1,30})?)\s*$", s)
        if tail and tail.group(1) not in _NOT_SIGNATURE:
            return tail.group(1)
        return None
    return None
