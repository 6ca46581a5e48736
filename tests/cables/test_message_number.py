"""Which message a cable is: the banner's number, unless the transmission line disagrees.

General rules, each shown on a synthetic cable shaped like the damaged traffic the
publisher's mirror holds (retransmissions under another post's banner, banners cut
before their place, captions glued to the serial)."""

from __future__ import annotations

from app.cables.parser import parse_cable

HEAD = """VZCZCXRO1234
PP RUEHC
DE {de} 3201200
ZNY CCCCC ZZH
P 161200Z NOV 06
FM {fm}
TO RUEHC/SECSTATE WASHDC PRIORITY 4321

{banner}

E.O. 12958: DECL: 11/16/2016
TAGS: PREL PGOV
SUBJECT: TALKS ON THE BORDER

1. (C) The minister said talks would resume.
"""


def cable(banner: str, de: str = "RUEHIL #2025/01", fm: str = "AMEMBASSY ISLAMABAD") -> str:
    return HEAD.format(banner=banner, de=de, fm=fm)


def test_a_banner_that_agrees_with_the_transmission_line_gives_the_number():
    c = parse_cable(cable("C O N F I D E N T I A L SECTION 01 OF 03 ISLAMABAD 002025"))
    assert (c.ref_id, c.classification) == ("06ISLAMABAD2025", "CONFIDENTIAL")


def test_a_caption_glued_to_the_serial_is_not_part_of_it():
    c = parse_cable(cable("C O N F I D E N T I A L ISLAMABAD 002025SIPDIS"))
    assert c.ref_id == "06ISLAMABAD2025"


def test_a_banner_cut_before_its_place_falls_back_to_the_sender_and_its_serial():
    c = parse_cable(cable("C O N F I D E N T I A L SECTION 01 OF 02"))
    assert (c.ref_id, c.classification) == ("06ISLAMABAD2025", "CONFIDENTIAL")


def test_a_damaged_section_banner_still_gives_the_classification():
    c = parse_cable(cable("S E C R E T SECTION 02 OF 03QISLAMABAD 002025"))
    assert c.classification == "SECRET"


def test_another_message_s_banner_yields_to_the_transmission_line():
    # A post retransmitting another post's cable, or a banner from the wrong message.
    c = parse_cable(cable("C O N F I D E N T I A L SECTION 01 OF 05 MADRID 001132"))
    assert c.ref_id == "06ISLAMABAD2025"
    off_by_one = parse_cable(cable("C O N F I D E N T I A L ISLAMABAD 002026"))
    assert off_by_one.ref_id == "06ISLAMABAD2025"


def test_headquarters_serials_outgrow_the_transmission_line_s_four_digits():
    c = parse_cable(
        cable("C O N F I D E N T I A L STATE 166909", de="RUEHC #6909/01", fm="SECSTATE WASHDC")
    )
    assert c.ref_id == "06STATE166909"
    other = parse_cable(
        cable("C O N F I D E N T I A L STATE 166909", de="RUEHC #1234/01", fm="SECSTATE WASHDC")
    )
    assert other.ref_id == "06STATE166909"  # the banner stands: four digits cannot replace it


def test_without_a_transmission_line_the_banner_stands():
    text = cable("C O N F I D E N T I A L MADRID 001132").replace(
        "DE RUEHIL #2025/01 3201200\n", ""
    )
    assert parse_cable(text).ref_id == "06MADRID1132"
