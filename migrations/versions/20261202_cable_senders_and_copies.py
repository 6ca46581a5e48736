"""cable senders and copies

Who sent a cable is recorded (post_id), never read from its FM line at query time;
a desk's filing for a post is marked transcribed, and a post's upload whose FM line
names another post is flagged. Reference numbers stop being unique: an upload that
repeats one the uploader may not see becomes its own copy (copy_key is unique).

Existing cables get their sender from who uploaded them (a post officer's upload is
their post's), else from the tasking their reply was matched to, else from the FM
line read against the post names, as the visibility filter did. Going down, copies
after the first of a reference number keep their rows under a suffixed ref id.

Revision ID: 0005b
Revises: 0005c
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op


revision: str = "0005b"
down_revision: str | None = "0005c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_cables = sa.table(
    "cables",
    sa.column("id", sa.Integer),
    sa.column("ref_id", sa.String),
    sa.column("originator", sa.String),
    sa.column("classification", sa.String),
    sa.column("post_id", sa.Integer),
    sa.column("transcribed", sa.Boolean),
    sa.column("sender_mismatch", sa.Boolean),
    sa.column("copy_key", sa.String),
)


@contextmanager
def _rows_pointing_at_cables_kept() -> Iterator[None]:
    """SQLite rebuilds the table to change its constraints, and dropping the old copy fires
    the foreign keys that point at it: every reply would be deleted (ON DELETE CASCADE)
    and every demarche's source cable cleared (SET NULL). They are copied aside and put
    back, inside the migration's one transaction (turning foreign keys off would need
    that transaction committed halfway)."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("CREATE TEMP TABLE keep_replies AS SELECT * FROM cable_replies")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE keep_sources AS SELECT id, source_cable_id FROM demarches "
        "WHERE source_cable_id IS NOT NULL"
    )
    yield
    conn.exec_driver_sql(
        "INSERT INTO cable_replies SELECT * FROM keep_replies "
        "WHERE id NOT IN (SELECT id FROM cable_replies)"
    )
    conn.exec_driver_sql(
        "UPDATE demarches SET source_cable_id = "
        "(SELECT k.source_cable_id FROM keep_sources k WHERE k.id = demarches.id) "
        "WHERE id IN (SELECT id FROM keep_sources)"
    )
    conn.exec_driver_sql("DROP TABLE keep_replies")
    conn.exec_driver_sql("DROP TABLE keep_sources")


def upgrade() -> None:
    with _rows_pointing_at_cables_kept():
        _upgrade()


def _upgrade() -> None:
    # Plain ADD COLUMNs (SQLite does them in place), so the replies are still there to
    # read senders from; the constraints below need the table rebuilt.
    op.add_column("cables", sa.Column("copy_key", sa.String(length=160), nullable=True))
    op.add_column("cables", sa.Column("post_id", sa.Integer(), nullable=True))
    op.add_column(
        "cables",
        sa.Column("transcribed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "cables",
        sa.Column("sender_mismatch", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    _fill_senders(op.get_bind())
    with op.batch_alter_table("cables", schema=None) as batch_op:
        batch_op.alter_column("copy_key", existing_type=sa.String(length=160), nullable=False)
        batch_op.drop_constraint("uq_cables_ref_id", type_="unique")
        batch_op.create_index(batch_op.f("ix_cables_ref_id"), ["ref_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_cables_copy_key"), ["copy_key"])
        batch_op.create_index(batch_op.f("ix_cables_post_id"), ["post_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_cables_post_id_posts"), "posts", ["post_id"], ["id"]
        )


def _fill_senders(conn: sa.Connection) -> None:
    uploaded_by_post = dict(
        conn.execute(
            sa.text(
                "SELECT a.entity_id, u.post_id FROM audit_events a JOIN users u ON u.id = a.actor_id "
                "WHERE a.entity = 'cable' AND a.action = 'ingest' "
                "AND u.role = 'post_officer' AND u.post_id IS NOT NULL ORDER BY a.id DESC"
            )
        ).all()
    )
    answered_for = dict(
        conn.execute(
            sa.text(
                "SELECT r.cable_id, t.post_id FROM cable_replies r "
                "JOIN taskings t ON t.id = r.tasking_id"
            )
        ).all()
    )
    post_by_name: dict[str, int] = {}
    for post_id, name in conn.execute(sa.text("SELECT id, name FROM posts ORDER BY id")):
        post_by_name.setdefault(name.upper(), post_id)
    rows = []
    for cable_id, ref_id, originator, classification in conn.execute(
        sa.text("SELECT id, ref_id, originator, classification FROM cables")
    ):
        named = post_by_name.get((originator or "").upper())
        if cable_id in uploaded_by_post:
            post_id = uploaded_by_post[cable_id]
            transcribed, mismatch = False, named != post_id
        else:
            post_id = answered_for.get(cable_id) or named
            transcribed, mismatch = post_id is not None, False
        rows.append(
            {
                "b_id": cable_id,
                "b_post_id": post_id,
                "b_transcribed": transcribed,
                "b_mismatch": mismatch,
                "b_key": f"{ref_id}|{post_id or 0}|{classification or ''}",
            }
        )
    if rows:
        conn.execute(
            _cables.update()
            .where(_cables.c.id == sa.bindparam("b_id"))
            .values(
                post_id=sa.bindparam("b_post_id"),
                transcribed=sa.bindparam("b_transcribed"),
                sender_mismatch=sa.bindparam("b_mismatch"),
                copy_key=sa.bindparam("b_key"),
            ),
            rows,
        )


def downgrade() -> None:
    conn = op.get_bind()
    # Reference numbers become unique again: later copies keep their rows, renamed.
    seen: set[str] = set()
    renames = []
    for cable_id, ref_id in conn.execute(sa.text("SELECT id, ref_id FROM cables ORDER BY id")):
        if ref_id in seen:
            suffix = f"#{cable_id}"
            renames.append({"b_id": cable_id, "b_ref": ref_id[: 40 - len(suffix)] + suffix})
        seen.add(ref_id)
    if renames:
        conn.execute(
            _cables.update()
            .where(_cables.c.id == sa.bindparam("b_id"))
            .values(ref_id=sa.bindparam("b_ref")),
            renames,
        )
    with _rows_pointing_at_cables_kept(), op.batch_alter_table("cables", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cables_post_id_posts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cables_post_id"))
        batch_op.drop_constraint(batch_op.f("uq_cables_copy_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_cables_ref_id"))
        batch_op.create_unique_constraint("uq_cables_ref_id", ["ref_id"])
        batch_op.drop_column("sender_mismatch")
        batch_op.drop_column("transcribed")
        batch_op.drop_column("post_id")
        batch_op.drop_column("copy_key")
