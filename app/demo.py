"""Demo data written by the team: a fictional but realistic set of posts, users and demarches.

The demarches imitate real instruction cables (objectives, lettered talking
points, a prose deadline, a Security Council session as key date); the country
"Marovia" and its crisis are invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.service import add_user, issue_token
from app.classification import Classification
from app.db import today_utc
from app.demarches import service as demarches
from app.demarches.models import Demarche
from app.demarches.schemas import DemarcheIn, KeyDateIn, TalkingPointIn, TargetIn
from app.posts.models import Collective, CollectiveMembership, Post, PostKind, Region
from app.taskings import service as workflow
from app.taskings.models import DeliveryLevel, DeliveryMethod, Position, Tasking
from app.taskings.schemas import AcknowledgeIn, CommitmentIn, DeliveryIn, ResponseIn
from app.taskings.workflow import Action

# code, name, kind, city, country, routing indicator, region
POSTS: list[tuple[str, str, PostKind, str, str, str, Region]] = [
    (
        "USUN",
        "USMISSION USUN NEW YORK",
        PostKind.MISSION,
        "New York",
        "United Nations",
        "RUCNDT",
        Region.IO,
    ),
    ("HANOI", "AMEMBASSY HANOI", PostKind.EMBASSY, "Hanoi", "Vietnam", "RUEHHI", Region.EAP),
    (
        "OUAGADOUGOU",
        "AMEMBASSY OUAGADOUGOU",
        PostKind.EMBASSY,
        "Ouagadougou",
        "Burkina Faso",
        "RUEHOG",
        Region.AF,
    ),
    (
        "SANJOSE",
        "AMEMBASSY SAN JOSE",
        PostKind.EMBASSY,
        "San Jose",
        "Costa Rica",
        "RUEHSJ",
        Region.WHA,
    ),
    ("TRIPOLI", "AMEMBASSY TRIPOLI", PostKind.EMBASSY, "Tripoli", "Libya", "RUEHTRO", Region.NEA),
    ("BEIJING", "AMEMBASSY BEIJING", PostKind.EMBASSY, "Beijing", "China", "RUEHBJ", Region.EAP),
    ("MOSCOW", "AMEMBASSY MOSCOW", PostKind.EMBASSY, "Moscow", "Russia", "RUEHMO", Region.EUR),
    (
        "LONDON",
        "AMEMBASSY LONDON",
        PostKind.EMBASSY,
        "London",
        "United Kingdom",
        "RUEHLO",
        Region.EUR,
    ),
    ("PARIS", "AMEMBASSY PARIS", PostKind.EMBASSY, "Paris", "France", "RUEHFR", Region.EUR),
    (
        "JAKARTA",
        "AMEMBASSY JAKARTA",
        PostKind.EMBASSY,
        "Jakarta",
        "Indonesia",
        "RUEHJA",
        Region.EAP,
    ),
    (
        "PRETORIA",
        "AMEMBASSY PRETORIA",
        PostKind.EMBASSY,
        "Pretoria",
        "South Africa",
        "RUEHSA",
        Region.AF,
    ),
    (
        "BRASILIA",
        "AMEMBASSY BRASILIA",
        PostKind.EMBASSY,
        "Brasilia",
        "Brazil",
        "RUEHBR",
        Region.WHA,
    ),
    ("ANKARA", "AMEMBASSY ANKARA", PostKind.EMBASSY, "Ankara", "Turkey", "RUEHAK", Region.EUR),
    ("SUVA", "AMEMBASSY SUVA", PostKind.EMBASSY, "Suva", "Fiji", "RUEHSV", Region.EAP),
    ("USEU", "USEU BRUSSELS", PostKind.OFFICE, "Brussels", "European Union", "RUEHBS", Region.EUR),
]

# Where each post keeps its calendar: its deliveries are dated in its own local days.
TIME_ZONES = {
    "USUN": "America/New_York",
    "HANOI": "Asia/Ho_Chi_Minh",
    "OUAGADOUGOU": "Africa/Ouagadougou",
    "SANJOSE": "America/Costa_Rica",
    "TRIPOLI": "Africa/Tripoli",
    "BEIJING": "Asia/Shanghai",
    "MOSCOW": "Europe/Moscow",
    "LONDON": "Europe/London",
    "PARIS": "Europe/Paris",
    "JAKARTA": "Asia/Jakarta",
    "PRETORIA": "Africa/Johannesburg",
    "BRASILIA": "America/Sao_Paulo",
    "ANKARA": "Europe/Istanbul",
    "SUVA": "Pacific/Fiji",
    "USEU": "Europe/Brussels",
}

# The permanent members sit for good; the elected ones for two calendar years.
UNSC_PERMANENT = ["BEIJING", "MOSCOW", "LONDON", "PARIS"]
UNSC_MEMBERS = [
    *UNSC_PERMANENT,
    "HANOI",
    "OUAGADOUGOU",
    "SANJOSE",
    "TRIPOLI",
    "JAKARTA",
    "PRETORIA",
]


@dataclass(frozen=True)
class Credential:
    username: str
    role: str
    password: str
    token: str


# Demo credentials, printed by `make run` and listed in the README. Demo only.
USERS: list[tuple[str, str, Role, Classification, str | None]] = [
    ("desk", "Dana Whitfield (IO/UNP desk)", Role.DESK_OFFICER, Classification.SECRET, None),
    ("hanoi", "Minh Tran (Hanoi POL)", Role.POST_OFFICER, Classification.CONFIDENTIAL, "HANOI"),
    (
        "sanjose",
        "Lucia Mora (San Jose POL)",
        Role.POST_OFFICER,
        Classification.CONFIDENTIAL,
        "SANJOSE",
    ),
    ("viewer", "Sam Okafor (IO front office)", Role.VIEWER, Classification.CONFIDENTIAL, None),
    (
        "admin",
        "Alex Rivera (registry admin)",
        Role.ADMINISTRATOR,
        Classification.UNCLASSIFIED,
        None,
    ),
]


def password_for(username: str) -> str:
    return f"demo-{username}-2026"


def is_empty(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(Post)) or 0) == 0


def credentials(session: Session) -> list[Credential]:
    """The demo users' sign-in again, for a database loaded earlier: the password the demo
    gave each (unless since changed) and a new API token, since a token is kept only as a
    hash and cannot be shown twice. Users since removed or disabled are left out."""
    names = [u[0] for u in USERS]
    users = session.scalars(select(User).where(User.username.in_(names)))
    by_name = {u.username: u for u in users if u.active}
    out = []
    for username, *_ in USERS:
        user = by_name.get(username)
        if user is not None:
            token = issue_token(session, user=user, name="demo")
            out.append(Credential(username, user.role.value, password_for(username), token.secret))
    return out


def credential_lines(creds: list[Credential]) -> list[str]:
    """One plain line per user, never wrapped or cut at a terminal's width: a token is
    copied whole from here. Columns padded to the longest value, tokens last."""
    rows = [("user", "role", "password", "API token")] + [
        (c.username, c.role, c.password, c.token) for c in creds
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [
        "  ".join(v.ljust(w) for v, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
        for r in rows
    ]


def load(session: Session, *, today: date | None = None) -> list[Credential]:
    today = today or today_utc()
    posts = {}
    for code, name, kind, city, country, routing, region in POSTS:
        posts[code] = Post(
            code=code,
            name=name,
            kind=kind,
            city=city,
            country=country,
            routing_indicator=routing,
            region=region,
            time_zone=TIME_ZONES[code],
        )
    session.add_all(posts.values())
    term = (date(today.year, 1, 1), date(today.year + 1, 12, 31))
    session.add_all(
        [
            Collective(
                code="UNSC",
                name="UN SECURITY COUNCIL COLLECTIVE",
                routing_indicator="RUEHGV",
                memberships=[
                    CollectiveMembership(
                        post=posts[c],
                        valid_from=None if c in UNSC_PERMANENT else term[0],
                        valid_to=None if c in UNSC_PERMANENT else term[1],
                    )
                    for c in UNSC_MEMBERS
                ],
            ),
            Collective(code="ALLPOSTS", name="ALL DIPLOMATIC AND CONSULAR POSTS", all_posts=True),
        ]
    )
    session.flush()

    creds = []
    users = {}
    for username, full_name, role, clearance, post in USERS:
        users[username] = add_user(
            session,
            username=username,
            full_name=full_name,
            role=role,
            clearance=clearance,
            post_code=post,
            password=password_for(username),
        )
        # Where the worker mails their notifications (Mailpit catches them in the demo).
        users[username].email = f"{username}@demo.example"
        token = issue_token(session, user=users[username], name="demo")
        creds.append(Credential(username, role.value, password_for(username), token.secret))

    desk = users["desk"]
    marovia = _marovia(session, desk, today)
    _report_progress(session, marovia, desk, users, today)
    _fisheries(session, desk, today)
    _draft(session, desk, today)
    _secret(session, desk, today)
    session.flush()
    return creds


def _marovia(session: Session, desk, today: date) -> Demarche:
    council = today + timedelta(days=9)
    data = DemarcheIn(
        subject="UNSC: URGING SUPPORT FOR RENEWAL OF THE UN OBSERVER MISSION IN MAROVIA (UNOMAR)",
        summary=(
            "Posts are asked to urge host governments to vote for a clean twelve-month renewal "
            "of UNOMAR at the Security Council, and to oppose any amendment that would cut the "
            "mission's monitoring mandate."
        ),
        summary_classification=Classification.UNCLASSIFIED,
        classification=Classification.CONFIDENTIAL,
        deadline=today + timedelta(days=6),
        delivery_level="highest appropriate level",
        tags=["PREL", "UNSC", "MV"],
        objectives=[
            "Secure a vote in favour of a clean twelve-month renewal of UNOMAR.",
            "Discourage co-sponsorship of the amendment cutting the monitoring mandate.",
            "Learn each government's instructions to its Permanent Representative.",
            "Confirm support for a presidential statement if the renewal fails.",
        ],
        talking_points=[
            TalkingPointIn(
                text="UNOMAR's monitors are the only independent source of "
                "information on the ceasefire line; their reports have prevented "
                "two escalations this year.",
                classification=Classification.UNCLASSIFIED,
                use="public",
            ),
            TalkingPointIn(
                text="We ask your government to vote for the renewal as drafted. "
                "A) The text keeps the mandate unchanged. B) It asks for a "
                "strategic review within six months. C) It adds no new costs.",
                classification=Classification.UNCLASSIFIED,
            ),
            TalkingPointIn(
                text="We understand some members will table an amendment to end "
                "the monitoring mandate; we would regard it as a vote against the "
                "mission itself.",
                classification=Classification.CONFIDENTIAL,
            ),
            # Marked no higher than the demarche: every post tasked with it may read it.
            TalkingPointIn(
                text="We assess that one permanent member will abstain if the elected "
                "members stay united; do not share this assessment.",
                classification=Classification.CONFIDENTIAL,
            ),
        ],
        key_dates=[
            KeyDateIn(
                date=council,
                what="Security Council vote on UNOMAR renewal",
                classification=Classification.UNCLASSIFIED,
            )
        ],
        targets=[TargetIn(post=c) for c in UNSC_MEMBERS]
        + [TargetIn(post="USUN", role="info"), TargetIn(post="USEU", role="info")],
    )
    demarche = demarches.create_draft(session, data, actor=desk)
    demarches.issue(session, demarche, actor=desk, today=today)
    # Issued four days ago: the posts' deliveries of the last three days came after it.
    _dated_issue(session, demarche, today - timedelta(days=4))
    return demarche


def _dated_issue(session: Session, demarche: Demarche, day: date) -> None:
    """Set the story's issue day: a delivery may not be dated before its tasking was
    issued, and the demo's deliveries happened days ago."""
    issued = datetime.combine(day, time(9, 0), UTC)
    demarche.issued_at = issued
    for tasking in session.scalars(select(Tasking).where(Tasking.demarche_id == demarche.id)):
        tasking.created_at = issued
    session.flush()


