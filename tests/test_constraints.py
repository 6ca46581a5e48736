"""Rules the database itself enforces, whatever code writes to it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.audit import record
from app.auth.models import Role
from app.demarches.models import Demarche
from app.taskings.models import Tasking
from app.vocabulary import TaskingRole
from tests.factories import make_post, make_user


def _demarche(db, author) -> Demarche:
    d = Demarche(subject="Test", classification="UNCLASSIFIED", author_id=author.id)
    db.add(d)
    db.flush()
    return d


def test_one_tasking_per_demarche_post_and_country(db):
    desk, _ = make_user(db)
    post = make_post(db)
    d = _demarche(db, desk)
    db.add(Tasking(demarche_id=d.id, post_id=post.id, country="Fiji", role=TaskingRole.ACTION))
    db.flush()
    # The same post for another country is fine (one post can cover several).
    db.add(Tasking(demarche_id=d.id, post_id=post.id, country="Tonga", role=TaskingRole.ACTION))
    db.flush()
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(Tasking(demarche_id=d.id, post_id=post.id, country="Fiji", role=TaskingRole.INFO))
        db.flush()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE demarches SET status = 'sent' WHERE id = :id",
        "UPDATE demarches SET classification = 'TOP SECRET' WHERE id = :id",
        "UPDATE demarches SET subject = NULL WHERE id = :id",
        "UPDATE demarches SET author_id = 999999 WHERE id = :id",
    ],
    ids=["status-enum", "classification-enum", "subject-not-null", "author-fk"],
)
def test_database_refuses_bad_values(db, sql):
    desk, _ = make_user(db)
    d = _demarche(db, desk)
    with pytest.raises((IntegrityError, DBAPIError)), db.begin_nested():
        db.execute(text(sql), {"id": d.id})


def test_post_officer_must_have_a_post(db):
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            text(
                "INSERT INTO users (username, full_name, role, clearance, active, created_at) "
                "VALUES ('x', 'X', 'post_officer', 'SECRET', true, :now)"
            ),
            {"now": date(2026, 1, 1)},
        )


def test_audit_events_cannot_be_edited_or_deleted(db):
    desk, _ = make_user(db, Role.DESK_OFFICER)
    ev = record(db, actor_id=desk.id, entity="demarche", entity_id=1, action="create", after={})
    db.flush()
    for sql in (
        "UPDATE audit_events SET action = 'x' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(sql), {"id": ev.id})
    # and the ORM refuses before the database is even asked
    ev.action = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        db.flush()
    db.rollback()
