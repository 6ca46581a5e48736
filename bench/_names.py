"""Deterministic, invented names for the generator: cities, countries, people, subjects."""

from __future__ import annotations

import random

_ONSETS = ["b", "d", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
_CODAS = ["", "", "n", "r", "s", "l", "m"]

FIRST = [
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Farah",
    "Goran",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tomas",
    "Uma",
    "Vera",
    "Wen",
    "Yusuf",
    "Zora",
]
LAST = [
    "Abara",
    "Berg",
    "Castillo",
    "Dimitrov",
    "Eze",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kaur",
    "Lopez",
    "Mensah",
    "Novak",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Sato",
    "Tanaka",
    "Umar",
    "Varga",
    "Wang",
    "Yilmaz",
    "Zhou",
]
TITLES = [
    "Minister of Foreign Affairs",
    "Deputy Foreign Minister",
    "Director for Multilateral Affairs",
    "Director for the Americas",
    "Head of the UN Division",
    "Chief of Staff to the Minister",
    "Political Director",
    "Desk Officer for North America",
]
OFFICES = [
    "Ministry of Foreign Affairs",
    "Office of the President",
    "Ministry of Trade",
    "Prime Minister's Office",
    "Ministry of Defence",
]
TAGS = [
    "PREL",
    "PGOV",
    "UNSC",
    "ETRD",
    "KNNP",
    "PHUM",
    "MARR",
    "SENV",
    "EAID",
    "PTER",
    "ECON",
    "UNGA",
    "KDEM",
    "PARM",
    "EFIN",
    "KTIP",
    "SMIG",
    "TBIO",
]
TOPICS = ["UNSC", "UNGA", "IAEA", "WHO", "WTO", "HRC", "ICAO", "FAO", "OSCE", "G20"]
ASKS = [
    "SUPPORT FOR",
    "OPPOSE",
    "CO-SPONSORSHIP OF",
    "VOTE ON",
    "NO ACTION MOTION ON",
    "CANDIDACY FOR",
    "RENEWAL OF",
    "STATEMENT ON",
    "SANCTIONS ON",
    "CONCERNS ABOUT",
]
THINGS = [
    "THE MAROVIA MANDATE",
    "A CEASEFIRE RESOLUTION",
    "THE FISHERIES AGREEMENT",
    "THE BUDGET COMMITTEE",
    "THE ELECTION OBSERVER MISSION",
    "THE EXPORT CONTROL REGIME",
    "THE HUMAN RIGHTS RESOLUTION",
    "THE CLIMATE FINANCE PACKAGE",
    "THE DIRECTOR-GENERAL RACE",
    "THE PEACEKEEPING MANDATE",
    "THE MARITIME BOUNDARY DISPUTE",
    "THE VACCINE INITIATIVE",
]
SUMMARIES = [
    "Urge the host government to support our position before the vote.",
    "Inform the host government of our decision and seek its views.",
    "Protest the recent action and ask for an explanation.",
    "Seek co-sponsorship and report the host government's instructions.",
]
POINTS = [
    "We ask your government to vote yes when the text comes to a vote.",
    "-- The resolution reflects months of consultations with the region.",
    "A) keep the mandate B) review it in six months.",
    "We would welcome your co-sponsorship; the list closes on the day before the vote.",
    "(For public use) The United States remains committed to a peaceful settlement.",
    "We are concerned by reports of detentions and urge restraint.",
]
RESPONSES = [
    "The Director said his government would study the text and revert.",
    "The Minister confirmed instructions to vote yes.",
    "Officials said they would abstain unless the operative paragraph changed.",
    "The host government declined to state a position before consulting partners.",
    "Our interlocutor welcomed the approach and promised support in the Council.",
]


def syllable_word(rng: random.Random, syllables: int) -> str:
    parts = []
    for _ in range(syllables):
        parts.append(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS))
    return "".join(parts).capitalize()


def unique_words(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        w = syllable_word(rng, rng.choice((2, 2, 3)))
        if w.upper() not in taken and 4 <= len(w) <= 14:
            taken.add(w.upper())
            out.append(w)
    return out


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
