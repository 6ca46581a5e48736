"""Shared words of the domain: every package may import these."""

from __future__ import annotations

import enum


class TaskingRole(enum.StrEnum):
    """Action addressees must act; info addressees only read."""

    ACTION = "action"
    INFO = "info"


class Precedence(enum.StrEnum):
    """How urgent a cable is; FLASH and NIACT IMMEDIATE must be acknowledged at once."""

    FLASH = "FLASH"
    NIACT_IMMEDIATE = "NIACT IMMEDIATE"
    IMMEDIATE = "IMMEDIATE"
    PRIORITY = "PRIORITY"
    ROUTINE = "ROUTINE"


# Precedences a post must never take for routine: marked apart and listed first, most
# pressing first.
PRESSING = (Precedence.FLASH, Precedence.NIACT_IMMEDIATE, Precedence.IMMEDIATE)
