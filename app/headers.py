"""Security headers on every answer: API, pages, static files, errors.

- `Content-Security-Policy`: scripts, styles and images from this origin only, no
  inline script or style (the pages have none: app/static/app.css carries every
  style), no plugins, no <base>, forms post only here, and no framing at all.
  `X-Frame-Options: DENY` says the last to browsers that predate frame-ancestors.
- `X-Content-Type-Options: nosniff`: a JSON answer or an uploaded cable's text is
  never run as a script or a page because a browser guessed it was one.
- `Referrer-Policy: no-referrer`: our URLs name records and filters
  (`/demarches/11`, `/?tag=PREL&post=HANOI`), which say what a desk is working on;
  no link of ours leaves the site and nothing here reads Referer (CSRF rests on a
  token), so nothing is lost by sending none, even to ourselves.
- `Cache-Control: no-store` on everything but /static: a page or an answer may hold
  SECRET text and must not be kept by a browser or a proxy (an unauthenticated
  answer costs nothing to fetch again). The stylesheet holds nothing and may be cached.

The API docs (/docs) are no exception: Swagger UI's files are served from here and
started by a script file (app/apidocs.py), so they need no CDN and no inline script.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
STATIC_PREFIX = "/static/"


def security_headers(path: str) -> dict[str, str]:
    """The headers every answer to a request for this path carries."""
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }
    if not path.startswith(STATIC_PREFIX):
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeaders:
    """Sets security_headers() on every answer that passes through it, replacing what
    a route set (a route cannot opt a SECRET answer back into a cache)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
