"""workflow revisions and idempotency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:10:25.223218
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request", sa.String(length=200), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_table(
        "demarche_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demarche_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_demarche_revisions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_demarche_revisions_demarche_id_demarches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demarche_revisions")),
        sa.UniqueConstraint(
            "demarche_id", "number", name=op.f("uq_demarche_revisions_demarche_id_number")
        ),
    )
    op.create_table(
        "response_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("revised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revised_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_response_revisions_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revised_by_id"], ["users.id"], name=op.f("fk_response_revisions_revised_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_revisions")),
        sa.UniqueConstraint(
            "response_id", "version", name=op.f("uq_response_revisions_response_id_version")
        ),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_events_post_id_posts"), "posts", ["post_id"], ["id"]
        )
    _restore_sqlite_audit_triggers()

    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )

    with op.batch_alter_table("demarches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "precedence",
                sa.Enum(
                    "FLASH",
                    "NIACT IMMEDIATE",
                    "IMMEDIATE",
                    "PRIORITY",
                    "ROUTINE",
                    name="precedence",
                    native_enum=False,
                    create_constraint=False,
                ),
                server_default="ROUTINE",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("revision", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    # The CHECK goes on once the column exists (SQLite's batch copy needs that order).
    with op.batch_alter_table("demarches", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "precedence",
            "precedence IN ('FLASH', 'NIACT IMMEDIATE', 'IMMEDIATE', 'PRIORITY', 'ROUTINE')",
        )

    with op.batch_alter_table("taskings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("planned_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("officer", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("seen_revision", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("taskings", schema=None) as batch_op:
        batch_op.drop_column("seen_revision")
        batch_op.drop_column("reason")
        batch_op.drop_column("officer")
        batch_op.drop_column("planned_date")
        batch_op.drop_column("acknowledged_at")

    with op.batch_alter_table("demarches", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_demarches_precedence"), type_="check")
    with op.batch_alter_table("demarches", schema=None) as batch_op:
        batch_op.drop_column("revision")
        batch_op.drop_column("precedence")

    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_column("version")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_audit_events_post_id_posts"), type_="foreignkey")
        batch_op.drop_column("post_id")
    _restore_sqlite_audit_triggers()

    op.drop_table("response_revisions")
    op.drop_table("demarche_revisions")
    op.drop_table("idempotency_keys")


def _restore_sqlite_audit_triggers() -> None:
    # SQLite's batch mode rebuilds the table by copy, which drops its triggers:
    # put back the append-only guard of the initial migration.
    if op.get_bind().dialect.name != "sqlite":
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{verb.lower()}")
        op.execute(
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
        )
