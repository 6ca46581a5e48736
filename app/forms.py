"""What every page form shares: pydantic's errors said beside the fields they belong to."""

from __future__ import annotations

from pydantic import ValidationError


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors keyed by the form field they belong to (the first per field)."""
    out: dict[str, str] = {}
    for e in exc.errors():
        name = str(e["loc"][0]) if e["loc"] else "form"
        msg = e["msg"].removeprefix("Value error, ")
        # An empty field fails min_length 1 (blanks are stripped): say what that means.
        if e["type"] == "missing" or (
            e["type"] == "string_too_short" and e.get("ctx", {}).get("min_length") == 1
        ):
            msg = "This field is required."
        out.setdefault(name, msg)
    return out
