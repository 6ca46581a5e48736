"""The API docs at /docs: Swagger UI served from this app, so they work offline.

FastAPI's own /docs and /redoc pages fetch their scripts from a CDN, which a ministry
network (or any machine without the Internet) cannot reach: the page stayed white.
The fastapi-offline package ships Swagger UI's files (and their licence); they are
served under /static/docs/, and the page starts them from app/static/docs.js, not an
inline script, so /docs answers under the same 'self'-only policy as every page.
ReDoc is not offered: its styles are injected inline, which that policy refuses, and
one reader of the schema is enough.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.web import templates

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/static/docs"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "apidocs.html",
        {"title": request.app.title, "openapi_url": request.app.openapi_url, "assets": ASSETS_URL},
    )


@router.get("/redoc")
def redoc() -> RedirectResponse:
    """An old bookmark of FastAPI's ReDoc page lands on the docs there are."""
    return RedirectResponse("/docs", status_code=308)


def assets() -> StaticFiles:
    """Swagger UI's script and stylesheet, mounted before /static (the longer prefix)."""
    return StaticFiles(directory=ASSETS)
