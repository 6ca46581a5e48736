"""Relative deadlines ("within seven business days") count from the cable's DTG."""

from __future__ import annotations

import pytest

from app.cables.parser import parse_cable

CABLE = """O 140153Z DEC 07
FM SECSTATE WASHDC
TO RUEHHI/AMEMBASSY HANOI IMMEDIATE 5685

C O N F I D E N T I A L STATE 166909

TAGS: PREL UN
SUBJECT: URGE SUPPORT FOR THE RESOLUTION

1. (C) This is an action request. Embassy should deliver the points below to the host
government {within} and report the response.

2. (U) Points:

-- We urge your government to vote yes.
"""


@pytest.mark.parametrize(
    ("within", "deadline"),
    [
        # Friday 14 December 2007: seven business days skip two weekends' days.
        ("within seven business days", "2007-12-25"),
        ("within 5 working days", "2007-12-21"),
        ("within 45 days", "2008-01-28"),
        ("within two weeks", "2007-12-28"),
        ("within ten (10) days", "2007-12-24"),
    ],
)
def test_a_relative_deadline_counts_from_the_dtg(within, deadline):
    c = parse_cable(CABLE.format(within=within))
    assert (c.kind, c.deadline) == ("instruction", deadline)


def test_a_relative_span_outside_an_action_sentence_is_no_deadline():
    text = CABLE.format(within="soon").replace(
        "2. (U) Points:", "2. (U) The council met within three days of the vote.\n\n3. (U) Points:"
    )
    assert parse_cable(text).deadline is None


@pytest.mark.parametrize(
    "span",
    [
        "complete the end-use check within 45 days",
        "note that a written notice is provided within two working days",
    ],
)
def test_a_span_for_something_other_than_the_demarche_is_no_deadline(span):
    text = CABLE.format(within="soon").replace(
        "2. (U) Points:", f"2. (U) Embassy should {span}.\n\n3. (U) Points:"
    )
    assert parse_cable(text).deadline is None
