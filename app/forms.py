"""What every page form shares: pydantic's errors said beside the fields they belong to,
in the words of the officer filling the form in, never pydantic's own ("String should
have at least 3 characters")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from app.errors import DomainError

REQUIRED = "This field is required."

# A form's own sentence for a field: for any error in it ("subject"), or for one kind of
# error in it ("subject.string_too_long"), which wins; "talking_points.item" names an
# item of a list ("Point" 3: ...).
Said = Mapping[str, str]


def _plain(e: Any) -> str:
    """Pydantic's error as a sentence a desk officer would write."""
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return REQUIRED
    if kind == "string_too_short":
        return f"Write at least {ctx.get('min_length')} characters."
    if kind == "string_too_long":
        return f"Write at most {ctx.get('max_length')} characters."
    if kind == "too_long":
        return f"Give at most {ctx.get('max_length')}."
    if kind in ("enum", "literal_error"):
        return "Choose one of the options."
    if kind.startswith("date") or kind.startswith("datetime"):
        return "Give a date as YYYY-MM-DD."
    if kind.startswith("int") or kind in ("greater_than_equal", "less_than_equal"):
        return "Give a number."
    if kind == "extra_forbidden":
        return "This form sent a field it does not have: reload the page."
    return str(e["msg"]).removeprefix("Value error, ")


def field_errors(exc: ValidationError, said: Said | None = None) -> dict[str, str]:
    """Every field's error (the first per field, all fields at once), keyed by the form
    field it belongs to. An error in a list's item names the item ("item 3: ...")."""
    said = said or {}
    out: dict[str, str] = {}
    for e in exc.errors():
        loc = e["loc"]
        name = str(loc[0]) if loc else "form"
        if name in out:
            continue
        msg = said.get(f"{name}.{e['type']}") or said.get(name) or _plain(e)
        index = next((p for p in loc[1:] if isinstance(p, int)), None)
        if index is not None:
            item = said.get(f"{name}.item", "Item")
            msg = f"{item} {index + 1}: {msg[0].lower()}{msg[1:]}"
        out[name] = msg
    return out


def refusals(exc: DomainError, default: str = "form") -> dict[str, str]:
    """A service's refusal keyed by the field it is about: each of the `errors` it
    gathered (app/demarches/service.Problems), or its one `field` (else `default`)."""
    listed = exc.extra.get("errors")
    out: dict[str, str] = {}
    if isinstance(listed, list):
        for e in listed:
            if isinstance(e, dict):
                name = str(e.get("field") or default)
                out[name] = f"{out[name]} {e['message']}" if name in out else str(e["message"])
    return out or {str(exc.extra.get("field") or default): exc.detail}