def _officer(session: Session, users: dict, post_code: str):
    """The post officer who logs a post's progress (the printed demo users, or a quiet one)."""
    for user in users.values():
        if user.post is not None and user.post.code == post_code:
            return user
    users[f"officer-{post_code.lower()}"] = user = add_user(
        session,
        username=f"officer-{post_code.lower()}",
        full_name=f"{post_code.title()} POL",
        role=Role.POST_OFFICER,
        clearance=Classification.CONFIDENTIAL,
        post_code=post_code,
    )
    return user


def _report_progress(session: Session, demarche: Demarche, desk, users: dict, today: date) -> None:
    """Walk the Marovia taskings through the workflow, as posts and the desk would."""
    taskings = {
        t.post.code: t
        for t in session.scalars(select(Tasking).where(Tasking.demarche_id == demarche.id))
    }

    def meeting(code: str, name: str, title: str, level: DeliveryLevel, days_ago: int):
        officer = _officer(session, users, code)
        workflow.deliver(
            session,
            taskings[code],
            DeliveryIn(
                delivered_on=today - timedelta(days=days_ago),
                delivered_by=officer.full_name,
                recipient_name=name,
                recipient_title=title,
                recipient_office="Ministry of Foreign Affairs",
                level=level,
                method=DeliveryMethod.MEETING,
                points=[1, 2, 3],
                notes="Left a non-paper with the points.",
            ),
            actor=officer,
        )

    def respond(code: str, position: Position, summary: str, commitments=()):
        workflow.report_response(
            session,
            taskings[code],
            ResponseIn(
                position=position,
                summary=summary,
                commitments=[
                    CommitmentIn(text=c, due_date=today + timedelta(days=9)) for c in commitments
                ],
                reporting_cable_ref=f"{today:%y}{code}{400 + len(code)}",
            ),
            actor=_officer(session, users, code),
        )

    workflow.acknowledge(
        session,
        taskings["HANOI"],
        AcknowledgeIn(planned_date=today + timedelta(days=2), officer="Minh Tran"),
        actor=users["hanoi"],
    )
    meeting(
        "SANJOSE",
        "Ana Lucia Vargas",
        "Vice Minister for Multilateral Affairs",
        DeliveryLevel.DEPUTY_MINISTER,
        2,
    )
    respond(
        "SANJOSE",
        Position.SUPPORTS,
        "Costa Rica will vote for the renewal as drafted and will say so in the Council.",
        ["Will speak in favour at the Council session."],
    )
    meeting(
        "OUAGADOUGOU",
        "Issa Ouedraogo",
        "Director of International Organizations",
        DeliveryLevel.SENIOR_OFFICIAL,
        1,
    )
    meeting(
        "LONDON",
        "Catherine Hale",
        "Director, UN and Multilateral",
        DeliveryLevel.SENIOR_OFFICIAL,
        3,
    )
    respond(
        "LONDON",
        Position.LEANS_SUPPORTIVE,
        "Supportive in principle; wants the review language tightened before committing.",
    )
    meeting(
        "BEIJING",
        "Zhang Wei",
        "Deputy Director-General, International Organizations",
        DeliveryLevel.SENIOR_OFFICIAL,
        3,
    )
    respond(
        "BEIJING",
        Position.OPPOSES,
        "Sees the monitoring mandate as interference; will support the amendment to end it.",
    )
    workflow.move_with_reason(session, taskings["BEIJING"], Action.ACCEPT, actor=desk)
    workflow.move_with_reason(
        session,
        taskings["TRIPOLI"],
        Action.ADVISE_AGAINST,
        actor=_officer(session, users, "TRIPOLI"),
        reason="The Foreign Minister is abroad and his deputy has publicly "
        "attacked UNOMAR; a demarche now would harden the position.",
    )
    workflow.move_with_reason(
        session,
        taskings["MOSCOW"],
        Action.MARK_UNABLE,
        actor=_officer(session, users, "MOSCOW"),
        reason="Ministry declined every request for a meeting this week.",
    )


