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


EXTRACT = """This record is a partial extract of the original cable.

C O N F I D E N T I A L THE HAGUE 000406

E.O. {order}: DECL: 03/11/{decl}
TAGS: PREL NL
SUBJECT: DUTCH VIEWS ON THE TRIBUNAL

REF: {ref}

1. (C) The Foreign Ministry said it would consider the request.
"""


def _extract(order: str, decl: int, ref: str) -> str:
    return EXTRACT.format(order=order, decl=decl, ref=ref)


def test_without_a_dtg_the_year_is_the_declassification_date_less_ten_years():
    assert parse_cable(_extract("12958", 2015, "THE HAGUE 350")).ref_id == "05THEHAGUE406"


def test_the_span_must_fit_the_years_its_executive_order_was_cited():
    # E.O. 12958 was cited until 2010: a declassification in 2025 was set twenty years out.
    assert parse_cable(_extract("12958", 2025, "THE HAGUE 350")).ref_id == "05THEHAGUE406"
    # ... while under E.O. 13526 (from 2009) ten years out fits.
    assert parse_cable(_extract("13526", 2020, "THE HAGUE 350")).ref_id == "10THEHAGUE406"


def test_the_year_is_no_earlier_than_a_reference_that_gives_its_own():
    # Ten years before 2009 is 1999, before the cited 2003 cable: five years out fits.
    assert parse_cable(_extract("12958", 2009, "03 THE HAGUE 2544")).ref_id == "04THEHAGUE406"


def test_a_banner_run_into_the_line_before_it_still_classifies_the_cable():
    text = cable("Cable dated:2006-11-16T12:00:00S E C R E T SECTION 01 OF 05 ISLAMABAD 002025")
    assert parse_cable(text).classification == "SECRET"


def test_with_no_banner_the_security_prosign_classifies_the_cable():
    text = cable("SIPDIS")
    assert parse_cable(text).classification == "CONFIDENTIAL"  # ZNY CCCCC
    assert parse_cable(text.replace("ZNY CCCCC", "ZNY SSSSS")).classification == "SECRET"
    assert parse_cable(text.replace("ZNY CCCCC", "ZNR UUUUU")).classification == "UNCLASSIFIED"


SEVENTIES = """R 121530Z MAR 75
FM AMEMBASSY LIBREVILLE
TO SECSTATE WASHDC 2211

{banner}

E.O. 11652: GDS
TAGS: PFOR GB
SUBJECT: GABON AND THE UN VOTE

1. THE FOREIGN MINISTER SAID GABON WOULD ABSTAIN.
"""


def test_two_digit_years_of_the_sixties_are_the_nineteen_sixties():
    text = SEVENTIES.format(banner="C O N F I D E N T I A L LIBREVILLE 1895").replace(
        "MAR 75", "MAR 66"
    )
    c = parse_cable(text)
    assert (c.ref_id, c.dtg) == ("66LIBREVILLE1895", "1966-03-12T15:30:00Z")


def test_a_seventies_banner_with_the_year_before_the_station():
    c = parse_cable(SEVENTIES.format(banner="C O N F I D E N T I A L 75 LIBREVILLE 1895"))
    assert (c.ref_id, c.classification) == ("75LIBREVILLE1895", "CONFIDENTIAL")
    # With the DTG lost, the banner's year still dates the message.
    lost = SEVENTIES.format(banner="LIMITED OFFICIAL USE 75 LIBREVILLE 1895").replace(
        "R 121530Z MAR 75\n", ""
    )
    assert parse_cable(lost).ref_id == "75LIBREVILLE1895"


def test_a_doubled_banner_letter_or_a_misspelt_section_is_still_read():
    doubled = parse_cable(cable("C C O N F I D E N T I A L SECTION 01 OF 02 ISLAMABAD 002025"))
    assert (doubled.ref_id, doubled.classification) == ("06ISLAMABAD2025", "CONFIDENTIAL")
    misspelt = parse_cable(cable("S E C R E T SCTION 01 OF 02 ISLAMABAD 002025"))
    assert (misspelt.ref_id, misspelt.classification) == ("06ISLAMABAD2025", "SECRET")
