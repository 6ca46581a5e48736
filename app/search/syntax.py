"""What a search box accepts, read once for both databases: web-search syntax.

`word word` (all of them), `"a phrase"`, `-word` or `-"a phrase"` (none of it), and
`a or b` (either). PostgreSQL reads the same text with websearch_to_tsquery; SQLite gets
an FTS5 expression built here in which every term is a quoted string, so nothing a user
types is ever FTS5 syntax: no input can make the query fail. Pure functions, no database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Words as both engines' tokenizers see them: runs of letters and digits.
_WORD = re.compile(r"[^\W_]+")
_ITEM = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean(q: str) -> str:
    """The query without control characters (PostgreSQL text holds no NUL)."""
    return _CONTROL.sub(" ", q).strip()


def fold(text: str) -> str:
    """Lower case without diacritics, one character for one: Kuşa -> kusa."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[:1] or ch
        out.append(base.lower()[:1] or ch)
    return "".join(out)


Phrase = tuple[str, ...]  # folded words, one or more


@dataclass
class Query:
    groups: list[list[Phrase]] = field(default_factory=list)  # AND of ORs
    excluded: list[Phrase] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to look for: only exclusions (or nothing) match no row, on both."""
        return not self.groups

    def words(self) -> set[str]:
        return {w for group in self.groups for phrase in group for w in phrase}


def parse(q: str) -> Query:
    query = Query()
    pending_or = False
    for match in _ITEM.finditer(clean(q)):
        minus, quoted, bare = match.group(1), match.group(2), match.group(3)
        negated = bool(minus)
        raw = quoted if quoted is not None else bare
        if quoted is None and bare.startswith("-"):
            negated, raw = True, bare[1:]
        if quoted is None and not negated and raw.lower() == "or":
            pending_or = bool(query.groups)
            continue
        phrase = tuple(fold(w) for w in _WORD.findall(raw))
        if not phrase:
            continue
        if negated:
            query.excluded.append(phrase)
        elif pending_or:
            query.groups[-1].append(phrase)
        else:
            query.groups.append([phrase])
        pending_or = False
    return query


def _quoted(phrase: Phrase) -> str:
    return '"' + " ".join(phrase).replace('"', '""') + '"'


def to_fts5(query: Query) -> str | None:
    """The FTS5 MATCH expression, or None when nothing can match."""
    if query.empty:
        return None
    expr = " AND ".join(
        "(" + " OR ".join(_quoted(p) for p in group) + ")" for group in query.groups
    )
    for phrase in query.excluded:
        expr = f"({expr}) NOT {_quoted(phrase)}"
    return expr


_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def highlight(text: str, query: Query, width: int = 200) -> tuple[str, list[tuple[int, int]]]:
    """A window of `text` around its first matching word, and the [start, end) offsets of
    the matching words inside it. Matching is by folded word stem, as the engines stem:
    close enough to mark what matched, and it only ever reads the text it is given."""
    stems = {_stem(w) for w in query.words()}
    folded = fold(text)
    spans = [
        (m.start(), m.end())
        for m in _WORD.finditer(folded)
        if any(m.group().startswith(s) for s in stems)
    ]
    start = max(0, spans[0][0] - width // 4) if spans else 0
    if start:  # begin on a word
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < spans[0][0] else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > (spans[0][1] if spans else start) else end
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    inside = [(a + shift, b + shift) for a, b in spans if a >= start and b <= end]
    return prefix + text[start:end] + suffix, inside
