"""The app's own route table, read from the router, so tests cover every route that exists."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute


@dataclass(frozen=True, order=True)
class RouteKey:
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


_SKIP = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def route_table(app: FastAPI) -> list[RouteKey]:
    keys: set[RouteKey] = set()

    def add(methods: set[str] | None, path: str) -> None:
        if path in _SKIP:
            return
        for m in methods or ():
            if m != "HEAD":
                keys.add(RouteKey(m, path))

    for route in app.routes:
        if isinstance(route, APIRoute):
            add(route.methods, route.path)
        elif hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
            for ctx in route.effective_route_contexts():
                add(ctx.methods, ctx.path_format)
        elif getattr(route, "methods", None):
            add(route.methods, route.path)
    return sorted(keys)
