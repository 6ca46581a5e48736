"""What a notification says by email, and the SMTP hand-over. No database here.

Classified text never leaves by email: a message carries the demarche's number, its
precedence, the due date and a link, and the demarche's subject only when the demarche
is UNCLASSIFIED (the subject carries the demarche's level); never a point, a response,
a reason or a summary. The body is UNCLASSIFIED and says so; the subject line is marked
with the classification of the demarche it names, so a reader knows what the link opens.
"""

from __future__ import annotations

import html
import smtplib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate

from app.classification import Classification
from app.notifications.models import Kind
from app.settings import Settings
from app.vocabulary import Precedence

WHAT = {
    Kind.NEW_TASKING: "new tasking for your post",
    Kind.AMENDED: "the demarche was amended",
    Kind.INSISTED: "the desk insists: please deliver",
    Kind.WAIVED: "the desk waived the tasking",
    Kind.CANCELLED: "the tasking was cancelled",
    Kind.EXTENDED: "the due date was extended",
    Kind.REPLY_MATCHED: "a reply cable was matched and awaits your confirmation",
    Kind.RESPONSE_REPORTED: "a post reported the host government's response",
    Kind.DUE_SOON: "a tasking is due soon",
    Kind.OVERDUE: "a tasking is overdue",
    Kind.UNACKNOWLEDGED: "an urgent tasking is not yet acknowledged",
    Kind.REMINDED: "the desk reminds your post: this tasking is overdue",
}


@dataclass(frozen=True)
class Facts:
    """Everything a message may carry, each of it UNCLASSIFIED (the subject only when
    the demarche is)."""

    kind: Kind
    demarche_id: int
    classification: Classification
    precedence: Precedence
    due_date: date | None
    post_code: str | None
    subject: str | None  # None unless the demarche is UNCLASSIFIED
    link: str


def facts_subject(classification: Classification, subject: str) -> str | None:
    return subject if classification == Classification.UNCLASSIFIED else None


def compose(
    facts: Facts,
    *,
    to: str,
    sender: str,
    message_id: str,
    thread: str,
) -> EmailMessage:
    what = WHAT[facts.kind]
    urgent = facts.precedence in (Precedence.FLASH, Precedence.NIACT_IMMEDIATE)
    headline = f"Demarche {facts.demarche_id}: {what}"
    if urgent:
        headline = f"{facts.precedence.value}: {headline}"
    msg = EmailMessage()
    msg["Subject"] = f"[{facts.classification.value}] {headline}"
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = thread
    msg["References"] = thread
    lines = [
        ("Demarche", str(facts.demarche_id)),
        ("Classification of the demarche", facts.classification.value),
        ("Precedence", facts.precedence.value),
        ("Due", facts.due_date.isoformat() if facts.due_date else "no due date"),
    ]
    if facts.post_code:
        lines.append(("Post", facts.post_code))
    if facts.subject is not None:
        lines.append(("Subject", facts.subject))
    note = (
        "This message carries no classified text. Open the link to read the demarche "
        "in the tracker."
    )
    if urgent:
        note = f"{facts.precedence.value}: acknowledge at once. " + note
    text = "\n".join(
        [
            "UNCLASSIFIED",
            "",
            headline,
            "",
            *(f"{k}: {v}" for k, v in lines),
            "",
            note,
            facts.link,
            "",
            "UNCLASSIFIED",
        ]
    )
    msg.set_content(text)
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in lines)
    msg.add_alternative(
        "<!doctype html><html><body>"
        "<p><strong>UNCLASSIFIED</strong></p>"
        f"<h1>{html.escape(headline)}</h1><table>{rows}</table>"
        f"<p>{html.escape(note)}</p>"
        f'<p><a href="{html.escape(facts.link)}">{html.escape(facts.link)}</a></p>'
        "<p><strong>UNCLASSIFIED</strong></p></body></html>",
        subtype="html",
    )
    return msg


class Mailer:
    """One SMTP connection for a batch; `send` raises on any refusal (the caller retries)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        s = self.settings
        assert s.smtp_host is not None
        self.smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        if s.smtp_starttls:
            self.smtp.starttls()
        if s.smtp_username:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            self.smtp.login(s.smtp_username, password)
        return self

    def send(self, msg: EmailMessage) -> None:
        assert self.smtp is not None
        self.smtp.send_message(msg)

    def __exit__(self, *exc: object) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except smtplib.SMTPException:
                self.smtp.close()
            except OSError:
                self.smtp.close()
