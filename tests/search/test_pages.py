"""The search page and the home list's words: the same search, escaped and marked."""

from __future__ import annotations

from tests.factories import login
from tests.search.conftest import CANARY


def test_search_page_groups_marks_and_escapes(client, page_world, db):
    d = page_world["demarche"]
    d.summary = "<script>alert(1)</script> clean renewal"
    db.commit()
    login(client, "hanoi")
    page = client.get("/search", params={"q": '"clean renewal"'})
    assert page.status_code == 200
    assert 'role="search"' in page.text  # the header's box
    assert f'href="/demarches/{d.id}"' in page.text
    assert "<mark>clean</mark> <mark>renewal</mark>" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert client.get("/search", params={"q": '" - NEAR( *'}).status_code == 200
    home = client.get("/", params={"q": "renewal"})
    assert f'href="/demarches/{d.id}"' in home.text
    assert f'href="/demarches/{d.id}"' not in client.get("/", params={"q": CANARY}).text
    # The SECRET point of the factory's demarche is withheld from Hanoi's officer.
    assert "1 demarche" not in client.get("/", params={"q": "red line"}).text
