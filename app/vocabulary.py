"""Shared words of the domain: every package may import these."""

from __future__ import annotations

import enum


class Precedence(enum.StrEnum):
    """How urgent a cable is; FLASH and NIACT must be acknowledged at once."""

    FLASH = "FLASH"
    NIACT_IMMEDIATE = "NIACT IMMEDIATE"
    IMMEDIATE = "IMMEDIATE"
    PRIORITY = "PRIORITY"
    ROUTINE = "ROUTINE"
