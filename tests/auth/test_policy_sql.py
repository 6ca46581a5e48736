"""The visibility filter's SQL: no test where none is needed, every test where one is."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from app.auth.models import Role
from app.auth.policy import Reader, sees_every_demarche, visible_demarches, visible_taskings
from app.classification import Classification
from app.taskings.models import Tasking


def _sql(clause) -> str:
    return str(select(Tasking.id).where(clause).compile(dialect=sqlite.dialect())).upper()


@pytest.mark.parametrize("role", [Role.DESK_OFFICER, Role.VIEWER, Role.ADMINISTRATOR])
def test_cleared_for_every_level_outside_a_post_filters_nothing(role):
    top = Reader(role, Classification.SECRET, None)
    assert sees_every_demarche(top)
    assert "EXISTS" not in _sql(visible_taskings(top))
    assert "CLASSIFICATION" not in _sql(visible_demarches(top))


@pytest.mark.parametrize(
    "reader",
    [
        Reader(Role.DESK_OFFICER, Classification.CONFIDENTIAL, None),
        Reader(Role.VIEWER, Classification.UNCLASSIFIED, None),
        Reader(Role.POST_OFFICER, Classification.SECRET, 7),  # top clearance, one post
    ],
    ids=["desk-confidential", "viewer-unclassified", "post-secret"],
)
def test_anyone_else_is_filtered(reader):
    assert not sees_every_demarche(reader)
    assert "EXISTS" in _sql(visible_taskings(reader))
    if reader.role == Role.POST_OFFICER:
        assert "POST_ID" in _sql(visible_taskings(reader))
    else:
        assert "CLASSIFICATION IN" in _sql(visible_demarches(reader))
