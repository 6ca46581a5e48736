"""Build a realistic data set for the benchmarks straight into a database.

Full scale (--scale 1.0): 280 posts in six regions, 300 users, 20,000 demarches over
ten years with on average 30 target posts each (about 600,000 taskings, a few posts
covering several countries), deliveries, responses and commitments for what was
delivered, about 3 audit events per tasking, open demarches with deadlines spread
around today (so the overdue board has work), and one open demarche with 200 target
posts. The same --seed and --today give the same data.

The schema is built by the Alembic migrations on an empty database; rows go in by
PostgreSQL COPY (psycopg) or SQLAlchemy Core executemany (SQLite).

Run: python bench/generate.py --database-url URL [--scale 1.0] [--seed 1] [--replace]
Writes the bench users' password and tokens to a JSON file (see --credentials): every
desk officer, viewer and post officer (about 300) has a token of their own, listed under
"readers" with their role, clearance and post, for bench/run.py to read as.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import create_engine, inspect, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.auth.policy import Side  # noqa: E402
from app.taskings.models import TaskingStatus  # noqa: E402
from app.taskings.workflow import (  # noqa: E402
    BY_ACTION,
    PEOPLES_MOVES,
    Action,
    transition_for,
)
from app.vocabulary import TaskingRole  # noqa: E402
from bench import _names as names  # noqa: E402
from bench._load import BulkWriter  # noqa: E402

console = Console(stderr=True)

BENCH_PASSWORD = "bench-password-2026"
REGION_SIZES = {"AF": 50, "EAP": 45, "EUR": 60, "NEA": 35, "SCA": 30, "WHA": 60}  # 280 posts
N_USERS = 300
N_POST_OFFICERS = 240
FULL_DEMARCHES = 20_000
BIG_TARGETS = 200
READER_ROLES = ("desk_officer", "viewer", "post_officer")  # who gets a bench token
CLASSIFICATIONS = [("UNCLASSIFIED", 20), ("SBU", 20), ("CONFIDENTIAL", 45), ("SECRET", 15)]
RANK = {"UNCLASSIFIED": 0, "SBU": 1, "CONFIDENTIAL": 2, "SECRET": 3}
PRECEDENCES = [
    ("ROUTINE", 50),
    ("PRIORITY", 15),
    ("IMMEDIATE", 30),
    ("NIACT IMMEDIATE", 4),
    ("FLASH", 1),
]
LEVELS = [
    "head_of_state_or_government",
    "minister",
    "deputy_minister",
    "senior_official",
    "working_level",
]
METHODS = ["meeting", "call", "non_paper", "diplomatic_note", "aide_memoire", "letter"]
POSITIONS = [
    ("supports", 30),
    ("leans_supportive", 20),
    ("noncommittal", 25),
    ("leans_opposed", 10),
    ("opposes", 8),
    ("declined_to_respond", 7),
]
# Status mix of action taskings on open (issued) demarches.
OPEN_MIX = [
    ("pending", 28),
    ("acknowledged", 22),
    ("delivered", 20),
    ("reported", 14),
    ("closed", 8),
    ("unable", 3),
    ("advised_against", 3),
    ("waived", 1),
    ("cancelled", 1),
]
CLOSED_MIX = [("closed", 82), ("unable", 6), ("waived", 4), ("cancelled", 8)]

# Tables in foreign-key order: the writer flushes them in this order.
TABLES = [
    "posts",
    "users",
    "api_tokens",
    "demarches",
    "demarche_tags",
    "objectives",
    "talking_points",
    "key_dates",
    "demarche_targets",
    "taskings",
    "deliveries",
    "responses",
    "commitments",
    "audit_events",
]


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def dt(d: date, rng: random.Random) -> datetime:
    """A working-hours moment on day d, in UTC."""
    return datetime(
        d.year,
        d.month,
        d.day,
        rng.randint(6, 19),
        rng.randint(0, 59),
        rng.randint(0, 59),
        tzinfo=UTC,
    )


def _paths_from_pending() -> dict[str, list[str]]:
    """The shortest run of people's moves, by the workflow's own table, that takes an
    action tasking from pending to each state: the generator never restates the
    workflow, so data it writes is data the app could have written."""
    paths: dict[TaskingStatus, list[str]] = {TaskingStatus.PENDING: []}
    queue = [TaskingStatus.PENDING]
    while queue:
        state = queue.pop(0)
        for action in PEOPLES_MOVES:
            t = transition_for(action, state, TaskingRole.ACTION)
            # A move that leaves the state (an extension) leads nowhere new.
            if t is not None and t.to(state) not in paths:
                paths[t.to(state)] = [*paths[state], action.value]
                queue.append(t.to(state))
    return {state.value: path for state, path in paths.items()}


PATHS = _paths_from_pending()
# The data's mix, not a rule: four posts in ten acknowledge before they deliver or
# give up (the table allows it; it is checked when the module loads).
ACKNOWLEDGED_FIRST = ("delivered", "reported", "unable")
assert all(
    transition_for(Action(PATHS[s][0]), TaskingStatus.ACKNOWLEDGED, TaskingRole.ACTION)
    for s in ACKNOWLEDGED_FIRST
)


def path_for(status: str, rng: random.Random) -> list[str]:
    """The workflow actions that took a tasking from pending to `status`."""
    ack = ["acknowledge"] if rng.random() < 0.4 else []
    return [*ack, *PATHS[status]] if status in ACKNOWLEDGED_FIRST else PATHS[status]


# The paths never take a move that leaves the state where it was (see above).
AFTER_STATUS = {
    a.value: target.value for a in PEOPLES_MOVES if (target := BY_ACTION[a].target) is not None
}
DESK_ACTIONS = {a.value for a in PEOPLES_MOVES if BY_ACTION[a].side == Side.DESK}


class Generator:
    def __init__(self, writer: BulkWriter, *, scale: float, seed: int, today: date):
        self.w = writer
        self.rng = random.Random(seed)
        self.scale = scale
        self.today = today
        self.now = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
        self.ids = dict.fromkeys(TABLES, 0)
        # The tokens of every other reader come from their own stream, so that giving them
        # tokens left the data of a seed as it was.
        self.token_rng = random.Random(f"bench-tokens-{seed}")
        self.credentials: dict[str, Any] = {
            "password": BENCH_PASSWORD,
            "seed": seed,
            "scale": scale,
            "today": today.isoformat(),
        }

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # -- registry and users ---------------------------------------------------

    def posts_and_users(self) -> None:
        rng = self.rng
        taken: set[str] = set()
        self.posts: list[dict[str, Any]] = []
        created = self.now - timedelta(days=4000)
        for region, n in REGION_SIZES.items():
            for city in names.unique_words(rng, n, taken):
                pid = self.next_id("posts")
                country = names.syllable_word(rng, 2) + rng.choice(["ia", "land", "stan", "a"])
                countries = [country]
                if rng.random() < 0.03:  # "Suva (for Fiji, Nauru, Tonga)"
                    countries += [
                        names.syllable_word(rng, 2) + "a" for _ in range(rng.randint(1, 3))
                    ]
                kind = "consulate" if rng.random() < 0.08 else "embassy"
                code = city.upper()
                prefix = "AMCONSUL" if kind == "consulate" else "AMEMBASSY"
                self.w.add(
                    "posts",
                    (
                        pid,
                        code,
                        f"{prefix} {code}",
                        kind,
                        city,
                        country,
                        f"RUEH{pid:04d}",
                        region,
                        True,
                        "UTC",  # time_zone
                        created,
                        created,
                        1,  # version
                    ),
                )
                self.posts.append(
                    {
                        "id": pid,
                        "code": code,
                        "countries": countries,
                        "popularity": rng.paretovariate(1.5),
                    }
                )
        # Popular posts are tasked more often; the most popular ones have post officers.
        by_pop = sorted(self.posts, key=lambda p: -p["popularity"])
        self.post_ids = [p["id"] for p in self.posts]
        self.post_weights = [p["popularity"] for p in self.posts]
        self.post_by_id = {p["id"]: p for p in self.posts}

        password_hash = self._password_hash()
        self.officer_of: dict[int, int] = {}
        self.desk_ids: list[int] = []
        users: list[tuple[str, str, str, str, int | None]] = [
            ("desk", "Bench Desk Officer", "desk_officer", "SECRET", None),
            ("viewer", "Bench Viewer", "viewer", "SECRET", None),
            ("post", "Bench Post Officer", "post_officer", "SECRET", by_pop[0]["id"]),
            ("admin", "Bench Administrator", "administrator", "SECRET", None),
        ]
        for i, p in enumerate(by_pop[1:N_POST_OFFICERS], start=1):
            users.append(
                (
                    f"officer{i:03d}",
                    names.person(rng),
                    "post_officer",
                    rng.choice(["CONFIDENTIAL", "SECRET"]),
                    p["id"],
                )
            )
        while len(users) < N_USERS:
            i = len(users)
            role = "desk_officer" if i % 3 else "viewer"
            users.append(
                (
                    f"{role.split('_')[0]}{i:03d}",
                    names.person(rng),
                    role,
                    weighted(rng, [("CONFIDENTIAL", 1), ("SECRET", 2)]),
                    None,
                )
            )
        created = self.now - timedelta(days=3900)
        tokens: dict[str, Any] = {}
        readers: list[dict[str, Any]] = []
        rank_of = {p["id"]: i for i, p in enumerate(by_pop, start=1)}
        for username, full, role, clearance, post_id in users:
            uid = self.next_id("users")
            self.w.add(
                "users",
                (
                    uid,
                    username,
                    full,
                    f"{username}@bench.example",
                    role,
                    clearance,
                    post_id,
                    password_hash,
                    True,
                    created,
                    1,
                ),
            )
            if role == "desk_officer":
                self.desk_ids.append(uid)
            if post_id is not None:
                self.officer_of.setdefault(post_id, uid)
            if role in READER_ROLES:
                # Every reader has a token of their own (hundreds, so the harness's reads
                # miss the per-worker credential cache as real readers do).
                first = username in ("desk", "viewer", "post") or role == "post_officer"
                secret = f"dmt_bench_{(rng if first else self.token_rng).getrandbits(128):032x}"
                digest = hashlib.sha256(secret.encode()).hexdigest()
                self.w.add(
                    "api_tokens",
                    (
                        self.next_id("api_tokens"),
                        uid,
                        "bench",
                        digest,
                        secret[:10],
                        created,
                        None,
                        None,
                        None,
                    ),
                )
                tokens[username] = {"id": uid, "token": secret, "role": role, "post_id": post_id}
                readers.append(
                    {
                        "username": username,
                        "id": uid,
                        "role": role,
                        "clearance": clearance,
                        "post_id": post_id,
                        "post_code": self.post_by_id[post_id]["code"] if post_id else None,
                        # 1 = the post tasked most often; 240 = one of the quietest.
                        "post_rank": rank_of[post_id] if post_id else None,
                        "token": secret,
                    }
                )
        self.credentials["users"] = {k: tokens[k] for k in ("desk", "viewer", "post")}
        # Everyone the harness reads as (bench/run.py spreads its requests over them).
        self.credentials["readers"] = readers
        self.credentials["users"]["post"]["post_code"] = by_pop[0]["code"]
        # Post officers' tokens by post id: logging a delivery is the post's own move.
        self.credentials["post_tokens"] = {
            str(v["post_id"]): v["token"] for v in tokens.values() if v["post_id"] is not None
        }
        self.credentials["posts_with_officer"] = sorted(self.officer_of)
        self.w.flush()

    def _password_hash(self) -> str:
        # One argon2 hash for every user: hashing 300 passwords would cost ~15 s for nothing.
        from app.auth.passwords import hash_password

        return hash_password(BENCH_PASSWORD)

    # -- demarches --------------------------------------------------------------

    def demarches(self, progress: Progress) -> None:
        rng = self.rng
        n = max(5, round(FULL_DEMARCHES * self.scale))
        start = self.today - timedelta(days=3650)
        created_days = sorted(rng.randrange(0, 3651) for _ in range(n))
        task = progress.add_task("demarches", total=n)
        for i, day in enumerate(created_days):
            created = start + timedelta(days=day)
            big = i == n - 1
            if big:  # the "demarche page with 200 target posts" scenario
                created = self.today - timedelta(days=3)
            self.one_demarche(created, big=big)
            self.w.maybe_flush()
            if i % 50 == 0:
                progress.update(task, completed=i + 1)
        self.w.flush()
        progress.update(task, completed=n)

    def pick_posts(self, k: int) -> list[int]:
        rng = self.rng
        if k > 60:
            return rng.sample(self.post_ids, k)
        chosen: dict[int, None] = {}
        while len(chosen) < k:
            for p in rng.choices(self.post_ids, weights=self.post_weights, k=k):
                chosen[p] = None
                if len(chosen) == k:
                    break
        return list(chosen)

    def one_demarche(self, created_on: date, *, big: bool) -> None:
        rng = self.rng
        today = self.today
        did = self.next_id("demarches")
        author = rng.choice(self.desk_ids)
        deadline = created_on + timedelta(days=rng.randint(5, 45))
        if big:
            status, deadline = "issued", today + timedelta(days=14)
        elif deadline < today - timedelta(days=40):
            status = weighted(rng, [("closed", 93), ("cancelled", 6), ("draft", 1)])
        else:
            status = weighted(rng, [("issued", 90), ("draft", 5), ("cancelled", 5)])
        classification = weighted(rng, CLASSIFICATIONS)
        precedence = weighted(rng, PRECEDENCES)
        created = dt(created_on, rng)
        issued = None
        if status != "draft":
            issued = min(
                created + timedelta(days=rng.randint(0, 2), hours=rng.randint(0, 5)),
                self.now - timedelta(hours=1),
            )
        closed = None
        if status in ("closed", "cancelled"):
            closed = min(dt(deadline + timedelta(days=rng.randint(1, 30)), rng), self.now)
            assert issued is not None
            closed = max(closed, issued + timedelta(hours=1))
        subject = f"{rng.choice(names.TOPICS)}: {rng.choice(names.ASKS)} {rng.choice(names.THINGS)}"
        if big:
            subject = "UNGA: SUPPORT FOR THE HUMAN RIGHTS RESOLUTION (ALL POSTS)"
            self.credentials["big_demarche_id"] = did
        version = 1 + (issued is not None) + (closed is not None)
        self.w.add(
            "demarches",
            (
                did,
                subject,
                rng.choice(names.SUMMARIES),
                classification,
                classification,  # the summary's mark: the demarche's own
                status,
                deadline,
                precedence,
                "highest appropriate level",
                None,
                author,
                created,
                closed or issued or created,
                issued,
                closed,
                0,
                version,
            ),
        )
        for tag in rng.sample(names.TAGS, rng.randint(2, 4)):
            self.w.add("demarche_tags", (did, tag))
        for pos in range(1, rng.randint(2, 3) + 1):
            self.w.add(
                "objectives",
                (
                    self.next_id("objectives"),
                    did,
                    pos,
                    f"Objective {pos}: secure the host government's support.",
                    classification,
                ),
            )
        n_points = rng.randint(3, 6)
        for pos in range(1, n_points + 1):
            mark = rng.choice([c for c, _ in CLASSIFICATIONS if RANK[c] <= RANK[classification]])
            self.w.add(
                "talking_points",
                (
                    self.next_id("talking_points"),
                    did,
                    pos,
                    rng.choice(names.POINTS),
                    mark,
                    "public" if mark == "UNCLASSIFIED" else "private",
                ),
            )
        for _ in range(rng.choice((0, 0, 1, 2))):
            self.w.add(
                "key_dates",
                (
                    self.next_id("key_dates"),
                    did,
                    deadline + timedelta(days=rng.randint(0, 10)),
                    "Council session",
                    "UNCLASSIFIED",
                ),
            )
        self.audit(
            created,
            author,
            did,
            None,
            "demarche",
            did,
            "create",
            None,
            {"subject": subject, "status": "draft"},
        )
        if issued is not None:
            self.audit(
                issued,
                author,
                did,
                None,
                "demarche",
                did,
                "issue",
                {"status": "draft"},
                {"status": "issued"},
            )

        k = BIG_TARGETS if big else min(250, max(1, int(rng.lognormvariate(3.08, 0.8))))
        for j, post_id in enumerate(self.pick_posts(k)):
            post = self.post_by_id[post_id]
            countries = post["countries"]
            if len(countries) > 1:
                countries = countries[: rng.randint(1, len(countries))]
            role = "action" if j == 0 or rng.random() < 0.75 else "info"
            own_due = deadline - timedelta(days=rng.randint(0, 5)) if rng.random() < 0.1 else None
            for country in countries:
                self.w.add(
                    "demarche_targets",
                    (self.next_id("demarche_targets"), did, post_id, country, role, own_due),
                )
                if issued is not None:
                    self.tasking(
                        did,
                        post_id,
                        country,
                        role,
                        own_due or deadline,
                        status,
                        issued,
                        closed,
                        author,
                        n_points,
                    )
        if closed is not None:
            self.audit(
                closed,
                author,
                did,
                None,
                "demarche",
                did,
                "close" if status == "closed" else "cancel",
                {"status": "issued"},
                {"status": status},
            )

    def tasking(
        self,
        did: int,
        post_id: int,
        country: str,
        role: str,
        due: date,
        demarche_status: str,
        issued: datetime,
        closed: datetime | None,
        author: int,
        n_points: int,
    ) -> None:
        rng = self.rng
        tid = self.next_id("taskings")
        if role == "info":
            status = (
                "cancelled"
                if demarche_status == "cancelled"
                else weighted(rng, [("acknowledged", 60), ("pending", 40)])
            )
        elif demarche_status == "issued":
            status = weighted(rng, OPEN_MIX)
        elif demarche_status == "cancelled":
            status = "cancelled"
        else:
            status = weighted(rng, CLOSED_MIX)
        path = path_for(status, rng)
        if role == "info" and status == "acknowledged":
            path = ["acknowledge"]
        officer = self.officer_of.get(post_id)
        end = closed or self.now
        span = max(60.0, (end - issued).total_seconds())
        moments = sorted(issued + timedelta(seconds=rng.uniform(60, span)) for _ in path)
        self.audit(
            issued,
            author,
            did,
            post_id,
            "tasking",
            tid,
            "create",
            None,
            {
                "post_id": post_id,
                "country": country,
                "role": role,
                "due_date": due.isoformat(),
                "status": "pending",
            },
        )
        prev = "pending"
        acknowledged_at = None
        version = 1
        for action, at in zip(path, moments, strict=True):
            actor = author if action in DESK_ACTIONS else officer
            extra: dict[str, Any] = {}
            if action == "acknowledge":
                acknowledged_at = at
            elif action == "deliver":
                for _ in range(2 if rng.random() < 0.08 else 1):
                    extra["delivery_id"] = self.delivery(tid, at, officer, n_points)
                    version += 1
            elif action == "report_response":
                extra["response_id"] = self.response(tid, at, officer)
            after = AFTER_STATUS[action]
            self.audit(
                at,
                actor,
                did,
                post_id,
                "tasking",
                tid,
                action,
                {"status": prev},
                {"status": after, **extra},
            )
            prev = after
            version += 1
        reason = None
        if status in ("unable", "advised_against", "waived"):
            reason = "The host government is in transition; no interlocutor is available."
        updated = moments[-1] if moments else issued
        self.w.add(
            "taskings",
            (
                tid,
                did,
                post_id,
                country,
                role,
                due,
                status,
                acknowledged_at,
                None,
                None,
                reason,
                0,
                issued,
                updated,
                version,
            ),
        )

    def delivery(self, tid: int, at: datetime, officer: int | None, n_points: int) -> int:
        rng = self.rng
        i = self.next_id("deliveries")
        points = sorted(rng.sample(range(1, n_points + 1), rng.randint(1, n_points)))
        self.w.add(
            "deliveries",
            (
                i,
                tid,
                at.date(),
                names.person(rng),
                names.person(rng),
                rng.choice(names.TITLES),
                rng.choice(names.OFFICES),
                rng.choice(LEVELS),
                rng.choice(METHODS),
                points,
                "Delivered the points; left a non-paper.",
                officer,
                at,
            ),
        )
        return i

    def response(self, tid: int, at: datetime, officer: int | None) -> int:
        rng = self.rng
        i = self.next_id("responses")
        self.w.add(
            "responses",
            (
                i,
                tid,
                weighted(rng, POSITIONS),
                rng.choice(names.RESPONSES),
                rng.random() < 0.15,
                f"{at.year % 100:02d}POST{tid}",
                officer,
                at,
                at,
                1,
            ),
        )
        if rng.random() < 0.12:
            for _ in range(rng.randint(1, 2)):
                due = at.date() + timedelta(days=rng.randint(5, 60))
                st = (
                    "open"
                    if due >= self.today
                    else weighted(
                        rng, [("fulfilled", 60), ("open", 20), ("broken", 10), ("dropped", 10)]
                    )
                )
                self.w.add(
                    "commitments",
                    (
                        self.next_id("commitments"),
                        i,
                        "Will speak in support at the session.",
                        due,
                        st,
                        1,
                    ),
                )
        return i

    def audit(
        self,
        at: datetime,
        actor: int | None,
        did: int,
        post_id: int | None,
        entity: str,
        entity_id: int,
        action: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        self.w.add(
            "audit_events",
            (
                self.next_id("audit_events"),
                at,
                actor,
                did,
                post_id,
                entity,
                entity_id,
                action,
                before,
                after,
            ),
        )


# -- the database ---------------------------------------------------------------


def prepare_database(url: str, *, replace: bool) -> None:
    """An empty database at `url`, schema built by the migrations."""
    from alembic import command

    from app.cli import alembic_config

    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}
            )
            if exists and replace:
                conn.execute(text(f'DROP DATABASE "{u.database}" WITH (FORCE)'))
                exists = None
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{u.database}"'))
        admin.dispose()
    else:
        path = Path(u.database or "")
        if path.exists() and replace:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    engine.dispose()
    if tables:
        raise SystemExit(f"{u.database} is not empty ({len(tables)} tables); pass --replace")
    cfg = alembic_config(url)
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")


def default_credentials_path(url: str) -> Path:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return Path(f"{u.database}.credentials.json")
    return REPO / "bench" / "data" / f"{u.database}.credentials.json"


def build(
    url: str,
    *,
    scale: float,
    seed: int,
    today: date,
    replace: bool,
    credentials: Path | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    import app.models  # noqa: F401
    from app.db import Base, make_engine

    t0 = time.perf_counter()
    prepare_database(url, replace=replace)
    t_schema = time.perf_counter() - t0
    engine = make_engine(url)
    tables = [Base.metadata.tables[n] for n in TABLES]
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    )
    with engine.connect() as conn, progress:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            # Rows are consistent by construction: skip per-row foreign-key triggers while
            # loading (superuser only; otherwise keep them).
            if conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
                conn.execute(text("SET session_replication_role = replica"))
            conn.execute(text("SET synchronous_commit = off"))
        writer = BulkWriter(conn, tables)
        gen = Generator(writer, scale=scale, seed=seed, today=today)
        gen.posts_and_users()
        gen.demarches(progress)
        if postgres:
            for name in TABLES:
                if "id" in Base.metadata.tables[name].c:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {name}))"
                        )
                    )
            conn.execute(text("SET session_replication_role = origin"))
        conn.commit()
    t_load = time.perf_counter() - t0 - t_schema
    # Fresh statistics (and, on PostgreSQL, the visibility map for index-only scans).
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()
    elapsed = time.perf_counter() - t0
    counts = writer.counts
    gen.credentials["database_url"] = make_url(url).render_as_string(hide_password=True)
    gen.credentials["counts"] = counts
    gen.credentials["build_seconds"] = round(elapsed, 1)
    path = credentials or default_credentials_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gen.credentials, indent=1))
    if not quiet:
        total = sum(counts.values())
        console.print(
            f"schema {t_schema:.1f} s, load {t_load:.1f} s, "
            f"analyze {elapsed - t_schema - t_load:.1f} s: {total:,} rows "
            f"in {elapsed:.1f} s ({total / max(t_load, 1e-9):,.0f} rows/s loading)"
        )
        for name in TABLES:
            console.print(f"  {name:18} {counts[name]:>10,}")
        console.print(f"credentials: {path}")
    print(
        json.dumps(
            {
                "build_seconds": round(elapsed, 1),
                "rows": sum(counts.values()),
                "taskings": counts["taskings"],
                "credentials": str(path),
            }
        )
    )
    return gen.credentials


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 20,000 demarches")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--today", type=date.fromisoformat, default=None, help="anchor date (default: today, UTC)"
    )
    ap.add_argument("--replace", action="store_true", help="drop an existing database first")
    ap.add_argument(
        "--credentials",
        type=Path,
        default=None,
        help="JSON file for the bench users' tokens (default: next to the DB)",
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not (0 < args.scale <= 10) or math.isnan(args.scale):
        ap.error("--scale must be in (0, 10]")
    today = args.today or datetime.now(UTC).date()
    build(
        args.database_url,
        scale=args.scale,
        seed=args.seed,
        today=today,
        replace=args.replace,
        credentials=args.credentials,
        quiet=args.quiet,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
