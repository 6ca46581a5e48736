"""Editing a draft from its page: every part of it, over the API's own update command."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.factories import login, make_demarche

TODAY = date.today()
VERSION = re.compile(r'name="version" value="(\d+)"')


def _form(page: str) -> dict:
    """The edit form as the browser would send it back unchanged."""
    fields: dict = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        if 'type="checkbox"' in name:
            continue
        fields.setdefault(name, []).append(value)
    return fields


def _edit_form_of(client, demarche_id: int, csrf: str) -> dict:
    page = client.get(f"/demarches/{demarche_id}/edit")
    assert page.status_code == 200, page.text[:1000]
    return page.text


def test_the_draft_page_links_to_edit_and_says_what_blocks_issuing(client, db, page_world):
    d = make_demarche(
        db,
        page_world["desk"],
        page_world["posts"],
        issue=False,
        deadline=TODAY - timedelta(days=3),
        secret_point=False,
    )
    login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    assert f'href="/demarches/{d.id}/edit"' in page and "Edit draft" in page
    assert "Before this draft can be issued" in page and "is in the past" in page
