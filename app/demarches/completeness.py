"""Is a draft complete enough to send? The elements an instruction must carry, checked.

An error stops the draft being issued (the issue command refuses with the list); a
warning is shown beside the Issue button, and recorded in the issue's audit event when
the desk issues anyway. The API's check, the draft's page and the issue command all
read this one function, so they cannot disagree.

What the model does not hold is not checked: every talking point carries its use
(public or private) by construction, and whether a post may advise against is the
tasking workflow's, open to every action post. An unmarked portion takes the
demarche's level when written (app/demarches/service.py), so "every portion marked"
is checked as what can still be wrong: a portion marked above the demarche (rows from
before the rule of marks). The model has no field for arguments or their likely
counter-arguments: the background (the summary) carries the arguments, and a point
that answers an objection ("If raised, ...") the counter-arguments; when either is
absent that is a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from app.classification import Classification
from app.demarches.models import Demarche
from app.vocabulary import TaskingRole


@dataclass(frozen=True)
class Finding:
    """One thing the check found: a stable code, the input to fix, and what to do."""

    code: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Completeness:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class SourceGap:
    """What the draft's source cable addressed that its targets do not cover (a name
    the registry could not place, or a collective's member left out), as a warning."""

    code: str
    message: str


# How a point or the background answers a likely objection: "If raised, ...",
# "If asked about ...", "Some may argue ...", "counter-argument".
_COUNTER = re.compile(
    r"\bif (?:raised|asked|pressed|challenged|questioned|told)\b|\b(?:may|might|will|would) "
    r"(?:argue|object|claim|say)\b|\bcounter-?arguments?\b|\bobjections?\b|\bin response to\b",
    re.IGNORECASE,
)


def check(
    demarche: Demarche,
    *,
    today: date,
    readable: Callable[[Classification], bool] = lambda _: True,
    source_gaps: Iterable[SourceGap] = (),
) -> Completeness:
    """The errors and warnings of a draft, as of `today`. Writes nothing.

    `readable` says whether the asker may read a portion of this mark: a withheld key
    date is named without its date. `source_gaps` come from the draft's source cable
    (app/demarches/service.py reads them), when it has one its asker may read."""
    errors: list[Finding] = []
    warnings: list[Finding] = []

    def error(code: str, where: str, message: str) -> None:
        errors.append(Finding(code, where, message))

    def warn(code: str, where: str, message: str) -> None:
        warnings.append(Finding(code, where, message))

    if not demarche.objectives:
        error(
            "objectives_missing",
            "objectives",
            "Add the objectives: what the posts are to obtain from the host government.",
        )
    if not demarche.talking_points:
        error(
            "talking_points_missing",
            "talking_points",
            "Add the talking points the posts are to deliver.",
        )
    if not (demarche.delivery_level or "").strip():
        error(
            "delivery_level_missing",
            "delivery_level",
            'Say at what level to deliver it ("highest appropriate level", "Foreign Minister").',
        )
    _dates(demarche, today=today, readable=readable, error=error, warn=warn)
    actions = [t for t in demarche.targets if t.role == TaskingRole.ACTION]
    if not actions:
        error(
            "action_request_missing",
            "targets",
            "No action post: the action request (paragraph 1) would ask no post to act. "
            "Add at least one action post.",
        )
    inactive = sorted({t.post.code for t in demarche.targets if not t.post.active})
    if inactive:
        error(
            "target_inactive",
            "targets",
            f"Inactive posts cannot be tasked: {', '.join(inactive)}.",
        )
    _marks(demarche, error=error)

    if not demarche.summary.strip():
        warn(
            "arguments_missing",
            "summary",
            "No background: the posts have the points but not the arguments behind them.",
        )
    texts = [demarche.summary, *(p.text for p in demarche.talking_points)]
    if demarche.talking_points and not any(_COUNTER.search(t) for t in texts):
        warn(
            "counter_arguments_missing",
            "talking_points",
            'No point answers a likely counter-argument ("If raised, ..."): posts '
            "will meet the objections unprepared.",
        )
    if not demarche.tag_rows:
        warn("tags_missing", "tags", "No TAGS: the cable will be hard to file and find.")
    for gap in source_gaps:
        warn(gap.code, "targets", gap.message)
    return Completeness(errors, warnings)


def _dates(
    demarche: Demarche,
    *,
    today: date,
    readable: Callable[[Classification], bool],
    error: Callable[[str, str, str], None],
    warn: Callable[[str, str, str], None],
) -> None:
    deadline = demarche.deadline
    if deadline is None:
        error("deadline_missing", "deadline", "Set a deadline before issuing.")
    elif deadline < today:
        error(
            "deadline_past",
            "deadline",
            f"The deadline {deadline.isoformat()} is in the past "
            f"(today is {today.isoformat()}); move it before issuing.",
        )
    late = sorted(
        {t.post.code for t in demarche.targets if t.due_date is not None and t.due_date < today}
    )
    if late:
        error("due_date_past", "targets", f"Due dates in the past for: {', '.join(late)}.")
    if deadline is None:
        return
    # A key date still to come is an event the demarche prepares (a vote, a session);
    # past ones are background. A deadline after every one of them has posts deliver
    # after the event: an error. One after an earlier step (experts meeting before the
    # vote) may be meant, and is said as a warning.
    upcoming = sorted((k for k in demarche.key_dates if k.on >= today), key=lambda k: k.on)
    for i, k in enumerate(upcoming):
        if k.on >= deadline:
            continue
        if readable(k.classification):
            what = f"{k.what} on {k.on.isoformat()}"
        else:
            what = "a key date withheld from you"
        if i == len(upcoming) - 1:
            error(
                "deadline_after_key_date",
                "deadline",
                f"The deadline {deadline.isoformat()} falls after {what}, the last event "
                "it prepares: posts would deliver too late. Move the deadline before it.",
            )
        else:
            warn(
                "deadline_after_key_date",
                "deadline",
                f"The deadline {deadline.isoformat()} falls after {what}: posts may "
                "deliver after it.",
            )
    beyond = sorted(
        {t.post.code for t in demarche.targets if t.due_date is not None and t.due_date > deadline}
    )
    if beyond:
        warn(
            "due_date_after_deadline",
            "targets",
            f"Due after the deadline {deadline.isoformat()}: {', '.join(beyond)}.",
        )


def _marks(demarche: Demarche, *, error: Callable[[str, str, str], None]) -> None:
    level = demarche.classification
    above: list[tuple[str, Classification]] = []
    if demarche.summary_classification > level:
        above.append(("the summary", demarche.summary_classification))
    above += [
        (f"objective {o.position}", o.classification)
        for o in demarche.objectives
        if o.classification > level
    ]
    above += [
        (f"point {p.position}", p.classification)
        for p in demarche.talking_points
        if p.classification > level
    ]
    above += [
        ("a key date", k.classification) for k in demarche.key_dates if k.classification > level
    ]
    if above:
        top = max(c for _, c in above)
        names = ", ".join(f"{name} ({c.value})" for name, c in above)
        error(
            "portion_above_classification",
            "classification",
            f"Portions are marked above the demarche's {level.value}: {names}. Classify "
            f"the demarche {top.value} or mark them lower.",
        )