def _fisheries(session: Session, desk, today: date) -> Demarche:
    # Issued a fortnight ago and now past due: the overdue board has something to show.
    issued_on = today - timedelta(days=14)
    data = DemarcheIn(
        subject="PACIFIC FISHERIES: SEEKING SUPPORT FOR PORT STATE MEASURES AT THE COMMISSION",
        summary="Ask Pacific and partner governments to back port state measures against "
        "illegal, unreported and unregulated fishing at the commission's next session.",
        classification=Classification.UNCLASSIFIED,
        deadline=today - timedelta(days=3),
        delivery_level="Minister of Fisheries or equivalent",
        tags=["SENV", "EFIS", "FJ"],
        objectives=["Win support for the port state measures proposal."],
        talking_points=[
            TalkingPointIn(
                text="Illegal fishing costs Pacific states an estimated "
                "share of their catch every year; port controls are "
                "the cheapest enforcement there is.",
                classification=Classification.UNCLASSIFIED,
                use="public",
            )
        ],
        targets=[
            TargetIn(post="SUVA", countries=["Fiji", "Tonga", "Nauru"]),
            TargetIn(post="JAKARTA"),
            TargetIn(post="HANOI", due_date=today - timedelta(days=1)),
        ],
    )
    demarche = demarches.create_draft(session, data, actor=desk)
    demarches.issue(session, demarche, actor=desk, today=issued_on)
    _dated_issue(session, demarche, issued_on)
    return demarche


