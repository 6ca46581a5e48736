"""sessions login attempts and cable replies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 18:16:31.777536
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_address_at", ["address", "at"], unique=False)
        batch_op.create_index("ix_login_attempts_username_at", ["username", "at"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "cable_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cable_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "unmatched",
                "matched",
                "confirmed",
                "rejected",
                name="reply_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("demarche_id", sa.Integer(), nullable=True),
        sa.Column("tasking_id", sa.Integer(), nullable=True),
        sa.Column("suggestion", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cable_id"],
            ["cables.id"],
            name=op.f("fk_cable_replies_cable_id_cables"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_cable_replies_demarche_id_demarches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_cable_replies_reviewed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tasking_id"],
            ["taskings.id"],
            name=op.f("fk_cable_replies_tasking_id_taskings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cable_replies")),
        sa.UniqueConstraint("cable_id", name=op.f("uq_cable_replies_cable_id")),
    )
    with op.batch_alter_table("cable_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cable_replies_demarche_id"), ["demarche_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cable_replies_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cable_replies_tasking_id"), ["tasking_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cable_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cable_replies_tasking_id"))
        batch_op.drop_index(batch_op.f("ix_cable_replies_status"))
        batch_op.drop_index(batch_op.f("ix_cable_replies_demarche_id"))

    op.drop_table("cable_replies")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))

    op.drop_table("web_sessions")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_username_at")
        batch_op.drop_index("ix_login_attempts_address_at")

    op.drop_table("login_attempts")
