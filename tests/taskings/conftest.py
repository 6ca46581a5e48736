"""The world of the tasking API tests: Hanoi's and Suva's officers, a desk officer, a viewer."""

from __future__ import annotations

from typing import Any

import pytest

from app.auth.models import Role
from app.classification import Classification
from tests.factories import make_post, make_user


@pytest.fixture
def world(db) -> dict[str, Any]:
    home = make_post(db, "HANOI", country="Vietnam")
    other = make_post(db, "SUVA", country="Fiji")
    desk_user, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    _, officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=home)
    _, outsider = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=other)
    _, viewer = make_user(db, Role.VIEWER, Classification.SECRET)
    return {
        "home": home,
        "other": other,
        "desk": desk,
        "desk_id": desk_user.id,
        "officer": officer,
        "outsider": outsider,
        "viewer": viewer,
    }
