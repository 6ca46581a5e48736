"""The cables tests' shared world: an instruction drafted, issued to Hanoi, and the
users who report and review the replies to it."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.classification import Classification
from tests.cables.samples import COMPLETING, instruction
from tests.factories import future, make_post, make_user, write

API = "/api/v1/cables"


@pytest.fixture
def world(client, db):
    hanoi = make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
    oslo = make_post(db, "OSLO", name="AMEMBASSY OSLO", routing_indicator="RUEHNY")
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    _, officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
    _, oslo_officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=oslo)
    source = client.post(API, json={"text": instruction()}, headers=desk).json()
    draft = client.post(f"{API}/{source['id']}/draft-demarche", headers=desk).json()
    path = f"/api/v1/demarches/{draft['id']}"
    assert write(
        client, "PATCH", path, desk, json={"deadline": future().isoformat(), **COMPLETING}
    ).is_success
    issued = write(client, "POST", f"{path}/issue", desk).json()
    (tasking,) = issued["taskings"]
    return {
        "desk": desk,
        "officer": officer,
        "oslo": oslo_officer,
        "demarche": issued["id"],
        "tasking": tasking["id"],
    }
