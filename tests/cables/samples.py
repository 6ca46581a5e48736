"""Cable texts written for the tests: an instruction and a report that answers it."""

from __future__ import annotations


def instruction(serial: str = "166909", marking: str = "C O N F I D E N T I A L") -> str:
    return (
        "O 140153Z DEC 07\nFM SECSTATE WASHDC\n"
        "TO RUEHHI/AMEMBASSY HANOI IMMEDIATE 5685\n"
        "INFO RUEHXX/AMEMBASSY NOWHERE IMMEDIATE 1\n\n"
        f"{marking} STATE {serial}\n\nTAGS: PREL UN\n"
        "SUBJECT: DEMARCHE ON A COUNCIL VOTE\n\n"
        "1. (SBU) This is an action request. Embassy Hanoi should deliver the points below "
        "to host government officials at the highest appropriate level before December 17.\n\n"
        "2. (U) Points:\n\n-- We urge your government to vote yes.\n\n"
        "-- The vote is on December 19.\n\nRICE\n"
    )


# Post Hanoi's report on the instruction above; {ref} is the instruction's serial.
REPORT = """VZCZCXRO1
PP RUEHC
DE RUEHHI #1234 3500900
ZNY CCCCC ZZH
P 160900Z DEC 07
FM AMEMBASSY HANOI
TO RUEHC/SECSTATE WASHDC PRIORITY 1234

C O N F I D E N T I A L HANOI 001234

SIPDIS

E.O. 12958: DECL: 12/16/2017
TAGS: PREL UN VM
SUBJECT: VIETNAM ON THE COUNCIL VOTE: DEMARCHE DELIVERED

REF: STATE {ref}

Classified By: Political Counselor, reasons 1.4 (b) and (d)

1. (C) On December 15 Poloff delivered reftel points to Nguyen Van An, Director of the
International Organizations Department at the Ministry of Foreign Affairs.

2. (C) Nguyen said that Vietnam supports the resolution and will speak at the December 19
session.

MICHALAK
"""


# What the instruction above lacks before it may be issued (the completeness check):
# it states no objectives. A test that issues its draft adds these with the deadline.
COMPLETING = {"objectives": ["Secure a yes vote at the Council."]}
