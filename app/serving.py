"""How `demarche serve` holds its sockets: none stays open for ever doing nothing.

uvicorn closes a connection left idle `timeout_keep_alive` seconds after a response,
but arms nothing before the first request, and every byte received cancels that timer:
a socket that connects and sends nothing, or sends its request head a byte every few
seconds, holds a file descriptor and a slot for as long as the client likes (200 such
sockets were all still open after 20 s, issue 14). On top of uvicorn's own timer:

- a new connection that sends nothing is closed after the keep-alive timeout, as one
  idle between two requests already is;
- a request's head (request line and headers) must be complete within
  HEADER_TIMEOUT_SECONDS of the connection opening, or of the previous response, however
  slowly it trickles in (h11 and httptools have no such limit).

Both of uvicorn's HTTP/1.1 protocols start a request cycle (`self.cycle`) only once the
head is complete, which is what the deadline watches. A slow body is not bounded here:
its request is in flight, and the graceful shutdown's time limit bounds it at exit.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import get_settings

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


class _Deadlines:
    """Mixed in before one of uvicorn's HTTP protocols."""

    # What the mixin uses of the protocol it is mixed into.
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    timeout_keep_alive: int
    timeout_keep_alive_task: asyncio.TimerHandle | None
    timeout_keep_alive_handler: Any
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(
            get_settings().header_timeout_seconds, self._head_too_slow, self.cycle
        )

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self, cycle_when_armed: Any) -> None:
        self._head_deadline = None
        waiting = self.cycle is cycle_when_armed  # no request head completed since
        in_flight = self.cycle is not None and not self.cycle.response_complete
        if waiting and not in_flight and not self.transport.is_closing():
            self.transport.close()


class H11WithDeadlines(_Deadlines, H11Protocol):
    pass


if HttpToolsProtocol is not None:

    class HttpToolsWithDeadlines(_Deadlines, HttpToolsProtocol):
        pass


def http_protocol() -> type[asyncio.Protocol]:
    """uvicorn's faster protocol when installed (as its "auto" would pick), with deadlines."""
    if HttpToolsProtocol is not None:
        return HttpToolsWithDeadlines
    return H11WithDeadlines  # pragma: no cover
