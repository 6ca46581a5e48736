"""The cable import page through TestClient."""

from __future__ import annotations

from datetime import date

from tests.cables._corpus import CABLES, needs_corpus
from tests.factories import login

TODAY = date.today()


CABLE = CABLES / "07STATE166909.txt"


@needs_corpus
def test_import_an_instruction_shows_the_draft_beside_the_text(client, db, page_world):
    csrf = login(client, "desk")
    page = client.get("/cables/import")
    assert page.status_code == 200 and "Unmatched replies" in page.text
    r = client.post(
        "/cables/import/instruction", data={"csrf_token": csrf, "text": CABLE.read_text()}
    )
    assert r.status_code == 200, r.text[:2000]
    assert "As parsed" in r.text and "Original text" in r.text and "RICE" in r.text
    assert "Open the draft" in r.text


def test_import_refuses_what_is_not_a_cable(client, page_world):
    csrf = login(client, "desk")
    r = client.post("/cables/import/instruction", data={"csrf_token": csrf, "text": "hello"})
    assert r.status_code == 422 and "does not look like a cable" in r.text
    assert ">hello</textarea>" in r.text
