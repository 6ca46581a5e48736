"""The cable import page through TestClient."""

from __future__ import annotations

import re
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
        "/cables/import/instruction",
        data={"csrf_token": csrf, "text": CABLE.read_text()},
        follow_redirects=False,
    )
    # Post/redirect/get: the answer is the new draft's edit page, the cable beside it.
    assert r.status_code == 303, r.text[:2000]
    assert re.fullmatch(r"/demarches/\d+/edit\?done=drafted", r.headers["location"])
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    assert "Source cable 07STATE166909" in page.text and "RICE" in page.text
    assert 'value="DEMARCHE INSTRUCTION ON KOSOVO FINAL STATUS"' in page.text
    assert "Drafted from the cable" in page.text


def test_import_refuses_what_is_not_a_cable(client, page_world):
    csrf = login(client, "desk")
    r = client.post("/cables/import/instruction", data={"csrf_token": csrf, "text": "hello"})
    assert r.status_code == 422 and "does not look like a cable" in r.text
    assert ">hello</textarea>" in r.text
