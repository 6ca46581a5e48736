"""Who the harness reads as, and what each reader may read.

A benchmark that reads as one SECRET-cleared desk officer measures a tracker nobody runs:
the per-worker credential cache always hits, and the visibility SQL is skipped (that
reader sees everything). So each scenario rotates over (path, credential) pairs drawn
from the generator's readers (bench/generate.py: post officers of large and small posts,
CONFIDENTIAL and SECRET desk officers, viewers, each with a token of their own, and the
session cookies run.py signs in for), and each path is one its reader may read.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

RANK = {"UNCLASSIFIED": 0, "SBU": 1, "CONFIDENTIAL": 2, "SECRET": 3}
# The share of requests by role: the posts outnumber the desk, which reads the most.
ROLE_MIX = {"post_officer": 45, "desk_officer": 40, "viewer": 15}


@dataclass
class Reader:
    username: str
    role: str
    clearance: str
    token: str
    post_id: int | None = None
    post_code: str | None = None
    post_rank: int | None = None
    cookie: str | None = None

    def cleared_for(self, classification: str) -> bool:
        return RANK[classification] <= RANK[self.clearance]

    @property
    def kind(self) -> str:
        return f"{self.role}/{self.clearance}"


def readers_from(creds: dict[str, Any]) -> list[Reader]:
    """The readers of a credentials file (an old file knows only desk, viewer and post)."""
    rows = creds.get("readers")
    if rows is None:
        clearance = {"desk": "SECRET", "viewer": "SECRET", "post": "SECRET"}
        rows = [{"username": k, "clearance": clearance[k], **v} for k, v in creds["users"].items()]
    return [
        Reader(
            username=r["username"],
            role=r["role"],
            clearance=r["clearance"],
            token=r["token"],
            post_id=r.get("post_id"),
            post_code=r.get("post_code"),
            post_rank=r.get("post_rank"),
        )
        for r in rows
    ]


def spread(
    readers: Sequence[Reader],
    candidates: Callable[[Reader], Sequence[str]],
    n: int,
    rng: random.Random,
    mix: dict[str, int] | None = None,
) -> list[tuple[str, Reader]]:
    """n (path, reader) pairs: each request's role drawn by `mix`, readers of a role taken
    in turns (shuffled), each with one of the paths it may read (`candidates`) at random.
    Readers with nothing to read are left out; consecutive requests are different people."""
    mix = ROLE_MIX if mix is None else mix
    by_role: dict[str, list[Reader]] = {}
    for r in readers:
        if candidates(r):
            by_role.setdefault(r.role, []).append(r)
    roles = [role for role in mix if role in by_role] or list(by_role)
    if not roles:
        return []
    for group in by_role.values():
        rng.shuffle(group)
    turn = dict.fromkeys(by_role, 0)
    weights = [mix.get(role, 1) for role in roles]
    out = []
    for _ in range(n):
        role = rng.choices(roles, weights=weights)[0]
        group = by_role[role]
        reader = group[turn[role] % len(group)]
        turn[role] += 1
        out.append((rng.choice(candidates(reader)), reader))
    return out


def bearer_line(path: str, reader: Reader) -> str:
    """A line of the wrk rotation (bench/lua/get.lua): path, then the header it carries."""
    return f"{path}\tAuthorization: Bearer {reader.token}"


def cookie_line(path: str, reader: Reader) -> str:
    assert reader.cookie, f"{reader.username} has not signed in"
    return f"{path}\tCookie: dmt_session={reader.cookie}"


def split_line(line: str) -> tuple[str, dict[str, str]]:
    """A rotation line back into its path and headers."""
    path, *headers = line.split("\t")
    return path, dict(h.split(": ", 1) for h in headers)


def describe(pairs: Sequence[tuple[str, Reader]]) -> dict[str, Any]:
    """What a rotation spreads over: for the report, and for checking it is spread."""
    readers = {r.username: r for _, r in pairs}
    return {
        "requests": len(pairs),
        "paths": len({p for p, _ in pairs}),
        "credentials": len(readers),
        "by_kind": dict(sorted(Counter(r.kind for _, r in pairs).items())),
        "posts": len({r.post_id for r in readers.values() if r.post_id}),
    }


def pick_for_cookies(readers: Sequence[Reader], k: int, rng: random.Random) -> list[Reader]:
    """k readers to sign in for the pages: a turn each for post officers of busy and of
    quiet posts, desk officers and viewers, at each clearance, until k are chosen."""

    def group(r: Reader) -> tuple[str, str, str]:
        size = "" if r.post_rank is None else ("busy" if r.post_rank <= 40 else "quiet")
        return (r.role, r.clearance, size)

    groups: dict[tuple[str, str, str], list[Reader]] = {}
    for r in sorted(readers, key=lambda r: r.username):
        groups.setdefault(group(r), []).append(r)
    for g in groups.values():
        rng.shuffle(g)
    keys = sorted(groups)
    chosen: list[Reader] = []
    while len(chosen) < k and any(groups.values()):
        for key in keys:
            if groups[key] and len(chosen) < k:
                chosen.append(groups[key].pop())
    return chosen
