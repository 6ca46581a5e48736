"""The application factory: settings, database, routers, error handlers, limits."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import app.models  # noqa: F401  (configure every mapper before the first request)
from app import apidocs, metrics
from app.auth.admin import router as admin_pages
from app.auth.credentials import CredentialCache
from app.auth.pages import router as auth_pages
from app.auth.router import router as auth_router
from app.cables.pages import router as cable_pages
from app.cables.router import router as cables_router
from app.dashboards.pages import router as dashboard_pages
from app.dashboards.router import router as results_router
from app.db import make_engine, make_read_sessionmaker, make_write_sessionmaker
from app.demarches.pages import router as demarche_pages
from app.demarches.router import router as demarches_router
from app.handlers import install_error_handlers
from app.headers import SecurityHeaders
from app.health import router as health_router
from app.limits import BodySizeLimit, refuse_nul
from app.logs import configure_logging
from app.notifications.pages import router as notification_pages
from app.notifications.router import router as notifications_router
from app.observability import MetricsEndpoint, RequestContext, networks
from app.openapi import describe
from app.posts.pages import router as post_pages
from app.posts.router import collectives as collectives_router
from app.posts.router import router as posts_router
from app.search.pages import router as search_pages
from app.search.router import router as search_router
from app.settings import Settings, get_settings
from app.taskings.chasing import router as chasing_pages
from app.taskings.pages import router as tasking_pages
from app.taskings.router import router as taskings_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    app = FastAPI(
        title="Demarche Tracker",
        version="0.1.0",
        summary="From instruction cable to host-government response.",
        # FastAPI's docs pages load a CDN; app/apidocs.py serves Swagger UI from here.
        docs_url=None,
        redoc_url=None,
        # Every route, API and page: a NUL anywhere in what it reads is a 422.
        dependencies=[Depends(refuse_nul)],
    )
    app.state.settings = settings
    app.state.engine = make_engine(
        settings.database_url, sqlite_busy_timeout=settings.database_busy_timeout
    )
    metrics.watch_pool(app.state.engine)
    app.state.sessionmaker = make_write_sessionmaker(app.state.engine)
    app.state.read_sessionmaker = make_read_sessionmaker(app.state.engine)
    app.state.credentials = CredentialCache(settings.credential_cache_seconds)

    install_error_handlers(app)

    def body_limit(path: str) -> int:
        if path.startswith(f"{API_PREFIX}/cables"):
            return settings.max_cable_bytes
        return settings.max_body_bytes

    # Innermost: the peer /metrics checks is the one the proxy middleware settled on.
    token = settings.metrics_token
    app.add_middleware(
        MetricsEndpoint,
        allow=networks(settings.metrics_allow_ips),
        token=token.get_secret_value() if token else None,
    )
    app.add_middleware(BodySizeLimit, limit_for=body_limit)
    if settings.forwarded_allow_ips.strip():
        # Outside every part of the app: the client address each sees, the sign-in
        # limit's included, is the one a configured proxy names; from any other peer
        # the headers are ignored. `demarche serve` turns uvicorn's own handling off,
        # which by default believes any process on 127.0.0.1.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    # Outside the rest: the body limit's 413 (and the proxy's rewrite) carry the headers
    # too. Outermost of all, RequestContext: every answer has its request id and its line.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth_router)
    api.include_router(posts_router)
    api.include_router(collectives_router)
    api.include_router(demarches_router)
    api.include_router(results_router)
    api.include_router(taskings_router)
    api.include_router(cables_router)
    api.include_router(notifications_router)
    api.include_router(search_router)
    app.include_router(api)
    app.include_router(auth_pages)
    app.include_router(dashboard_pages)
    app.include_router(demarche_pages)
    app.include_router(tasking_pages)
    app.include_router(chasing_pages)
    app.include_router(cable_pages)
    app.include_router(admin_pages)
    app.include_router(post_pages)
    app.include_router(notification_pages)
    app.include_router(search_pages)
    app.include_router(health_router)
    app.include_router(apidocs.router)
    app.mount(apidocs.ASSETS_URL, apidocs.assets(), name="apidocs")
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    # Every status each operation answers, errors as problem JSON: app/openapi.py.
    app.openapi = lambda: describe(app)  # type: ignore[method-assign]

    return app


def serve_app() -> FastAPI:
    """The app as a server worker runs it (`demarche serve`): create_app, then tune_gc."""
    app = create_app()
    tune_gc()
    return app


def tune_gc() -> None:
    """Set a serving process's garbage collector for short requests over a large heap.

    By default CPython's cycle collector makes a full pass every ~70,000 net allocations
    and walks every live object, the app's modules and caches included: on the demarche
    page of 200 posts that was a 100 ms pause every dozen requests (one client: p50
    28 ms, p90 109 ms). Freezing what start-up built takes it out of every later pass,
    and a larger first threshold lets a request's objects die by reference counting
    before the collector looks at them (p90 then 28 ms). Memory stays bounded: cycles
    are still collected, only less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 10)
