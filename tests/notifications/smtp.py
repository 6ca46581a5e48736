"""A real SMTP server in the test process (aiosmtpd), collecting what arrives."""

from __future__ import annotations

import asyncio
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self, stall_after: int | None = None) -> None:
        self.messages: list[EmailMessage] = []
        # After this many messages the server hangs (a worker can be killed mid-batch).
        self.stall_after = stall_after

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        if self.stall_after is not None and len(self.messages) >= self.stall_after:
            self.stall_after = None
            await asyncio.sleep(3)
        return "250 OK"

    def ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(stall_after: int | None = None) -> tuple[Controller, Inbox]:
    inbox = Inbox(stall_after)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, inbox