def _draft(session: Session, desk, today: date) -> Demarche:
    data = DemarcheIn(
        subject="HUMAN RIGHTS COUNCIL: CANDIDACY OF MAROVIA",
        summary="Draft: ask governments not to support Marovia's candidacy.",
        classification=Classification.SBU,
        deadline=today + timedelta(days=30),
        tags=["PHUM", "UNHRC"],
        objectives=["Deny Marovia a seat on the Human Rights Council."],
        targets=[TargetIn(post="BRASILIA"), TargetIn(post="PRETORIA"), TargetIn(post="ANKARA")],
    )
    return demarches.create_draft(session, data, actor=desk)


def _secret(session: Session, desk, today: date) -> Demarche:
    data = DemarcheIn(
        subject="NONPROLIFERATION: INTERDICTION OF A SUSPECT CARGO TRANSITING THE BOSPORUS",
        summary="Ask Turkey to inspect a named vessel's cargo on arrival.",
        classification=Classification.SECRET,
        deadline=today + timedelta(days=2),
        delivery_level="Deputy Foreign Minister",
        tags=["PARM", "MNUC", "TU"],
        objectives=["Obtain an inspection of the cargo before it leaves Turkish waters."],
        talking_points=[
            TalkingPointIn(
                text="We have information that the cargo includes controlled items.",
                classification=Classification.SECRET,
            )
        ],
        targets=[TargetIn(post="ANKARA")],
    )
    demarche = demarches.create_draft(session, data, actor=desk)
    demarches.issue(session, demarche, actor=desk, today=today)
    return demarche
