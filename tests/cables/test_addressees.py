"""Addressee lines as real headers write them: misspelt precedences, serial ranges, and
routing lines that name nobody."""

from __future__ import annotations

from app.cables.parser import parse_cable

CABLE = """P 161200Z NOV 06
FM SECSTATE WASHDC
TO RUEHHI/AMEMBASSY HANOI PRORITY 1256-1257
RUEHSJ/AMEMBASSY SAN JOSE IMEDIATE 0412
INFO RUEHFR/AMEMBASSY PARIS ROUTNE
STATE GRNC
RUEHLO/AMEMBASSY LONDON NIACT IMMEDIATE 77

C O N F I D E N T I A L STATE 123456

TAGS: PREL
SUBJECT: A VOTE

1. (C) Action request: deliver the points below.
"""


def test_misspelt_precedences_and_serial_ranges_are_read_and_routing_lines_skipped():
    c = parse_cable(CABLE)
    assert [(a.name, a.precedence, a.serial) for a in c.action_addressees] == [
        ("AMEMBASSY HANOI", "PRIORITY", "1256"),
        ("AMEMBASSY SAN JOSE", "IMMEDIATE", "0412"),
    ]
    assert [(a.name, a.precedence) for a in c.info_addressees] == [
        ("AMEMBASSY PARIS", "ROUTINE"),
        ("AMEMBASSY LONDON", "NIACT IMMEDIATE"),
    ]
