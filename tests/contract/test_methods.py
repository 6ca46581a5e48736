"""A 405 names, in `Allow`, every method its path takes (RFC 9110), read from the app's
own route table: Starlette's router stopped at the first route whose path matched, so
`OPTIONS /api/v1/demarches/0` said `Allow: GET` though the path takes PATCH too."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from app.errors import PROBLEM_JSON
from app.main import create_app
from app.settings import Settings
from tests.routes import route_table

TABLE = route_table(create_app())
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: "HANOI" if m.group(1) == "code" else "7", path)


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"{\w+}", "[^/]+", path) + "$")


def _takes() -> dict[str, set[str]]:
    """Each concrete URL and every method some route at it takes (a URL can match more
    than one route: /api/v1/cables/replies is also /api/v1/cables/{cable_id})."""
    urls = {_concrete(k.path) for k in TABLE}
    out: dict[str, set[str]] = defaultdict(set)
    for url in urls:
        for k in TABLE:
            if _pattern(k.path).match(url):
                out[url].add(k.method)
    return dict(out)


TAKES = _takes()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """No database: a 405 is answered before anything asks one."""
    url = f"sqlite:///{tmp_path_factory.mktemp('methods') / 'never-opened.db'}"
    with TestClient(create_app(Settings(database_url=url))) as c:
        yield c


@pytest.mark.parametrize("url", sorted(TAKES), ids=str)
def test_a_405_lists_every_method_of_the_path(client, url):
    for method in (m for m in METHODS if m not in TAKES[url]):
        r = client.request(method, url, follow_redirects=False)
        assert r.status_code == 405, (method, url, r.status_code)
        allowed = {m.strip() for m in r.headers["allow"].split(",")}
        assert allowed == TAKES[url], (method, url)
        wanted = PROBLEM_JSON if url.startswith(("/api/", "/health")) else "text/html"
        assert r.headers["content-type"].startswith(wanted)


def test_the_example_of_the_issue(client):
    r = client.options("/api/v1/demarches/0")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, PATCH"
    assert r.json()["status"] == 405
    assert r.json()["detail"] == "OPTIONS is not one of the methods /api/v1/demarches/0 takes."


def test_static_files_say_what_they_take(client):
    r = client.put("/static/app.css")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
