"""Text clean-up: turn published, relayed or damaged copies into plain telegram lines.

Everything here is linear-time regex work; no pattern may backtrack on long input.
"""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HTML_TAG = re.compile(r"<\s*/?\s*[A-Za-z][A-Za-z0-9]{0,15}\b[^<>\n]{0,300}>")
_HTML_BREAK = re.compile(r"<\s*(?:br|/p|p|/div|div|/tr|/li)\b[^<>\n]{0,300}>", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\[\]\n]{0,200})\]\([^()\n]{0,300}\)")
_MD_BOLD = re.compile(r"\*\*|__")
# TSV exports of the published corpus continue lines with a trailing backslash.
_BACKSLASH_EOL = re.compile(r"[ \t]*\\[ \t]*$", re.MULTILINE)
_TRAILING_WS = re.compile(r"[ \t]+$", re.MULTILINE)
_NBSP = re.compile(r"[\u00a0\u2000-\u200b\u202f\u205f\u3000]")

# Page/section break lines inside the body: "STATE 00166909 002 OF 003",
# "BRASILIA 00001378 001.2 OF 003". They may be glued to content on the same line.
# Anchored on the zero-padded serial so the scan is cheap; the post name before it is trimmed after.
PAGE_BREAK = re.compile(r" 0{2,}\d{1,6} +\d{3}(?:\.\d)? +OF +\d{3}\b[ \t]*")
# Possessive: a word never gives characters back to the next, or a 90-character tail of
# "A.A.A." would be split every way there is (milliseconds each, at every page break).
_PLACE_TAIL = re.compile(r"(?:(?<![A-Za-z0-9])[A-Z][A-Z'.]{1,20}+ ?){1,4}$")
# Old-style page headers: "PAGE 02 ROME 01196 01 OF 02 082030Z", "PAGE 02 STATE 023763".
PAGE_HEADER = re.compile(
    r"(?<![A-Za-z0-9])PAGE +\d{2,3} +[A-Z][A-Z'.]{0,12}(?: [A-Z][A-Z'.]{0,12}){0,2} +\d{3,7}"
    r"(?: +\d{2} +OF +\d{2})?(?: +\d{6}Z)?[ \t]*"
)
# A bare classification word left at the foot of a page right before such a header.
_PAGE_FOOT = re.compile(
    r"\b(?:UNCLASSIFIED|CONFIDENTIAL|SECRET|LIMITED OFFICIAL USE)[ \t]*(?:PTQ\d+)?[ \t]*\n(?:[ \t]*\n)*(?=[ \t]*PAGE +\d{2,3} )"
)
_PARTIAL_EXTRACT = re.compile(
    r"^This record is a partial extract of the original cable\..*$", re.MULTILINE | re.IGNORECASE
)


def strip_controls(text: str) -> str:
    """The text with every control character but tab, newline and carriage return (NUL,
    the rest of C0, DEL) as a space: what is stored. No cable needs them, PostgreSQL
    refuses NUL in text, and the parser reads them as spaces anyway."""
    return _CONTROL.sub(" ", text) if _CONTROL.search(text) else text


def normalize(raw: object) -> tuple[str, list[str]]:
    """Return (clean text, warnings). Never raises."""
    warnings: list[str] = []
    if isinstance(raw, (bytes, bytearray)):
        text = bytes(raw).decode("utf-8", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        text = "" if raw is None else str(raw)
    if "\x00" in text or _CONTROL.search(text):
        warnings.append("control characters removed")
        text = _CONTROL.sub(" ", text)
    # Unicode's line and paragraph separators end a line as a newline does.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    text = _NBSP.sub(" ", text)
    if "<" in text and ">" in text:
        text = _HTML_BREAK.sub("\n", text)
        text = _HTML_TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
        text = _NBSP.sub(" ", text)
    if "](" in text:
        text = _MD_LINK.sub(r"\1", text)
    if "**" in text or "__" in text:
        text = _MD_BOLD.sub("", text)
    if "\\" in text:
        text = _BACKSLASH_EOL.sub("", text)
    if "artial extract" in text:
        text = _PARTIAL_EXTRACT.sub("", text)
    if "PAGE " in text:
        text = _PAGE_FOOT.sub("\n", text)
        text = PAGE_HEADER.sub("", text)
    if " OF " in text:
        text = _drop_page_breaks(text)
    text = "\n".join([line.rstrip(" \t") for line in text.split("\n")])
    return text, warnings


def _drop_page_breaks(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in PAGE_BREAK.finditer(text):
        head = text[max(pos, m.start() - 90) : m.start()]
        pm = _PLACE_TAIL.search(head)
        if pm is None:
            continue
        out.append(text[pos : m.start() - (len(head) - pm.start())])
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def fold(text: str) -> str:
    """Collapse whitespace to single spaces (str.split is several times faster than a regex)."""
    return " ".join(text.split())
